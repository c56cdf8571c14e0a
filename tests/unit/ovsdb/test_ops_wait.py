"""The "wait" operation: until ==/!=, columns, whole expected rows, and timeouts.

A timeout of 0 that does not hold fails at once with "timed out"; a positive (or missing)
timeout that has not run out blocks the transaction, for the server to run it again later.
"""

from __future__ import annotations

from typing import Any

import pytest

from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.ops import execute

from .conftest import UA, UB, fail, insert, ok, rows_of, snapshot


def wait(
    until: str,
    rows: list[Any],
    columns: list[str] | None = ("name",),  # type: ignore[assignment]
    where: list[Any] | None = None,
    timeout: Any = 0,
    table: str = "Target",
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "op": "wait",
        "table": table,
        "where": where or [],
        "until": until,
        "rows": rows,
    }
    if columns is not None:
        op["columns"] = list(columns)
    if timeout is not None:
        op["timeout"] = timeout
    return op


MARK = insert("Limited", {"x": 1})  # shows whether the rest of the transaction ran


@pytest.fixture
def two(engine_db: Database) -> Database:
    ok(
        engine_db,
        [
            insert("Target", {"name": "a", "k": 1}, uuid=UA),
            insert("Target", {"name": "b", "k": 2}, uuid=UB),
        ],
    )
    return engine_db


TIMED_OUT = {"error": "timed out", "details": '"where" clause test failed'}


def test_equal_rows_let_the_transaction_go_on(two: Database) -> None:
    assert ok(two, [wait("==", [{"name": "a"}, {"name": "b"}]), MARK])[0] == {}
    assert rows_of(two, "Limited", "x") == [(1,)]


def test_row_order_and_duplicates_do_not_matter(two: Database) -> None:
    ok(two, [wait("==", [{"name": "b"}, {"name": "a"}, {"name": "a"}])])


def test_unequal_rows_with_zero_timeout_time_out_at_once(two: Database) -> None:
    assert fail(two, [wait("==", [{"name": "a"}]), MARK]) == TIMED_OUT
    assert rows_of(two, "Limited", "x") == []


def test_until_not_equal(two: Database) -> None:
    ok(two, [wait("!=", [{"name": "a"}])])
    assert fail(two, [wait("!=", [{"name": "a"}, {"name": "b"}])]) == TIMED_OUT


def test_where_selects_the_rows_compared(two: Database) -> None:
    ok(two, [wait("==", [{"name": "a"}], where=[["k", "==", 1]])])
    ok(two, [wait("==", [], where=[["k", "==", 9]])])
    assert fail(two, [wait("==", [], where=[["k", "==", 1]])]) == TIMED_OUT


def test_several_columns(two: Database) -> None:
    ok(two, [wait("==", [{"name": "a", "k": 1}, {"name": "b", "k": 2}], columns=["name", "k"])])
    error = fail(
        two, [wait("==", [{"name": "a", "k": 2}, {"name": "b", "k": 1}], columns=["name", "k"])]
    )
    assert error == TIMED_OUT


def test_expected_rows_are_whole_rows_with_defaults(engine_db: Database) -> None:
    # as in ovsdb-server: a column left out of an expected row takes its default value
    ok(engine_db, [insert("Target", {"name": "a"})])
    ok(engine_db, [wait("==", [{"name": "a"}], columns=["name", "k"])])  # k defaults to 0
    ok(engine_db, [wait("==", [{"name": "zz"}], columns=["k"])])  # only k is compared


def test_uuid_column_can_be_waited_on(two: Database) -> None:
    ok(two, [wait("==", [{"_uuid": ["uuid", UA]}], columns=["_uuid"], where=[["k", "==", 1]])])
    ok(
        two,
        [
            wait(
                "==",
                [{"_uuid": ["uuid", UA], "name": "a"}],
                columns=["_uuid", "name"],
                where=[["k", "==", 1]],
            )
        ],
    )
    error = fail(two, [wait("==", [{"name": "a"}], columns=["_uuid"], where=[["k", "==", 1]])])
    assert error == TIMED_OUT  # without _uuid the expected row's UUID is all-zeros


