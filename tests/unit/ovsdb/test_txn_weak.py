"""Commit checks: weak references to deleted or missing rows disappear, then sizes are checked."""

from __future__ import annotations

import pytest

from pyovn.ovsdb.server.db import Database

from .conftest import MISSING, UA, UB, UC, fail, insert, ok, rows_of, uuid_of


def delete(table: str, where=None) -> dict:
    return {"op": "delete", "table": table, "where": where or []}


@pytest.fixture
def targets(engine_db: Database) -> Database:
    ok(
        engine_db,
        [
            insert("Target", {"name": "t1", "k": 1}, uuid=UA),
            insert("Target", {"name": "t2", "k": 2}, uuid=UB),
        ],
    )
    return engine_db


def parent(db: Database) -> dict:
    (row,) = db.rows("Parent")
    return row.data


def test_deleting_a_target_removes_weak_references_in_sets_and_maps(targets: Database) -> None:
    ok(
        targets,
        [
            insert(
                "Parent",
                {
                    "name": "p",
                    "targets": ["set", [["uuid", UA], ["uuid", UB]]],
                    "wmap": [
                        "map",
                        [["x", ["uuid", UA]], ["y", ["uuid", UB]], ["z", ["uuid", UA]]],
                    ],
                },
                uuid=UC,
            )
        ],
    )
    version = targets.row("Parent", UC).version
    assert targets.row("Target", UA).weak_in == {("Parent", UC): 3}
    ok(targets, [delete("Target", [["name", "==", "t1"]])])
    assert parent(targets)["targets"] == frozenset({UB})
    assert parent(targets)["wmap"] == {"y": UB}
    # the referring row changed, so it has a new version
    assert targets.row("Parent", UC).version != version


def test_weak_references_to_missing_rows_are_dropped_on_insert(engine_db: Database) -> None:
    ok(engine_db, [insert("Parent", {"name": "p", "targets": ["uuid", MISSING]})])
    assert parent(engine_db)["targets"] == frozenset()


def test_weak_reference_to_a_row_inserted_in_the_same_transaction(engine_db: Database) -> None:
    results = ok(
        engine_db,
        [
            insert("Parent", {"name": "p", "targets": ["named-uuid", "t"]}),
            insert("Target", {"name": "t"}, "t"),
        ],
    )
    t = uuid_of(results[1])
    assert parent(engine_db)["targets"] == frozenset({t})
    assert engine_db.row("Target", t).weak_in == {("Parent", parent_uuid(engine_db)): 1}


def parent_uuid(db: Database) -> str:
    (row,) = db.rows("Parent")
    return row.uuid


def test_target_deleted_in_the_same_transaction_as_the_reference(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Target", {"name": "t"}, "t"),
            insert("Parent", {"name": "p", "targets": ["named-uuid", "t"]}),
            delete("Target"),
        ],
    )
    assert parent(engine_db)["targets"] == frozenset()


def test_a_referrer_changed_in_the_same_transaction_loses_the_reference(targets: Database) -> None:
    ok(targets, [insert("Parent", {"name": "p", "targets": ["uuid", UA]})])
    ok(
        targets,
        [
            {"op": "update", "table": "Parent", "where": [], "row": {"name": "q"}},
            delete("Target", [["name", "==", "t1"]]),
        ],
    )
    assert parent(targets)["name"] == "q" and parent(targets)["targets"] == frozenset()


def test_weak_references_do_not_keep_rows_alive(targets: Database) -> None:
    ok(targets, [insert("Parent", {"name": "p", "targets": ["uuid", UA]})])
    # unlike a strong reference, a weak one does not stop the delete
    ok(targets, [delete("Target", [["name", "==", "t1"]])])
    assert targets.row("Target", UA) is None


def test_weak_references_do_not_count_for_garbage_collection(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Child", {"name": "a"}, "a"),
            insert("Child", {"name": "b", "wpeer": ["named-uuid", "a"]}, "b"),
            insert("Parent", {"name": "p", "children": ["named-uuid", "b"]}),
        ],
    )
    # "a" was only weakly referenced: collected, and b's weak reference went with it
    assert rows_of(engine_db, "Child", "name", "wpeer") == [("b", frozenset())]


def test_weak_reference_to_a_garbage_collected_row_is_removed(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Child", {"name": "a"}, "a"),
            insert("Child", {"name": "b", "wpeer": ["named-uuid", "a"]}, "b"),
            insert(
                "Parent",
                {"name": "p", "children": ["set", [["named-uuid", "a"], ["named-uuid", "b"]]]},
            ),
        ],
    )
    assert sorted(len(r.data["wpeer"]) for r in engine_db.rows("Child")) == [0, 1]
    (a,) = [r for r in engine_db.rows("Child") if r.data["name"] == "a"]
    ok(
        engine_db,
        [
            {
                "op": "mutate",
                "table": "Parent",
                "where": [],
                "mutations": [["children", "delete", ["uuid", a.uuid]]],
            }
        ],
    )
    assert rows_of(engine_db, "Child", "name", "wpeer") == [("b", frozenset())]


def test_removal_that_empties_a_required_column_fails(targets: Database) -> None:
    ok(targets, [insert("Needy", {"must": ["uuid", UA]}, uuid=UC)])
    error = fail(targets, [delete("Target", [["name", "==", "t1"]])])
    assert error == {
        "error": "constraint violation",
        "details": f"Deletion of 1 weak reference(s) to deleted (or never-existing) rows from "
        f'column "must" in "Needy" row {UC} caused this column to become empty, but '
        "constraints on this column disallow an empty column.",
    }
    assert targets.row("Target", UA) is not None
    # deleting the referrer as well is fine
    ok(targets, [delete("Target", [["name", "==", "t1"]]), delete("Needy")])


def test_required_weak_column_inserted_with_a_missing_row(engine_db: Database) -> None:
    error = fail(engine_db, [insert("Needy", {"must": ["uuid", MISSING]}, uuid=UC)])
    assert error["error"] == "constraint violation"
    assert error["details"] == (
        f"Deletion of 1 weak reference(s) to deleted (or never-existing) rows from column "
        f'"must" in "Needy" row {UC} (inserted within this transaction) caused this column '
        "to become empty, but constraints on this column disallow an empty column."
    )


def test_required_weak_column_left_at_its_all_zeros_default(engine_db: Database) -> None:
    error = fail(engine_db, [insert("Needy", {}, uuid=UC)])
    assert error == {
        "error": "constraint violation",
        "details": f'Weak reference column "must" in "Needy" row {UC} (inserted within this '
        "transaction) contained all-zeros UUID (probably as the default value for this "
        "column) but deleting this value caused a constraint volation because this column "
        "is not allowed to be empty.",
    }


def test_weak_referrer_bookkeeping(targets: Database) -> None:
    ok(targets, [insert("Parent", {"name": "p", "targets": ["uuid", UA]}, uuid=UC)])
    assert targets.row("Target", UA).weak_in == {("Parent", UC): 1}
    assert not targets.row("Target", UB).weak_in
    ok(
        targets,
        [{"op": "update", "table": "Parent", "where": [], "row": {"targets": ["uuid", UB]}}],
    )
    assert not targets.row("Target", UA).weak_in
    assert targets.row("Target", UB).weak_in == {("Parent", UC): 1}
    ok(targets, [delete("Parent")])
    assert not targets.row("Target", UB).weak_in
