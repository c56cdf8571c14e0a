"""commit, abort, comment and assert; parse errors; the shape of the result array."""

from __future__ import annotations

from typing import Any

import pytest

from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.ops import execute

from .conftest import fail, insert, ok, rows_of, select, snapshot

MARK = insert("Limited", {"x": 1})


# ---------------------------------------------------------------------------- commit


def test_commit_durable_sets_the_flag(engine_db: Database) -> None:
    result = execute(engine_db, [MARK, {"op": "commit", "durable": True}])
    assert result.results[1] == {}
    assert result.commit is not None and result.commit.durable
    result = execute(engine_db, [MARK, {"op": "commit", "durable": False}])
    assert result.commit is not None and not result.commit.durable
    assert not execute(engine_db, [MARK]).commit.durable


def test_commit_needs_a_boolean_durable(engine_db: Database) -> None:
    error = fail(engine_db, [{"op": "commit"}])
    assert error["details"] == (
        "Parsing ovsdb operation 1 of 1 failed: Required 'durable' member is missing."
    )
    error = fail(engine_db, [{"op": "commit", "durable": 1}])
    assert error["details"] == (
        "Parsing ovsdb operation 1 of 1 failed: Type mismatch for member 'durable'."
    )


# ---------------------------------------------------------------------------- abort


def test_abort_fails_the_transaction_and_pads_with_null(engine_db: Database) -> None:
    result = execute(engine_db, [MARK, {"op": "abort"}, MARK])
    assert result.commit is None
    assert result.results[0] == {"uuid": result.results[0]["uuid"]}
    assert result.results[1:] == [{"error": "aborted", "details": "aborted by request"}, None]
    assert fail(engine_db, [MARK, {"op": "abort"}, MARK])["error"] == "aborted"
    assert rows_of(engine_db, "Limited", "x") == []


def test_abort_takes_no_members(engine_db: Database) -> None:
    error = fail(engine_db, [{"op": "abort", "table": "x"}])
    assert error["details"] == (
        "Parsing ovsdb operation 1 of 1 failed: Member 'table' is present but not allowed here."
    )


# ---------------------------------------------------------------------------- comment


def test_comments_are_joined_into_the_commit(engine_db: Database) -> None:
    result = execute(
        engine_db,
        [{"op": "comment", "comment": "first"}, MARK, {"op": "comment", "comment": "second"}],
    )
    assert result.results[0] == {} and result.results[2] == {}
    assert result.commit is not None and result.commit.comment == "first\nsecond"
    assert execute(engine_db, [MARK]).commit.comment is None


def test_comment_needs_a_string(engine_db: Database) -> None:
    assert fail(engine_db, [{"op": "comment"}])["details"].endswith(
        "Required 'comment' member is missing."
    )
    assert fail(engine_db, [{"op": "comment", "comment": 1}])["details"].endswith(
        "Type mismatch for member 'comment'."
    )


# ---------------------------------------------------------------------------- assert


def test_assert_a_held_lock(engine_db: Database) -> None:
    ok(engine_db, [{"op": "assert", "lock": "L"}, MARK], locks={"L", "M"})
    assert rows_of(engine_db, "Limited", "x") == [(1,)]


def test_assert_a_lock_not_held_is_not_owner(engine_db: Database) -> None:
    error = fail(engine_db, [{"op": "assert", "lock": "L"}, MARK], locks={"M"})
    assert error == {"error": "not owner", "details": "Asserted lock L not held."}
    assert fail(engine_db, [{"op": "assert", "lock": "L"}])["error"] == "not owner"


def test_assert_needs_a_lock_name(engine_db: Database) -> None:
    assert fail(engine_db, [{"op": "assert"}])["details"].endswith(
        "Required 'lock' member is missing."
    )


# ---------------------------------------------------------------------------- the whole


def test_empty_transaction(engine_db: Database) -> None:
    result = execute(engine_db, [])
    assert result.results == []
    assert result.commit is not None and result.commit.empty


def test_read_only_transaction_commits_nothing(engine_db: Database) -> None:
    result = execute(engine_db, [select("Atoms", [])])
    assert result.ok and result.commit.empty


@pytest.mark.parametrize(
    ("op", "details"),
    [
        (1, "Object expected."),
        ({"table": "Atoms"}, "Required 'op' member is missing."),
        ({"op": 5}, "Type mismatch for member 'op'."),
        ({"op": "frob"}, 'No operation "frob"'),
        (
            {"op": "select", "table": "Atoms", "where": [], "bogus": 1},
            "Member 'bogus' is present but not allowed here.",
        ),
        ({"op": "select", "table": 7, "where": []}, "Type mismatch for member 'table'."),
        ({"op": "select", "table": "Nope", "where": []}, "No table named Nope."),
        ({"op": "select", "table": "Atoms", "where": {}}, "Type mismatch for member 'where'."),
    ],
)
def test_parse_errors_name_the_operation(engine_db: Database, op: Any, details: str) -> None:
    error = fail(engine_db, [MARK, op, MARK])
    assert error["error"] == "syntax error"
    assert error["details"] == f"Parsing ovsdb operation 2 of 3 failed: {details}"


def test_misplaced_member_is_reported_before_other_errors(engine_db: Database) -> None:
    # ovsdb-server checks the operation's members before reporting what went wrong
    for op in (
        {"op": "insert", "table": "Atoms", "row": {"irange": 50}, "zz": 1},
        {"op": "mutate", "table": "Atoms", "where": [["zz", "==", 1]], "mutations": [], "zz": 1},
        {"op": "assert", "lock": "L", "zz": 1},
    ):
        error = fail(engine_db, [op])
        assert error["details"] == (
            "Parsing ovsdb operation 1 of 1 failed: Member 'zz' is present but not allowed here."
        ), op


def test_results_after_the_failing_operation_are_null(engine_db: Database) -> None:
    ops = [MARK, {"op": "comment", "comment": "c"}, {"op": "abort"}, MARK, MARK]
    result = execute(engine_db, ops)
    assert len(result.results) == 5
    assert result.results[2]["error"] == "aborted"
    assert result.results[3:] == [None, None]


def test_a_commit_time_error_is_one_extra_result(engine_db: Database) -> None:
    ops = [insert("Limited", {"x": n}) for n in range(3)]
    result = execute(engine_db, ops)
    assert result.commit is None
    assert len(result.results) == 4
    assert all("uuid" in r for r in result.results[:3])
    assert result.results[3] == {
        "error": "constraint violation",
        "details": 'transaction causes "Limited" table to contain 3 rows, greater than the '
        "schema-defined limit of 2 row(s)",
    }


def test_execute_never_changes_the_database(engine_db: Database) -> None:
    ok(engine_db, [MARK])
    before = snapshot(engine_db)
    result = execute(
        engine_db,
        [
            insert("Limited", {"x": 2}),
            {"op": "update", "table": "Limited", "where": [], "row": {"x": 5}},
        ],
    )
    assert result.ok
    assert snapshot(engine_db) == before
    engine_db.apply(result.commit)
    assert rows_of(engine_db, "Limited", "x") == [(5,), (5,)]
    assert engine_db.last_txn_id == result.commit.txn_id
