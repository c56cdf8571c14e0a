"""The "delete" operation: counts, where clauses, rows of this transaction, references."""

from __future__ import annotations

import pytest

from pyovn.ovsdb.server.db import Database

from .conftest import UA, UB, fail, insert, ok, rows_of, select


def delete(where, table: str = "Atoms") -> dict:
    return {"op": "delete", "table": table, "where": where}


@pytest.fixture
def three(engine_db: Database) -> Database:
    ok(
        engine_db,
        [
            insert("Atoms", {"i": 1}, uuid=UA),
            insert("Atoms", {"i": 2}, uuid=UB),
            insert("Atoms", {"i": 2}),
        ],
    )
    return engine_db


def test_delete_counts_matching_rows(three: Database) -> None:
    assert ok(three, [delete([["i", "==", 2]])]) == [{"count": 2}]
    assert rows_of(three, "Atoms", "_uuid") == [(UA,)]
    assert ok(three, [delete([["i", "==", 2]])]) == [{"count": 0}]
    assert ok(three, [delete([])]) == [{"count": 1}]
    assert rows_of(three, "Atoms", "i") == []


def test_delete_by_uuid(three: Database) -> None:
    assert ok(three, [delete([["_uuid", "==", ["uuid", UB]]])]) == [{"count": 1}]
    assert three.row("Atoms", UB) is None


def test_deleting_twice_in_one_transaction_counts_once(three: Database) -> None:
    assert ok(three, [delete([]), delete([])]) == [{"count": 3}, {"count": 0}]


def test_delete_a_row_inserted_in_the_same_transaction(engine_db: Database) -> None:
    results = ok(
        engine_db,
        [insert("Atoms", {"i": 5}), delete([["i", "==", 5]]), select("Atoms", [], ["i"])],
    )
    assert results[1:] == [{"count": 1}, {"rows": []}]
    assert rows_of(engine_db, "Atoms", "i") == []
    assert engine_db.n_commits == 1


def test_a_failed_delete_keeps_the_rows(three: Database) -> None:
    fail(three, [delete([]), {"op": "abort"}])
    assert len(three.tables["Atoms"].rows) == 3


def test_delete_needs_where(three: Database) -> None:
    error = fail(three, [{"op": "delete", "table": "Atoms"}])
    assert error["details"].endswith("Required 'where' member is missing.")


def test_deleting_a_referenced_row_is_refused(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Child", {"name": "c"}, "c"),
            insert("Parent", {"name": "p", "children": ["named-uuid", "c"]}),
        ],
    )
    (child,) = engine_db.rows("Child")
    error = fail(engine_db, [delete([], "Child")])
    assert error == {
        "error": "referential integrity violation",
        "details": f"cannot delete Child row {child.uuid} because of 1 remaining reference(s)",
    }


def test_delete_referenced_row_together_with_its_referrer(engine_db: Database) -> None:
    ok(
        engine_db,
        [
            insert("Child", {"name": "c"}, "c"),
            insert("Parent", {"name": "p", "children": ["named-uuid", "c"]}),
        ],
    )
    ok(engine_db, [delete([], "Child"), delete([], "Parent")])
    assert rows_of(engine_db, "Child", "name") == [] and rows_of(engine_db, "Parent", "name") == []
