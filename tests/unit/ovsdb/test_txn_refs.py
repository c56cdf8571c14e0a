"""Commit checks: referential integrity of strong references, and garbage collection.

Behaviour follows Debian's ovsdb-server 3.1, including that a row's references to itself
do not count (a self-referencing non-root row is still garbage) while longer cycles do.
"""

from __future__ import annotations

import pytest

from pyovn.ovsdb.server.db import Database

from .conftest import MISSING, UA, UB, UC, fail, insert, ok, rows_of, uuid_of


def delete(table: str, where=None) -> dict:
    return {"op": "delete", "table": table, "where": where or []}


def update(table: str, row: dict, where=None) -> dict:
    return {"op": "update", "table": table, "where": where or [], "row": row}


def n_refs(db: Database, table: str, uuid: str) -> int:
    row = db.row(table, uuid)
    assert row is not None
    return row.n_refs


# ---------------------------------------------------------------------------- integrity


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("children", ["uuid", MISSING]),
        ("child", ["uuid", MISSING]),
        ("cmap", ["map", [["a", ["uuid", MISSING]]]]),
    ],
)
def test_reference_to_a_missing_row(engine_db: Database, column: str, value) -> None:
    error = fail(engine_db, [insert("Parent", {"name": "p", column: value}, uuid=UA)])
    assert error == {
        "error": "referential integrity violation",
        "details": f"Table Parent column {column} row {UA} references nonexistent row "
        f"{MISSING} in table Child.",
    }


def test_reference_to_a_row_of_the_wrong_table(engine_db: Database) -> None:
    ok(engine_db, [insert("Target", {"name": "t"}, uuid=UB)])
    error = fail(engine_db, [insert("Parent", {"name": "p", "child": ["uuid", UB]})])
    assert error["error"] == "referential integrity violation"


def test_reference_to_a_row_inserted_then_deleted(engine_db: Database) -> None:
    error = fail(
        engine_db,
        [
            insert("Child", {"name": "c"}, "c"),
            delete("Child"),
            insert("Parent", {"name": "p", "children": ["named-uuid", "c"]}),
        ],
    )
    assert error["error"] == "referential integrity violation"
    assert "references nonexistent row" in error["details"]


def test_cannot_delete_a_referenced_row(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Child", {"name": "c"}, "c", uuid=UC),
            insert(
                "Parent",
                {
                    "name": "p",
                    "children": ["named-uuid", "c"],
                    "child": ["named-uuid", "c"],
                    "cmap": ["map", [["a", ["named-uuid", "c"]], ["b", ["named-uuid", "c"]]]],
                },
            ),
        ],
    )
    assert n_refs(engine_db, "Child", UC) == 4
    # dropping one of the four references is not enough
    error = fail(engine_db, [delete("Child"), update("Parent", {"children": ["set", []]})])
    assert error == {
        "error": "referential integrity violation",
        "details": f"cannot delete Child row {UC} because of 3 remaining reference(s)",
    }


def test_deleting_the_referrer_too_is_fine(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Child", {"name": "c"}, "c"),
            insert("Parent", {"name": "p", "children": ["named-uuid", "c"]}),
        ],
    )
    ok(engine_db, [delete("Child"), update("Parent", {"children": ["set", []]})])
    assert rows_of(engine_db, "Child", "name") == []


def test_reference_counts_follow_every_change(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Child", {"name": "c"}, "c", uuid=UC),
            insert("Parent", {"name": "p", "child": ["named-uuid", "c"]}, uuid=UA),
        ],
    )
    assert n_refs(engine_db, "Child", UC) == 1
    ok(engine_db, [update("Parent", {"children": ["uuid", UC]})])
    assert n_refs(engine_db, "Child", UC) == 2
    ok(engine_db, [insert("Parent", {"name": "q", "cmap": ["map", [["x", ["uuid", UC]]]]})])
    assert n_refs(engine_db, "Child", UC) == 3
    ok(engine_db, [delete("Parent", [["name", "==", "q"]])])
    assert n_refs(engine_db, "Child", UC) == 2
    ok(engine_db, [update("Parent", {"child": ["set", []]})])
    assert n_refs(engine_db, "Child", UC) == 1


# ---------------------------------------------------------------------------- garbage


def test_an_unreferenced_non_root_row_is_never_committed(engine_db: Database) -> None:
    (result,) = ok(engine_db, [insert("Child", {"name": "orphan"})])
    assert "uuid" in result
    assert rows_of(engine_db, "Child", "name") == []


def test_dropping_the_last_reference_collects_the_row(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Child", {"name": "c"}, "c"),
            insert("Parent", {"name": "p", "children": ["named-uuid", "c"]}),
        ],
    )
    ok(engine_db, [update("Parent", {"children": ["set", []]})])
    assert rows_of(engine_db, "Child", "name") == []


def test_collection_cascades(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Grand", {"n": 1}, "g"),
            insert("Child", {"name": "c", "grand": ["named-uuid", "g"]}, "c"),
            insert("Parent", {"name": "p", "children": ["named-uuid", "c"]}),
        ],
    )
    assert rows_of(engine_db, "Grand", "n") == [(1,)]
    ok(engine_db, [delete("Parent")])
    assert rows_of(engine_db, "Child", "name") == [] and rows_of(engine_db, "Grand", "n") == []


