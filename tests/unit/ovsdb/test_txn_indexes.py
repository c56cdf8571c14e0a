"""Commit checks: "indexes" uniqueness within a transaction and against existing rows."""

from __future__ import annotations

import pytest

from pyovn.ovsdb.server.db import Database

from .conftest import UA, UB, UC, fail, insert, ok, rows_of


def update(row: dict, where: list, table: str = "Target") -> dict:
    return {"op": "update", "table": table, "where": where, "row": row}


def by_name(name: str) -> list:
    return [["name", "==", name]]


@pytest.fixture
def ab(engine_db: Database) -> Database:
    ok(
        engine_db,
        [
            insert("Target", {"name": "a", "k": 1}, uuid=UA),
            insert("Target", {"name": "b", "k": 2}, uuid=UB),
        ],
    )
    return engine_db


def head(name: str = "a") -> str:
    return (
        'Transaction causes multiple rows in "Target" table to have identical values '
        f'({name}) for index on column "name".  '
    )


def test_two_new_rows_with_the_same_value(engine_db: Database) -> None:
    error = fail(
        engine_db,
        [
            insert("Target", {"name": "x", "k": 1}, uuid=UB),
            insert("Target", {"name": "x", "k": 2}, uuid=UA),
        ],
    )
    assert error == {
        "error": "constraint violation",
        "details": head("x") + f"First row, with UUID {UA}, was inserted by this transaction.  "
        f"Second row, with UUID {UB}, was inserted by this transaction.",
    }


def test_a_new_row_against_an_existing_one(ab: Database) -> None:
    error = fail(ab, [insert("Target", {"name": "a", "k": 9}, uuid=UC)])
    assert error["details"] == head() + (
        f"First row, with UUID {UA}, existed in the database before this transaction and was "
        f"not modified by the transaction.  Second row, with UUID {UC}, was inserted by this "
        "transaction."
    )


def test_a_modified_row_against_an_existing_one(ab: Database) -> None:
    error = fail(ab, [update({"name": "a"}, by_name("b"))])
    assert error["details"] == head() + (
        f"First row, with UUID {UA}, existed in the database before this transaction and was "
        f"not modified by the transaction.  Second row, with UUID {UB}, had the following index "
        "values before the transaction: b."
    )


def test_a_row_modified_outside_the_index_is_described_so(ab: Database) -> None:
    error = fail(ab, [update({"k": 5}, by_name("a")), update({"name": "a"}, by_name("b"))])
    assert (
        "which modified some of the row's columns but not any columns in this index"
        in (error["details"])
    )


def test_values_are_printed_like_ovsdb(engine_db: Database) -> None:
    error = fail(
        engine_db, [insert("Target", {"name": "x y"}), insert("Target", {"name": "x y", "k": 1})]
    )
    assert error["details"].startswith(head('"x y"'))


def test_two_column_index(engine_db: Database) -> None:
    ok(
        engine_db,
        [insert("Pair", {"a": 1, "b": "x"}, uuid=UA), insert("Pair", {"a": 1, "b": "y", "c": 1})],
    )
    error = fail(engine_db, [insert("Pair", {"a": 1, "b": "x", "c": 2}, uuid=UC)])
    assert error["details"] == (
        'Transaction causes multiple rows in "Pair" table to have identical values (1 and x) '
        'for index on columns "a" and "b".  '
        f"First row, with UUID {UA}, existed in the database before this transaction and was "
        f"not modified by the transaction.  Second row, with UUID {UC}, was inserted by this "
        "transaction."
    )


def test_index_over_a_set_column(engine_db: Database) -> None:
    ok(engine_db, [insert("Pair", {"a": 1, "c": ["set", [2, 3]]})])
    error = fail(engine_db, [insert("Pair", {"a": 2, "c": ["set", [3, 2]]})])
    assert 'identical values ([2, 3]) for index on column "c"' in error["details"]
    error = fail(engine_db, [insert("Pair", {"a": 3}), insert("Pair", {"a": 4})])
    assert 'identical values ([]) for index on column "c"' in error["details"]


def test_swapping_values_between_two_rows_in_one_transaction(ab: Database) -> None:
    ok(
        ab,
        [
            update({"name": "tmp"}, by_name("a")),
            update({"name": "a"}, by_name("b")),
            update({"name": "b"}, by_name("tmp")),
        ],
    )
    assert rows_of(ab, "Target", "_uuid", "name") == [(UA, "b"), (UB, "a")]
    assert ab.tables["Target"].index_maps[0] == {("a",): UB, ("b",): UA}


def test_swapping_with_a_direct_exchange(ab: Database) -> None:
    ok(
        ab,
        [
            update({"name": "b"}, [["_uuid", "==", ["uuid", UA]]]),
            update({"name": "a"}, [["_uuid", "==", ["uuid", UB]]]),
        ],
    )
    assert rows_of(ab, "Target", "_uuid", "name") == [(UA, "b"), (UB, "a")]


def test_deleting_and_reinserting_a_value(ab: Database) -> None:
    ok(
        ab,
        [
            {"op": "delete", "table": "Target", "where": by_name("a")},
            insert("Target", {"name": "a", "k": 7}, uuid=UC),
        ],
    )
    assert rows_of(ab, "Target", "_uuid", "name") == [(UB, "b"), (UC, "a")]
    assert ab.tables["Target"].index_maps[0][("a",)] == UC


def test_moving_a_value_to_a_new_row(ab: Database) -> None:
    ok(ab, [update({"name": "z"}, by_name("a")), insert("Target", {"name": "a"}, uuid=UC)])
    assert ab.tables["Target"].index_maps[0] == {("z",): UA, ("b",): UB, ("a",): UC}


def test_a_temporary_duplicate_inside_the_transaction_is_fine(ab: Database) -> None:
    # only the state at commit counts
    ok(ab, [update({"name": "a"}, by_name("b")), update({"name": "c"}, [["k", "==", 2]])])
    assert rows_of(ab, "Target", "name") == [("a",), ("c",)]


def test_all_rows_to_the_same_value(ab: Database) -> None:
    assert fail(ab, [update({"name": "same"}, [])])["error"] == "constraint violation"


def test_index_over_another_table(engine_db: Database) -> None:
    error = fail(engine_db, [insert("Parent", {"name": "p"}), insert("Parent", {"name": "p"})])
    assert 'in "Parent" table' in error["details"]


def test_index_maps_follow_commits(ab: Database) -> None:
    maps = ab.tables["Target"].index_maps
    assert maps[0] == {("a",): UA, ("b",): UB}
    assert maps[1] == {(1, "a"): UA, (2, "b"): UB}
    ok(ab, [update({"k": 5}, by_name("a"))])
    assert maps[1] == {(5, "a"): UA, (2, "b"): UB}
    ok(ab, [{"op": "delete", "table": "Target", "where": by_name("b")}])
    assert maps[0] == {("a",): UA} and maps[1] == {(5, "a"): UA}
