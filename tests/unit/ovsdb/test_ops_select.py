"""The "select" operation: where clauses, column lists, distinct rows, in-transaction view."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pyovn.ovsdb.server.db import Database

from .conftest import UA, UB, fail, insert, ok, select, uuid_of


@pytest.fixture
def three(engine_db: Database) -> Database:
    ok(
        engine_db,
        [
            insert("Atoms", {"i": 1, "s": "a", "b": True, "iset": ["set", [1, 2]]}, uuid=UA),
            insert("Atoms", {"i": 2, "s": "b", "b": False, "iset": ["set", [2, 3]]}, uuid=UB),
            insert("Atoms", {"i": 2, "s": "c", "b": True}),
        ],
    )
    return engine_db


def canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True)


def sel(db: Database, where: list[Any], columns: list[str] | None = None) -> list[Any]:
    (result,) = ok(db, [select("Atoms", where, columns)])
    return sorted(result["rows"], key=canonical)


def test_select_all_columns_by_default(three: Database) -> None:
    rows = sel(three, [["_uuid", "==", ["uuid", UA]]])
    assert len(rows) == 1
    row = rows[0]
    assert list(row)[:2] == ["_uuid", "_version"]
    assert set(row) == {"_uuid", "_version", *three.tables["Atoms"].schema.columns}
    assert row["_uuid"] == ["uuid", UA]
    assert row["_version"] == ["uuid", three.row("Atoms", UA).version]
    assert row["i"] == 1 and row["iset"] == ["set", [1, 2]]


def test_select_with_where(three: Database) -> None:
    assert sel(three, [["i", "==", 2]], ["s"]) == [{"s": "b"}, {"s": "c"}]
    assert sel(three, [["i", "<", 2]], ["s"]) == [{"s": "a"}]
    assert sel(three, [["iset", "includes", 2]], ["s"]) == [{"s": "a"}, {"s": "b"}]
    assert sel(three, [["i", "==", 2], ["b", "==", True]], ["s"]) == [{"s": "c"}]
    assert sel(three, [["i", "==", 9]], ["s"]) == []
    assert sel(three, [False], ["s"]) == []
    assert sel(three, [True], ["s"]) == [{"s": "a"}, {"s": "b"}, {"s": "c"}]


def test_select_by_uuid(three: Database) -> None:
    assert sel(three, [["_uuid", "==", ["uuid", UB]]], ["s"]) == [{"s": "b"}]
    assert sel(three, [["_uuid", "!=", ["uuid", UB]]], ["s"]) == [{"s": "a"}, {"s": "c"}]


def test_select_with_columns_returns_distinct_rows(three: Database) -> None:
    assert sel(three, [], ["i"]) == [{"i": 1}, {"i": 2}]
    assert sel(three, [], ["b"]) == [{"b": False}, {"b": True}]
    assert sel(three, [], ["i", "b"]) == [
        {"b": False, "i": 2},
        {"b": True, "i": 1},
        {"b": True, "i": 2},
    ]
    assert sel(three, [], []) == [{}]


def test_select_without_columns_keeps_every_row(three: Database) -> None:
    assert len(sel(three, [])) == 3


def test_column_order_follows_the_request(three: Database) -> None:
    (row,) = sel(three, [["_uuid", "==", ["uuid", UA]]], ["s", "_uuid", "i"])
    assert list(row) == ["s", "_uuid", "i"]


def test_unknown_and_duplicate_columns(three: Database) -> None:
    error = fail(three, [select("Atoms", [], ["zz"])])
    assert error == {
        "error": "syntax error",
        "details": "zz is not a valid column name",
        "syntax": '["zz"]',
    }
    error = fail(three, [select("Atoms", [], ["i", "i"])])
    assert error["details"] == "array of distinct column names expected"


def test_where_errors_fail_the_transaction(three: Database) -> None:
    assert fail(three, [select("Atoms", [["zz", "==", 1]])])["error"] == "unknown column"
    assert fail(three, [select("Atoms", [["i", "~", 1]])])["error"] == "unknown function"
    assert fail(three, [select("Atoms", [["i", "==", "x"]])])["error"] == "syntax error"
    error = fail(three, [{"op": "select", "table": "Atoms"}])
    assert error["details"].endswith("Required 'where' member is missing.")


def test_select_sees_the_transaction_so_far(three: Database) -> None:
    results = ok(
        three,
        [
            insert("Atoms", {"i": 7, "s": "new"}, "n"),
            {"op": "update", "table": "Atoms", "where": [["s", "==", "a"]], "row": {"i": 70}},
            {"op": "delete", "table": "Atoms", "where": [["s", "==", "b"]]},
            select("Atoms", [], ["s", "i"]),
            select("Atoms", [["_uuid", "==", ["named-uuid", "n"]]], ["s"]),
        ],
    )
    assert sorted(results[3]["rows"], key=canonical) == [
        {"i": 2, "s": "c"},
        {"i": 7, "s": "new"},
        {"i": 70, "s": "a"},
    ]
    assert results[4] == {"rows": [{"s": "new"}]}


def test_select_does_not_change_anything(three: Database) -> None:
    before = {u: r for u, r in three.tables["Atoms"].rows.items()}
    ok(three, [select("Atoms", [])])
    after = three.tables["Atoms"].rows
    assert after.keys() == before.keys()
    assert all(after[u] is before[u] for u in before)  # not even a new version


def test_select_inserted_row_within_the_transaction(engine_db: Database) -> None:
    results = ok(engine_db, [insert("Atoms", {"i": 3}, "x"), select("Atoms", [], ["_uuid", "i"])])
    assert results[1] == {"rows": [{"_uuid": ["uuid", uuid_of(results[0])], "i": 3}]}
