"""A failed transaction changes nothing, whatever failed and however much it had done.

Each case first does a lot (inserts, updates, deletes that cascade through garbage
collection and strip weak references, index and reference-count changes), then fails in
one particular way. ``fail`` compares a snapshot of everything (rows and their identity,
versions, n_refs, weak referrers, index maps, last transaction id) before and after.
"""

from __future__ import annotations

from typing import Any

import pytest

from pyovn.ovsdb.server.db import Database

from .conftest import MISSING, UA, UB, UC, check_invariants, fail, insert, new_db, ok, snapshot

P1 = "11111111-0000-4000-8000-000000000001"
P2 = "22222222-0000-4000-8000-000000000002"
C2 = "c2c2c2c2-0000-4000-8000-000000000002"


def populated() -> Database:
    db = new_db()
    ok(
        db,
        [
            insert("Target", {"name": "t1", "k": 1}, uuid=UA),
            insert("Target", {"name": "t2", "k": 2}, uuid=UB),
            insert("Target", {"name": "t3", "k": 3}, uuid=UC),
            insert("Grand", {"n": 1}, "g"),
            insert("Child", {"name": "c1", "grand": ["named-uuid", "g"]}, "c1"),
            insert("Child", {"name": "c2", "wpeer": ["named-uuid", "c1"]}, "c2", uuid=C2),
            insert(
                "Parent",
                {
                    "name": "p1",
                    "children": ["set", [["named-uuid", "c1"], ["named-uuid", "c2"]]],
                    "targets": ["set", [["uuid", UA], ["uuid", UB]]],
                    "wmap": ["map", [["x", ["uuid", UA]]]],
                },
                uuid=P1,
            ),
            insert(
                "Parent", {"name": "p2", "cmap": ["map", [["k", ["named-uuid", "c1"]]]]}, uuid=P2
            ),
            insert("Needy", {"must": ["uuid", UC], "other": "n"}),
            insert("Limited", {"x": 1}),
            insert("Atoms", {"i": 5, "iset": ["set", [1, 2]], "frozen": "f"}),
            insert("Pair", {"a": 1, "b": "x"}),
        ],
    )
    return db


# Everything a transaction may do before it fails.
BUSY: list[dict[str, Any]] = [
    insert("Target", {"name": "t4", "k": 4}, "t4"),
    {"op": "update", "table": "Target", "where": [["name", "==", "t2"]], "row": {"k": 20}},
    # drops c1 and c2 from p1; c1 is still held by p2, c2 by p3 below
    {
        "op": "update",
        "table": "Parent",
        "where": [["name", "==", "p1"]],
        "row": {"children": ["set", []]},
    },
    # drops c1 for good: c1, then Grand g, are garbage; c2's weak reference to c1 goes
    {"op": "delete", "table": "Parent", "where": [["name", "==", "p2"]]},
    # strips weak references from p1
    {"op": "delete", "table": "Target", "where": [["name", "==", "t1"]]},
    {
        "op": "mutate",
        "table": "Atoms",
        "where": [],
        "mutations": [["i", "+=", 1], ["iset", "insert", 3]],
    },
    # keeps c2, which p1 no longer holds, alive
    insert(
        "Parent",
        {
            "name": "p3",
            "targets": ["named-uuid", "t4"],
            "child": ["named-uuid", "c9"],
            "children": ["uuid", C2],
        },
    ),
    insert("Child", {"name": "c9"}, "c9"),
    {"op": "comment", "comment": "busy"},
]

