"""The "mutate" operation: every mutator through a transaction, counts and atomicity.

The mutator semantics themselves are in test_mutation.py; here the operation around them.
"""

from __future__ import annotations

import pytest

from pyovn.ovsdb.server.db import Database

from .conftest import UA, UB, fail, insert, ok, rows_of


def mutate(where, *mutations, table: str = "Atoms") -> dict:
    return {
        "op": "mutate",
        "table": table,
        "where": where,
        "mutations": [list(m) for m in mutations],
    }


@pytest.fixture
def two(engine_db: Database) -> Database:
    ok(
        engine_db,
        [
            insert(
                "Atoms",
                {
                    "i": 7,
                    "r": 2.5,
                    "iset": ["set", [1, 2]],
                    "sset": ["set", ["a"]],
                    "smap": ["map", [["k", "v"]]],
                },
                uuid=UA,
            ),
            insert("Atoms", {"i": -7}, uuid=UB),
        ],
    )
    return engine_db


def test_mutate_counts_and_applies_to_every_matching_row(two: Database) -> None:
    assert ok(two, [mutate([], ("i", "+=", 1))]) == [{"count": 2}]
    assert rows_of(two, "Atoms", "i") == [(-6,), (8,)]
    assert ok(two, [mutate([["i", ">", 0]], ("i", "*=", 10))]) == [{"count": 1}]
    assert rows_of(two, "Atoms", "i") == [(-6,), (80,)]
    assert ok(two, [mutate([["i", "==", 1000]], ("i", "+=", 1))]) == [{"count": 0}]


def test_several_mutations_apply_in_order(two: Database) -> None:
    ok(
        two,
        [mutate([["_uuid", "==", ["uuid", UA]]], ("i", "+=", 1), ("i", "*=", 2), ("i", "%=", 5))],
    )
    assert two.row("Atoms", UA).data["i"] == 1  # ((7 + 1) * 2) % 5


def test_every_kind_of_column(two: Database) -> None:
    ok(
        two,
        [
            mutate(
                [["_uuid", "==", ["uuid", UA]]],
                ("r", "/=", 2),
                ("iset", "-=", 1),
                ("sset", "insert", ["set", ["b", "c"]]),
                ("smap", "insert", ["map", [["k2", "v2"]]]),
                ("smap", "delete", ["set", ["k"]]),
                ("opt", "insert", 9),
            )
        ],
    )
    data = two.row("Atoms", UA).data
    assert data["r"] == 1.25
    assert data["iset"] == frozenset({0, 1})
    assert data["sset"] == frozenset({"a", "b", "c"})
    assert data["smap"] == {"k2": "v2"}
    assert data["opt"] == frozenset({9})


def test_mutations_see_earlier_operations(two: Database) -> None:
    ok(
        two,
        [
            {"op": "update", "table": "Atoms", "where": [["i", "==", 7]], "row": {"i": 100}},
            mutate([["i", "==", 100]], ("i", "+=", 1)),
        ],
    )
    assert two.row("Atoms", UA).data["i"] == 101


@pytest.mark.parametrize(
    ("mutation", "error"),
    [
        (("i", "/=", 0), "domain error"),
        (("i", "*=", 2**62), "range error"),
        (("irange", "+=", 11), "constraint violation"),
        (("sset", "insert", ["set", ["b", "c", "d"]]), "constraint violation"),
        (("sset1", "delete", ""), "constraint violation"),
        (("iset", "*=", 0), "constraint violation"),
        (("frozen", "insert", "x"), "constraint violation"),
        (("zz", "+=", 1), "unknown column"),
        (("i", "^=", 1), "unknown mutator"),
        (("s", "+=", 1), "syntax error"),
    ],
)
def test_mutate_errors_fail_the_whole_transaction(two: Database, mutation, error: str) -> None:
    got = fail(
        two,
        [
            insert("Atoms", {"i": 1}),
            mutate([], ("i", "+=", 0)),
            mutate([], mutation),
            {"op": "comment", "comment": "never reached"},
        ],
    )
    assert got["error"] == error


def test_a_range_error_on_one_row_fails_every_row(two: Database) -> None:
    # 7 + (2**63 - 4) overflows, -7 + (2**63 - 4) does not: nothing changes at all
    assert fail(two, [mutate([], ("i", "+=", 2**63 - 4))])["error"] == "range error"
    assert rows_of(two, "Atoms", "i") == [(-7,), (7,)]


def test_mutation_errors_even_when_no_row_matches(two: Database) -> None:
    # parse errors are found without rows; arithmetic errors need a row to happen
    assert fail(two, [mutate([["i", "==", 99]], ("frozen", "insert", "x"))])["error"] == (
        "constraint violation"
    )
    assert ok(two, [mutate([["i", "==", 99]], ("i", "/=", 0))]) == [{"count": 0}]


def test_mutations_member_is_required(two: Database) -> None:
    error = fail(two, [{"op": "mutate", "table": "Atoms", "where": []}])
    assert error["details"].endswith("Required 'mutations' member is missing.")


def test_reference_mutations_are_checked_at_commit(engine_db: Database) -> None:
    ok(engine_db, [insert("Parent", {"name": "p"})])
    missing = "12345678-1234-4234-8234-123456789abc"
    error = fail(
        engine_db,
        [mutate([], ("children", "insert", ["set", [["uuid", missing]]]), table="Parent")],
    )
    assert error["error"] == "referential integrity violation"
    ok(
        engine_db,
        [
            insert("Child", {"name": "c"}, "c"),
            mutate([], ("children", "insert", ["set", [["named-uuid", "c"]]]), table="Parent"),
        ],
    )
    assert rows_of(engine_db, "Child", "name") == [("c",)]
    ok(engine_db, [mutate([], ("children", "delete", ["set", []]), table="Parent")])
    assert rows_of(engine_db, "Child", "name") == [("c",)]  # deleting nothing keeps it
    (child,) = engine_db.rows("Child")
    ok(engine_db, [mutate([], ("children", "delete", ["uuid", child.uuid]), table="Parent")])
    assert rows_of(engine_db, "Child", "name") == []  # garbage-collected
