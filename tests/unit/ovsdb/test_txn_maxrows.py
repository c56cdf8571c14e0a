"""Commit checks: "maxRows" counts the rows the table holds once the transaction is done."""

from __future__ import annotations

from pyovn.ovsdb.server.db import Database

from .conftest import fail, insert, ok, rows_of

LIMIT = {
    "error": "constraint violation",
    "details": 'transaction causes "Limited" table to contain 3 rows, greater than the '
    "schema-defined limit of 2 row(s)",
}


def test_up_to_the_limit(engine_db: Database) -> None:
    ok(engine_db, [insert("Limited", {"x": 1}), insert("Limited", {"x": 2})])
    assert len(engine_db.tables["Limited"].rows) == 2


def test_over_the_limit_in_one_transaction(engine_db: Database) -> None:
    assert fail(engine_db, [insert("Limited", {"x": n}) for n in range(3)]) == LIMIT


def test_over_the_limit_with_existing_rows(engine_db: Database) -> None:
    ok(engine_db, [insert("Limited", {"x": 1}), insert("Limited", {"x": 2})])
    assert fail(engine_db, [insert("Limited", {"x": 3})]) == LIMIT


def test_delete_and_insert_in_one_transaction_stays_within(engine_db: Database) -> None:
    ok(engine_db, [insert("Limited", {"x": 1}), insert("Limited", {"x": 2})])
    ok(
        engine_db,
        [
            {"op": "delete", "table": "Limited", "where": [["x", "==", 1]]},
            insert("Limited", {"x": 3}),
        ],
    )
    assert rows_of(engine_db, "Limited", "x") == [(2,), (3,)]


def test_a_temporary_excess_inside_the_transaction_is_fine(engine_db: Database) -> None:
    ok(engine_db, [insert("Limited", {"x": 1}), insert("Limited", {"x": 2})])
    ok(
        engine_db,
        [
            insert("Limited", {"x": 3}),
            {"op": "delete", "table": "Limited", "where": [["x", "<", 3]]},
        ],
    )
    assert rows_of(engine_db, "Limited", "x") == [(3,)]


def test_updates_do_not_count(engine_db: Database) -> None:
    ok(engine_db, [insert("Limited", {"x": 1}), insert("Limited", {"x": 2})])
    ok(engine_db, [{"op": "update", "table": "Limited", "where": [], "row": {"x": 9}}])
    assert rows_of(engine_db, "Limited", "x") == [(9,), (9,)]


def test_tables_without_max_rows_are_unlimited(engine_db: Database) -> None:
    ok(engine_db, [insert("Atoms", {"i": n}) for n in range(50)])
    assert len(engine_db.tables["Atoms"].rows) == 50


def test_max_rows_is_checked_before_weak_references(engine_db: Database) -> None:
    # ovsdb-server's order: the Needy row's empty weak column would fail too, later
    ops = [insert("Limited", {"x": n}) for n in range(3)] + [insert("Needy", {})]
    assert fail(engine_db, ops) == LIMIT


def test_a_row_inserted_and_deleted_in_the_transaction_does_not_count(engine_db: Database) -> None:
    ok(engine_db, [insert("Limited", {"x": 1}), insert("Limited", {"x": 2})])
    ok(
        engine_db,
        [
            insert("Limited", {"x": 3}),
            {"op": "delete", "table": "Limited", "where": [["x", "==", 3]]},
        ],
    )
    assert rows_of(engine_db, "Limited", "x") == [(1,), (2,)]
