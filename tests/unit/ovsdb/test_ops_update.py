"""The "update" operation: counts, partial rows, immutable columns, versions, atomicity."""

from __future__ import annotations

import pytest

from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.ops import execute

from .conftest import UA, UB, fail, insert, ok, rows_of


def update(where, row, table: str = "Atoms") -> dict:
    return {"op": "update", "table": table, "where": where, "row": row}


@pytest.fixture
def two(engine_db: Database) -> Database:
    ok(
        engine_db,
        [
            insert("Atoms", {"i": 1, "s": "a", "frozen": "f1"}, uuid=UA),
            insert("Atoms", {"i": 2, "s": "b", "frozen": "f2"}, uuid=UB),
        ],
    )
    return engine_db


def test_update_counts_matching_rows_and_changes_only_given_columns(two: Database) -> None:
    assert ok(two, [update([["i", ">", 0]], {"s": "z"})]) == [{"count": 2}]
    assert rows_of(two, "Atoms", "i", "s", "frozen") == [(1, "z", "f1"), (2, "z", "f2")]
    assert ok(two, [update([["i", "==", 2]], {"i": 20, "b": True})]) == [{"count": 1}]
    assert rows_of(two, "Atoms", "i", "s", "b") == [(1, "z", False), (20, "z", True)]
    assert ok(two, [update([["i", "==", 99]], {"i": 0})]) == [{"count": 0}]


def test_update_gives_a_new_version_only_to_changed_rows(two: Database) -> None:
    va, vb = two.row("Atoms", UA).version, two.row("Atoms", UB).version
    ok(two, [update([["_uuid", "==", ["uuid", UA]]], {"i": 10})])
    assert two.row("Atoms", UA).version != va
    assert two.row("Atoms", UB).version == vb


def test_update_to_the_same_value_is_not_a_change(two: Database) -> None:
    va = two.row("Atoms", UA).version
    result = execute(two, [update([["_uuid", "==", ["uuid", UA]]], {"i": 1, "s": "a"})])
    assert result.results == [{"count": 1}]  # it matched
    assert result.commit is not None and result.commit.empty  # but changed nothing
    two.apply(result.commit)
    assert two.row("Atoms", UA).version == va


def test_update_with_an_empty_row_matches_but_changes_nothing(two: Database) -> None:
    assert ok(two, [update([], {})]) == [{"count": 2}]


def test_updates_in_one_transaction_see_each_other(two: Database) -> None:
    ok(
        two,
        [
            update([["i", "==", 1]], {"i": 5}),
            update([["i", "==", 5]], {"s": "seen"}),
            update([["i", "==", 1]], {"s": "stale"}),
        ],
    )
    assert rows_of(two, "Atoms", "i", "s") == [(2, "b"), (5, "seen")]


@pytest.mark.parametrize("column", ["frozen", "_uuid", "_version"])
def test_immutable_columns_cannot_be_updated(two: Database, column: str) -> None:
    value = "x" if column == "frozen" else ["uuid", UA]
    op = update([], {column: value})
    error = fail(two, [op])
    assert error["error"] == "constraint violation"
    assert error["details"] == f"Cannot update immutable column {column} in table Atoms."
    assert error["syntax"].startswith('{"op":"update"')


def test_immutable_column_error_even_when_nothing_matches(two: Database) -> None:
    error = fail(two, [update([["i", "==", 99]], {"frozen": "x"})])
    assert error["error"] == "constraint violation"


def test_update_errors(two: Database) -> None:
    assert fail(two, [update([], {"zz": 1})])["error"] == "unknown column"
    assert fail(two, [update([], {"irange": 11})])["error"] == "constraint violation"
    assert fail(two, [update([], {"i": "x"})])["error"] == "syntax error"
    error = fail(two, [{"op": "update", "table": "Atoms", "where": []}])
    assert error["details"].endswith("Required 'row' member is missing.")


def test_a_failing_update_rolls_back_earlier_ones(two: Database) -> None:
    fail(two, [update([], {"i": 100}), update([], {"irange": 50})])
    assert rows_of(two, "Atoms", "i") == [(1,), (2,)]


def test_update_of_a_row_deleted_earlier_in_the_transaction(two: Database) -> None:
    results = ok(
        two,
        [
            {"op": "delete", "table": "Atoms", "where": [["i", "==", 1]]},
            update([], {"s": "left"}),
        ],
    )
    assert results == [{"count": 1}, {"count": 1}]
    assert rows_of(two, "Atoms", "i", "s") == [(2, "left")]