FAILURES: dict[str, tuple[list[dict[str, Any]], str]] = {
    "abort": ([{"op": "abort"}], "aborted"),
    "syntax": ([{"op": "frob"}], "syntax error"),
    "unknown column": ([insert("Atoms", {"zz": 1})], "unknown column"),
    "constraint": ([insert("Atoms", {"irange": 11})], "constraint violation"),
    "immutable": (
        [{"op": "update", "table": "Atoms", "where": [], "row": {"frozen": "x"}}],
        "constraint violation",
    ),
    "domain": (
        [{"op": "mutate", "table": "Atoms", "where": [], "mutations": [["i", "%=", 0]]}],
        "domain error",
    ),
    "range": (
        [{"op": "mutate", "table": "Atoms", "where": [], "mutations": [["i", "+=", 2**63 - 1]]}],
        "range error",
    ),
    "set size": (
        [{"op": "mutate", "table": "Atoms", "where": [], "mutations": [["sset1", "delete", ""]]}],
        "constraint violation",
    ),
    "duplicate uuid": ([insert("Target", {"name": "t9"}, uuid=UB)], "duplicate uuid"),
    "duplicate uuid-name": ([insert("Atoms", {}, "t4")], "duplicate uuid-name"),
    "wait": (
        [
            {
                "op": "wait",
                "table": "Target",
                "where": [],
                "columns": ["name"],
                "until": "==",
                "rows": [],
                "timeout": 0,
            }
        ],
        "timed out",
    ),
    "not owner": ([{"op": "assert", "lock": "nobody"}], "not owner"),
    "dangling strong ref": (
        [insert("Parent", {"name": "p9", "child": ["uuid", MISSING]})],
        "referential integrity violation",
    ),
    "referenced delete": (
        [
            insert("Child", {"name": "held"}, "held"),
            insert("Parent", {"name": "p8", "child": ["named-uuid", "held"]}),
            {"op": "delete", "table": "Child", "where": [["name", "==", "c2"]]},
        ],
        "referential integrity violation",
    ),
    "weak min size": (
        [{"op": "delete", "table": "Target", "where": [["name", "==", "t3"]]}],
        "constraint violation",
    ),
    "index": (
        [
            {
                "op": "update",
                "table": "Target",
                "where": [["name", "==", "t4"]],
                "row": {"name": "t2"},
            }
        ],
        "constraint violation",
    ),
    "two-column index": ([insert("Pair", {"a": 1, "b": "x"})], "constraint violation"),
    "max rows": (
        [insert("Limited", {"x": 2}), insert("Limited", {"x": 3})],
        "constraint violation",
    ),
}


def test_the_busy_part_alone_succeeds_and_does_what_it_says() -> None:
    db = populated()
    ok(db, BUSY)
    assert {r.data["name"] for r in db.rows("Child")} == {"c2", "c9"}
    assert [r.data["wpeer"] for r in db.rows("Child") if r.data["name"] == "c2"] == [frozenset()]
    assert list(db.rows("Grand")) == []
    assert db.row("Parent", P1).data["targets"] == frozenset({UB})
    assert db.row("Parent", P1).data["wmap"] == {}


@pytest.mark.parametrize("name", list(FAILURES))
def test_a_failure_after_much_work_changes_nothing(name: str) -> None:
    db = populated()
    tail, error = FAILURES[name]
    assert fail(db, BUSY + tail)["error"] == error
    check_invariants(db)
    # and the database still works as before
    ok(db, BUSY)


@pytest.mark.parametrize("name", list(FAILURES))
def test_a_failure_alone_changes_nothing(name: str) -> None:
    db = populated()
    tail, error = FAILURES[name]
    if name in ("index", "duplicate uuid-name"):  # these need BUSY's t4
        tail = [insert("Target", {"name": "t4"}, "t4"), *tail]
    assert fail(db, tail)["error"] == error


def test_a_failed_transaction_does_not_touch_shared_state() -> None:
    # the weak referrer maps are mutable: a failed commit must not have edited them
    db = populated()
    target = db.row("Target", UB)
    weak_before = dict(target.weak_in or {})
    before = snapshot(db)
    fail(db, [{"op": "delete", "table": "Parent", "where": []}, {"op": "abort"}])
    assert dict(target.weak_in or {}) == weak_before
    assert snapshot(db) == before