def test_without_columns_every_column_counts_so_equality_never_holds(two: Database) -> None:
    # ovsdb-server compares _version too, which an expected row cannot match
    rows = [{"_uuid": ["uuid", UA], "name": "a", "k": 1}]
    assert fail(two, [wait("==", rows, columns=None, where=[["k", "==", 1]])]) == TIMED_OUT
    ok(two, [wait("==", [], columns=None, where=[["k", "==", 99]])])


def test_wait_sees_the_transaction_so_far(two: Database) -> None:
    ok(
        two,
        [
            insert("Target", {"name": "c", "k": 3}),
            wait("==", [{"k": 3}], columns=["k"], where=[["name", "==", "c"]]),
        ],
    )


def test_positive_timeout_blocks(two: Database) -> None:
    before = snapshot(two)
    result = execute(two, [MARK, wait("==", [{"name": "zz"}], timeout=1000), MARK], elapsed_ms=0)
    assert result.blocked
    assert result.commit is None and result.results == []
    assert snapshot(two) == before


def test_positive_timeout_times_out_once_elapsed(two: Database) -> None:
    ops = [wait("==", [{"name": "zz"}], timeout=1000), MARK]
    assert execute(two, ops, elapsed_ms=999).blocked
    result = execute(two, ops, elapsed_ms=1000)
    assert not result.blocked
    assert result.results == [TIMED_OUT, None]


def test_missing_timeout_waits_forever(two: Database) -> None:
    ops = [wait("==", [{"name": "zz"}], timeout=None)]
    assert execute(two, ops, elapsed_ms=10**9).blocked


def test_a_blocked_wait_runs_again_after_a_change(two: Database) -> None:
    ops = [wait("==", [{"name": "a"}, {"name": "b"}, {"name": "c"}], timeout=5000), MARK]
    assert execute(two, ops).blocked
    ok(two, [insert("Target", {"name": "c", "k": 3})])
    ok(two, ops)
    assert rows_of(two, "Limited", "x") == [(1,)]


def test_a_satisfied_wait_does_not_look_at_the_timeout(two: Database) -> None:
    ok(two, [wait("==", [{"name": "a"}, {"name": "b"}], timeout=5000)], elapsed_ms=10**6)


@pytest.mark.parametrize(
    ("change", "details"),
    [
        ({"until": "<"}, '"until" must be "==" or "!="'),
        ({"timeout": -5}, "timeout must be nonnegative"),
        (
            {"timeout": 1.5},
            "Parsing ovsdb operation 1 of 1 failed: Type mismatch for member 'timeout'.",
        ),
        ({"columns": ["zz"]}, "zz is not a valid column name"),
        ({"columns": ["name", "name"]}, "array of distinct column names expected"),
        (
            {"rows": {"name": "a"}},
            "Parsing ovsdb operation 1 of 1 failed: Type mismatch for member 'rows'.",
        ),
    ],
)
def test_wait_syntax_errors(two: Database, change: dict[str, Any], details: str) -> None:
    op = wait("==", [{"name": "a"}, {"name": "b"}])
    op.update(change)
    error = fail(two, [op])
    assert error["error"] == "syntax error"
    assert error["details"] == details


@pytest.mark.parametrize("member", ["until", "rows", "where", "table"])
def test_wait_required_members(two: Database, member: str) -> None:
    op = wait("==", [])
    del op[member]
    error = fail(two, [op])
    assert error["details"].endswith(f"Required '{member}' member is missing.")


def test_bad_expected_rows(two: Database) -> None:
    assert fail(two, [wait("==", [{"zz": 1}])])["error"] == "unknown column"
    assert fail(two, [wait("==", [{"k": "x"}])])["error"] == "syntax error"
    error = fail(two, [wait("==", [{"irange": 50}], columns=["irange"], table="Atoms")])
    assert error["error"] == "constraint violation"


def test_misplaced_member_is_reported_before_the_timeout(two: Database) -> None:
    op = wait("==", [])
    op["zz"] = 1
    error = fail(two, [op])
    assert error["details"] == (
        "Parsing ovsdb operation 1 of 1 failed: Member 'zz' is present but not allowed here."
    )
