"""The Commit a transaction produces: which rows changed how, versions, reference counts."""

from __future__ import annotations

from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.ops import execute

from .conftest import UA, UB, UC, insert, ok


def changes(db: Database, ops: list) -> dict:
    result = execute(db, ops)
    assert result.commit is not None, result.results
    db.apply(result.commit)
    return {(c.table, c.uuid): c for c in result.commit.changes}


def test_insert_modify_delete_in_the_commit(engine_db: Database) -> None:
    got = changes(
        engine_db, [insert("Atoms", {"i": 1}, uuid=UA), insert("Atoms", {"i": 2}, uuid=UB)]
    )
    assert set(got) == {("Atoms", UA), ("Atoms", UB)}
    assert got[("Atoms", UA)].old is None and got[("Atoms", UA)].new["i"] == 1
    assert got[("Atoms", UA)].version == engine_db.row("Atoms", UA).version
    got = changes(
        engine_db,
        [
            {"op": "update", "table": "Atoms", "where": [["i", "==", 1]], "row": {"i": 5, "s": ""}},
            {"op": "delete", "table": "Atoms", "where": [["i", "==", 2]]},
        ],
    )
    modify, delete = got[("Atoms", UA)], got[("Atoms", UB)]
    assert modify.changed == frozenset({"i"})  # "s" was given but did not change
    assert modify.old.data["i"] == 1 and modify.new["i"] == 5
    assert delete.new is None and delete.old.data["i"] == 2


def test_a_row_inserted_and_deleted_in_one_transaction_is_not_in_the_commit(
    engine_db: Database,
) -> None:
    got = changes(
        engine_db, [insert("Atoms", {}, uuid=UA), {"op": "delete", "table": "Atoms", "where": []}]
    )
    assert got == {}


def test_garbage_collection_and_weak_references_appear_as_changes(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Target", {"name": "t"}, "t", uuid=UC),
            insert("Child", {"name": "c"}, "c", uuid=UB),
            insert(
                "Parent",
                {"name": "p", "children": ["named-uuid", "c"], "targets": ["named-uuid", "t"]},
                uuid=UA,
            ),
        ],
    )
    got = changes(engine_db, [{"op": "delete", "table": "Target", "where": []}])
    assert got[("Parent", UA)].changed == frozenset({"targets"})  # the weak reference went
    got = changes(
        engine_db,
        [{"op": "update", "table": "Parent", "where": [], "row": {"children": ["set", []]}}],
    )
    assert got[("Child", UB)].new is None  # collected


def test_reference_counts_in_the_commit(engine_db: Database) -> None:
    result = execute(
        engine_db,
        [
            insert("Child", {"name": "c"}, "c", uuid=UB),
            insert("Parent", {"name": "p", "children": ["named-uuid", "c"]}),
        ],
    )
    assert result.commit.ref_counts == {("Child", UB): 1}


def test_unchanged_rows_are_left_out(engine_db: Database) -> None:
    ok(engine_db, [insert("Atoms", {"i": 1}, uuid=UA)])
    version = engine_db.row("Atoms", UA).version
    got = changes(
        engine_db, [{"op": "mutate", "table": "Atoms", "where": [], "mutations": [["i", "+=", 0]]}]
    )
    assert got == {}
    assert engine_db.row("Atoms", UA).version == version
