"""select/wait/update/delete with ``==`` on every column of an index use the index; the
rows they see are exactly those a scan of the table would pick, also for rows the same
transaction inserted, changed or deleted."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pyovn.ovsdb.condition import parse_condition
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.ops import execute
from pyovn.ovsdb.server.txn import Transaction

SCHEMA = {
    "name": "I",
    "version": "1.0.0",
    "tables": {
        "T": {
            "isRoot": True,
            "columns": {
                "name": {"type": "string"},
                "a": {"type": "integer"},
                "b": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
                "m": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
                "x": {"type": "integer"},
            },
            "indexes": [["name"], ["a", "b"], ["m"]],
        }
    },
}

NAMES = st.sampled_from(["p", "q", "r", "s"])
INTS = st.integers(0, 2)
SETS = st.frozensets(st.sampled_from(["u", "v"]), max_size=2)
MAPS = st.dictionaries(st.sampled_from(["k", "l"]), st.sampled_from(["1", "2"]), max_size=2)


def row_json(name: str, a: int, b: frozenset[str], m: dict[str, str], x: int) -> dict[str, Any]:
    return {
        "name": name,
        "a": a,
        "b": ["set", sorted(b)],
        "m": ["map", sorted([k, v] for k, v in m.items())],
        "x": x,
    }


ROWS = st.tuples(NAMES, INTS, SETS, MAPS, INTS)


@st.composite
def conditions(draw: Any) -> list[Any]:
    kind = draw(st.sampled_from(["name", "ab", "m", "name+x", "ab+name"]))
    where: list[Any] = []
    if kind in ("name", "name+x", "ab+name"):
        where.append(["name", "==", draw(NAMES)])
    if kind in ("ab", "ab+name"):
        where += [["a", "==", draw(INTS)], ["b", "==", ["set", sorted(draw(SETS))]]]
    if kind == "m":
        where.append(["m", "==", ["map", sorted([k, v] for k, v in draw(MAPS).items())]])
    if kind == "name+x":
        where.append(["x", draw(st.sampled_from(["==", "!=", "<"])), draw(INTS)])
    return where


@settings(max_examples=300, deadline=None)
@given(
    st.lists(ROWS, max_size=6),
    st.lists(st.tuples(st.sampled_from(["insert", "update", "delete"]), ROWS), max_size=4),
    st.lists(conditions(), min_size=1, max_size=4),
)
def test_indexed_select_equals_a_scan(committed: Any, changes: Any, wheres: Any) -> None:
    db = Database(DatabaseSchema.from_json(SCHEMA))
    for row in committed:  # one at a time: rows that break an index are refused
        result = execute(db, [{"op": "insert", "table": "T", "row": row_json(*row)}])
        if result.commit is not None:
            db.apply(result.commit)
    txn = Transaction(db)
    uuids = list(db.tables["T"].rows)
    for i, (op, row) in enumerate(changes):  # uncommitted changes, indexes not yet checked
        values = dict(zip(("name", "a", "b", "m", "x"), row, strict=True))
        data = {**db.tables["T"].defaults, **values}
        data["b"] = frozenset(data["b"])
        if op == "insert" or not uuids:
            txn.insert("T", f"00000000-0000-4000-8000-00000000000{i}", data)  # type: ignore[arg-type]
        else:
            target = uuids[i % len(uuids)]
            if txn.get("T", target) is None:
                continue
            if op == "update":
                txn.modify("T", target, data)
            else:
                txn.delete("T", target)
    table = db.schema.tables["T"]
    for where in wheres:
        cond = parse_condition(table, where)
        assert txn._indexed("T", cond) is not None
        got = txn.select("T", cond)
        want = [(u, d) for u, d in txn.scan("T") if cond.evaluate(d, u)]
        assert got == want, where


def test_no_index_for_partial_or_other_conditions() -> None:
    db = Database(DatabaseSchema.from_json(SCHEMA))
    txn = Transaction(db)
    table = db.schema.tables["T"]
    for where in (
        [["a", "==", 1]],
        [["name", "!=", "p"]],
        [["x", "==", 1]],
        [],
        [["name", "includes", "p"]],
    ):
        assert txn._indexed("T", parse_condition(table, where)) is None


def test_wait_on_an_indexed_name_sees_this_transactions_insert() -> None:
    db = Database(DatabaseSchema.from_json(SCHEMA))
    ins = {"op": "insert", "table": "T", "row": row_json("p", 0, frozenset(), {}, 0)}
    wait = {
        "op": "wait",
        "timeout": 0,
        "table": "T",
        "where": [["name", "==", "p"]],
        "columns": ["name"],
        "until": "==",
        "rows": [{"name": "p"}],
    }
    result = execute(db, [ins, wait])
    assert result.commit is not None, result.results
    db.apply(result.commit)
    rename = {"op": "update", "table": "T", "where": [["name", "==", "p"]], "row": {"name": "q"}}
    result = execute(db, [rename, wait])
    assert result.results[1]["error"] == "timed out"