def test_a_row_referenced_elsewhere_survives(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Child", {"name": "c"}, "c"),
            insert("Parent", {"name": "p", "children": ["named-uuid", "c"]}),
            insert("Parent", {"name": "q", "child": ["named-uuid", "c"]}),
        ],
    )
    ok(engine_db, [delete("Parent", [["name", "==", "p"]])])
    assert rows_of(engine_db, "Child", "name") == [("c",)]
    (child,) = engine_db.rows("Child")
    assert child.n_refs == 1


def test_integrity_is_checked_before_garbage_collection(engine_db: Database) -> None:
    # as in ovsdb-server: the Child that refers to the Grand only becomes garbage after the
    # check, so deleting the Grand explicitly is refused
    ok(
        engine_db,
        [
            insert("Grand", {"n": 1}, "g", uuid=UB),
            insert("Child", {"name": "c", "grand": ["named-uuid", "g"]}, "c"),
            insert("Parent", {"name": "p", "children": ["named-uuid", "c"]}),
        ],
    )
    error = fail(engine_db, [delete("Parent"), delete("Grand")])
    assert error == {
        "error": "referential integrity violation",
        "details": f"cannot delete Grand row {UB} because of 1 remaining reference(s)",
    }
    ok(engine_db, [delete("Parent")])  # letting the collector do it works
    assert rows_of(engine_db, "Grand", "n") == []


def test_a_dangling_reference_is_reported_before_a_referenced_delete(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Child", {"name": "c"}, "c", uuid=UB),
            insert("Parent", {"name": "p", "children": ["named-uuid", "c"]}),
        ],
    )
    error = fail(
        engine_db, [delete("Child"), insert("Parent", {"name": "q", "child": ["uuid", MISSING]})]
    )
    assert "references nonexistent row" in error["details"]


def test_cascade_stops_at_shared_rows(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Grand", {"n": 1}, "g"),
            insert("Child", {"name": "c1", "grand": ["named-uuid", "g"]}, "c1"),
            insert("Child", {"name": "c2", "grand": ["named-uuid", "g"]}, "c2"),
            insert("Parent", {"name": "p", "children": ["named-uuid", "c1"]}),
            insert("Parent", {"name": "q", "children": ["named-uuid", "c2"]}),
        ],
    )
    ok(engine_db, [delete("Parent", [["name", "==", "p"]])])
    assert rows_of(engine_db, "Child", "name") == [("c2",)]
    assert rows_of(engine_db, "Grand", "n") == [(1,)]


def test_rows_in_a_root_table_are_never_collected(engine_db: Database) -> None:
    ok(engine_db, [insert("Target", {"name": "t"})])
    assert rows_of(engine_db, "Target", "name") == [("t",)]


def test_a_child_moved_between_parents_in_one_transaction_survives(engine_db: Database) -> None:
    results = ok(
        engine_db,
        [
            insert("Child", {"name": "c"}, "c"),
            insert("Parent", {"name": "p", "children": ["named-uuid", "c"]}),
            insert("Parent", {"name": "q"}),
        ],
    )
    c = uuid_of(results[0])
    ok(
        engine_db,
        [
            update("Parent", {"children": ["set", []]}, [["name", "==", "p"]]),
            update("Parent", {"child": ["uuid", c]}, [["name", "==", "q"]]),
        ],
    )
    assert rows_of(engine_db, "Child", "_uuid") == [(c,)]


def test_self_references_do_not_count(engine_db: Database) -> None:
    # like ovsdb-server: a row that only refers to itself is garbage
    ok(engine_db, [insert("Child", {"name": "a", "peers": ["named-uuid", "a"]}, "a")])
    assert rows_of(engine_db, "Child", "name") == []
    ok(
        engine_db,
        [
            insert("Child", {"name": "a", "peers": ["named-uuid", "a"]}, "a", uuid=UA),
            insert("Parent", {"name": "p", "children": ["named-uuid", "a"]}),
        ],
    )
    assert n_refs(engine_db, "Child", UA) == 1
    ok(engine_db, [delete("Parent")])
    assert rows_of(engine_db, "Child", "name") == []


def test_a_self_reference_added_later_does_not_count(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Child", {"name": "a"}, "a", uuid=UA),
            insert("Parent", {"name": "p", "children": ["named-uuid", "a"]}),
        ],
    )
    ok(
        engine_db,
        [
            {
                "op": "mutate",
                "table": "Child",
                "where": [],
                "mutations": [["peers", "insert", ["uuid", UA]]],
            }
        ],
    )
    assert n_refs(engine_db, "Child", UA) == 1
    ok(engine_db, [delete("Parent")])
    assert rows_of(engine_db, "Child", "name") == []


def test_longer_cycles_keep_each_other_alive(engine_db: Database) -> None:
    # ovsdb-server collects only rows whose count reaches zero, so a cycle stays
    ok(
        engine_db,
        [
            insert("Child", {"name": "a", "peers": ["named-uuid", "b"]}, "a"),
            insert("Child", {"name": "b", "peers": ["named-uuid", "a"]}, "b"),
        ],
    )
    assert rows_of(engine_db, "Child", "name") == [("a",), ("b",)]


def test_deleting_a_row_that_holds_a_self_reference(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Child", {"name": "a", "peers": ["named-uuid", "a"]}, "a"),
            insert("Parent", {"name": "p", "children": ["named-uuid", "a"]}),
        ],
    )
    ok(engine_db, [delete("Child"), update("Parent", {"children": ["set", []]})])
    assert rows_of(engine_db, "Child", "name") == []
