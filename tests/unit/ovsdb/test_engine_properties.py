"""Property tests: random transactions keep every invariant of the database.

1. Random sequences of valid and invalid operations on a schema with strong and weak
   references, root and non-root tables, indexes and maxRows. After every transaction,
   ``check_invariants`` recomputes from the rows alone what the engine maintains
   incrementally (reference counts, weak referrers, index maps) and checks that no strong
   or weak reference dangles, non-root rows are referenced, indexes are unique and maxRows
   holds; a failed transaction must have left the database exactly as it was.
2. A model check: ``select`` with random ``where`` clauses returns the rows a plain Python
   evaluation of the clauses picks.
3. Integer mutations against C arithmetic done by hand.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.ops import execute
from pyovn.ovsdb.types import INT_MAX, INT_MIN

from .conftest import check_invariants, snapshot

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NAMES = ["a", "b", "c", "d"]


def _ref(table: str, weak: bool = False, lo: int = 0, hi: Any = "unlimited") -> dict[str, Any]:
    key: dict[str, Any] = {"type": "uuid", "refTable": table}
    if weak:
        key["refType"] = "weak"
    return {"type": {"key": key, "min": lo, "max": hi}}


PROP_SCHEMA = {
    "name": "P",
    "version": "1.0.0",
    "tables": {
        # root, indexed on a small set of names so that collisions are common
        "R": {
            "isRoot": True,
            "columns": {
                "name": {"type": {"key": {"type": "string", "enum": ["set", NAMES]}}},
                "x": {"type": {"key": {"type": "integer", "minInteger": -3, "maxInteger": 3}}},
                "kids": _ref("N"),
                "w": _ref("N", weak=True),
                "wm": {
                    "type": {
                        "key": "string",
                        "value": {"type": "uuid", "refTable": "R", "refType": "weak"},
                        "min": 0,
                        "max": "unlimited",
                    }
                },
            },
            "indexes": [["name"]],
        },
        # non-root: chains of strong references (cascades, cycles) and a required weak one
        "N": {
            "columns": {
                "v": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 3}}},
                "next": _ref("N", lo=0, hi=1),
                "owner": _ref("R", weak=True, lo=1, hi=1),
            }
        },
        # root, capped at three rows, with an index and a strong reference
        "C": {
            "isRoot": True,
            "maxRows": 3,
            "columns": {
                "k": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 4}}},
                "ref": _ref("N", lo=0, hi=1),
            },
            "indexes": [["k"]],
        },
    },
}

MISSING = "0badbad0-0000-4000-8000-000000000000"


# ---------------------------------------------------------------------------- generation


class TxnBuilder:
    """Draws the operations of one transaction against the current database.

    Most choices are valid; a few are not (a value out of range, a reference to a missing
    row, a name or key already taken, a wait that does not hold, an abort), so that both
    commits and every kind of failure happen often.
    """

    def __init__(self, data: st.DataObject, db: Database) -> None:
        self.data = data
        self.existing = {t: sorted(db.tables[t].rows) for t in db.tables}
        self.used_names = {r.data["name"] for r in db.rows("R")}
        self.named: dict[str, list[str]] = {"R": [], "N": [], "C": []}
        self.ops: list[dict[str, Any]] = []

    def draw(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.data.draw(strategy)

    def rarely(self) -> bool:
        return self.draw(st.integers(0, 11)) == 0

    def ref(self, table: str) -> Any:
        """A reference to a row of ``table``: existing, named in this txn, or (rarely) missing."""
        choices: list[Any] = [["uuid", u] for u in self.existing[table]]
        choices += [["named-uuid", n] for n in self.named[table]]
        if not choices or self.rarely():
            return ["uuid", MISSING]
        return self.draw(st.sampled_from(choices))

    def ref_set(self, table: str, max_size: int = 2) -> Any:
        refs = [self.ref(table) for _ in range(self.draw(st.integers(0, max_size)))]
        unique = {json.dumps(r): r for r in refs}
        return ["set", list(unique.values())]

    def name(self) -> str:
        free = [n for n in NAMES if n not in self.used_names]
        if free and not self.rarely():
            name = self.draw(st.sampled_from(free))
        else:
            name = self.draw(st.sampled_from(NAMES))  # probably taken: an index conflict
        self.used_names.add(name)
        return name

    def x(self) -> int:
        return 7 if self.rarely() else self.draw(st.integers(-3, 3))  # 7 is out of range

    def where(self, table: str) -> list[Any]:
        rows = self.existing[table]
        kind = self.draw(st.integers(0, 3))
        if kind == 0 and rows:
            return [["_uuid", "==", ["uuid", self.draw(st.sampled_from(rows))]]]
        if kind == 1:
            column, values = {"R": ("x", range(-3, 4)), "N": ("v", range(4)), "C": ("k", range(5))}[
                table
            ]
            function = self.draw(st.sampled_from(["==", "!=", "<", ">="]))
            return [[column, function, self.draw(st.sampled_from(list(values)))]]
        if kind == 2 and table == "R":
            return [["name", "==", self.draw(st.sampled_from(NAMES))]]
        return []

    def insert_r(self) -> None:
        name = f"r{len(self.ops)}"
        row: dict[str, Any] = {"name": self.name(), "x": self.x()}
        if self.draw(st.booleans()):
            row["kids"] = self.ref_set("N")
        if self.draw(st.booleans()):
            row["w"] = self.ref_set("N")
        if self.draw(st.booleans()):
            row["wm"] = ["map", [["k", self.ref("R")]]]
        self.ops.append({"op": "insert", "table": "R", "row": row, "uuid-name": name})
        self.named["R"].append(name)

    def insert_n(self) -> str:
        name = f"n{len(self.ops)}"
        row: dict[str, Any] = {"v": self.draw(st.integers(0, 3)), "owner": self.ref("R")}
        if self.draw(st.booleans()):
            row["next"] = self.ref_set("N", 1)
        self.ops.append({"op": "insert", "table": "N", "row": row, "uuid-name": name})
        self.named["N"].append(name)
        return name

    def link(self, name: str) -> None:
        """Make something hold the N row called ``name`` (else it is garbage at once)."""
        how = self.draw(st.sampled_from(["R", "C", "N"]))
        target = ["named-uuid", name]
        if how == "R" and (self.existing["R"] or self.named["R"]):
            holders = [["uuid", u] for u in self.existing["R"]]
            holders += [["named-uuid", n] for n in self.named["R"]]
            holder = self.draw(st.sampled_from(holders))
            self.ops.append(
                {
                    "op": "mutate",
                    "table": "R",
                    "where": [["_uuid", "==", holder]],
                    "mutations": [["kids", "insert", ["set", [target]]]],
                }
            )
        elif how == "N" and self.existing["N"]:
            holder = self.draw(st.sampled_from(self.existing["N"]))
            self.ops.append(
                {
                    "op": "update",
                    "table": "N",
                    "where": [["_uuid", "==", ["uuid", holder]]],
                    "row": {"next": target},
                }
            )
        else:
            self.ops.append(
                {
                    "op": "insert",
                    "table": "C",
                    "row": {"k": self.draw(st.integers(0, 4)), "ref": target},
                }
            )

    def op(self) -> None:
        kind = self.draw(
            st.sampled_from(
                [
                    "insert R",
                    "insert N and link",
                    "insert N and link",
                    "insert N",
                    "insert C",
                    "delete",
                    "delete",
                    "update R",
                    "update N",
                    "update C",
                    "mutate R",
                    "mutate N",
                    "select",
                    "rare",
                ]
            )
        )
        op: dict[str, Any]
        if kind == "insert R":
            self.insert_r()
            return
        if kind == "insert N and link":
            self.link(self.insert_n())
            return
        if kind == "insert N":
            self.insert_n()
            return
        if kind == "insert C":
            row = {"k": self.draw(st.integers(0, 4))}
            if self.draw(st.booleans()):
                row["ref"] = self.ref_set("N", 1)
            op = {"op": "insert", "table": "C", "row": row}
        elif kind == "delete":
            table = self.draw(st.sampled_from(["R", "N", "C"]))
            op = {"op": "delete", "table": table, "where": self.where(table)}
        elif kind == "update R":
            row = self.draw(
                st.sampled_from(
                    [
                        {"x": self.x()},
                        {"name": self.name()},
                        {"kids": self.ref_set("N")},
                        {"w": self.ref_set("N")},
                    ]
                )
            )
            op = {"op": "update", "table": "R", "where": self.where("R"), "row": row}
        elif kind == "update N":
            row = self.draw(
                st.sampled_from(
                    [
                        {"v": self.draw(st.integers(0, 3))},
                        {"next": self.ref_set("N", 1)},
                        {"owner": self.ref("R")},
                    ]
                )
            )
            op = {"op": "update", "table": "N", "where": self.where("N"), "row": row}
        elif kind == "update C":
            row = {"k": self.draw(st.integers(0, 4))}
            op = {"op": "update", "table": "C", "where": self.where("C"), "row": row}
        elif kind == "mutate R":
            mutation = self.draw(
                st.sampled_from(
                    [
                        ["x", "+=", self.draw(st.integers(-1, 1))],
                        ["kids", "insert", self.ref_set("N")],
                        ["kids", "delete", self.ref_set("N")],
                        ["w", "insert", self.ref_set("N")],
                        ["wm", "delete", ["set", ["k"]]],
                    ]
                )
            )
            op = {"op": "mutate", "table": "R", "where": self.where("R"), "mutations": [mutation]}
        elif kind == "mutate N":
            mutation = ["v", self.draw(st.sampled_from(["+=", "-="])), 1]
            op = {"op": "mutate", "table": "N", "where": self.where("N"), "mutations": [mutation]}
        elif kind == "select":
            op = {"op": "select", "table": self.draw(st.sampled_from(["R", "N", "C"])), "where": []}
        elif self.draw(st.booleans()):
            rows = [{"name": n} for n in self.draw(st.lists(st.sampled_from(NAMES), max_size=3))]
            op = {
                "op": "wait",
                "table": "R",
                "where": [],
                "columns": ["name"],
                "until": self.draw(st.sampled_from(["==", "!="])),
                "rows": rows,
                "timeout": 0,
            }
        else:
            op = {"op": "abort"}
        self.ops.append(op)


class Stamper:
    """Gives every inserted row a UUID from a counter, so that each example replays exactly.

    (Drawing depends on the rows present, sorted by UUID; random UUIDs would make
    hypothesis see a different test each run.)
    """

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for op in ops:
            if op.get("op") == "insert" and "uuid" not in op:
                self.n += 1
                op["uuid"] = f"{self.n:08x}-0000-4000-8000-000000000000"
        return ops


def prop_db(seed: bool = False) -> Database:
    db = Database(DatabaseSchema.from_json(PROP_SCHEMA))
    if seed:
        result = execute(db, SEED)
        assert result.commit is not None, result.results
        db.apply(result.commit)
    return db


def _seed_uuid(name: str) -> str:
    return {"ra": "5eed0001", "rb": "5eed0002", "n1": "5eed0003", "n2": "5eed0004"}.get(
        name, "5eed0005"
    ) + "-0000-4000-8000-000000000000"


def _insert(table: str, name: str, row: dict[str, Any]) -> dict[str, Any]:
    return {"op": "insert", "table": table, "uuid": _seed_uuid(name), "row": row}


def _to(name: str) -> list[str]:
    return ["uuid", _seed_uuid(name)]


# A starting state with something of everything: chains, sharing, weak references.
SEED: list[dict[str, Any]] = [
    _insert("R", "ra", {"name": "a", "kids": _to("n1")}),
    _insert("R", "rb", {"name": "b", "x": 1, "w": _to("n2"), "wm": ["map", [["k", _to("ra")]]]}),
    _insert("N", "n1", {"v": 0, "owner": _to("ra"), "next": _to("n2")}),
    _insert("N", "n2", {"v": 1, "owner": _to("rb")}),
    _insert("N", "n3", {"v": 2, "owner": _to("ra")}),
    {
        "op": "insert",
        "table": "C",
        "row": {"k": 0, "ref": _to("n3")},
        "uuid": "5eed0006" + "-0000-4000-8000-000000000000",
    },
    {
        "op": "insert",
        "table": "C",
        "row": {"k": 1, "ref": _to("n2")},
        "uuid": "5eed0007" + "-0000-4000-8000-000000000000",
    },
]


def check_result(db: Database, ops: list[Any], before: Any, result: Any) -> bool:
    """Check one transaction's outcome; True if it committed."""
    assert not result.blocked  # every wait has a zero timeout
    if result.commit is not None:
        assert len(result.results) == len(ops)
        assert not any(isinstance(r, dict) and "error" in r for r in result.results)
        db.apply(result.commit)
        event("committed" if result.commit.changes else "committed, no change")
        return True
    assert snapshot(db) == before, "a failed transaction changed the database"
    errors = [i for i, r in enumerate(result.results) if isinstance(r, dict) and "error" in r]
    assert len(errors) == 1
    event(f"failed: {result.results[errors[0]]['error']}")
    assert len(result.results) in (len(ops), len(ops) + 1)
    assert all(r is None for r in result.results[errors[0] + 1 :])
    return False


# ---------------------------------------------------------------------------- 1. invariants


@SETTINGS
@given(st.data())
def test_random_transactions_keep_every_invariant(data: st.DataObject) -> None:
    db = prop_db(seed=data.draw(st.booleans(), label="seeded"))
    stamp = Stamper()
    check_invariants(db)
    committed = db.n_commits
    for _ in range(data.draw(st.integers(1, 10), label="transactions")):
        builder = TxnBuilder(data, db)
        for _ in range(data.draw(st.integers(1, 5), label="operations")):
            builder.op()
        before = snapshot(db)
        result = execute(db, stamp(builder.ops))
        committed += check_result(db, builder.ops, before, result)
        check_invariants(db)
    assert db.n_commits == committed


@SETTINGS
@given(st.data())
def test_valid_transactions_commit_and_keep_every_invariant(data: st.DataObject) -> None:
    """Transactions built to be valid must commit (so the invariant test is not vacuous)."""
    db = prop_db()
    stamp = Stamper()
    for round_no in range(data.draw(st.integers(1, 6))):
        free_names = sorted(set(NAMES) - {r.data["name"] for r in db.rows("R")})
        ops: list[dict[str, Any]] = []
        target: str | None = None  # an existing R to hang the new chain on
        if free_names:
            name = data.draw(st.sampled_from(free_names))
            ops.append({"op": "insert", "table": "R", "row": {"name": name}, "uuid-name": "r"})
            owner: Any = ["named-uuid", "r"]
        else:
            target = data.draw(st.sampled_from(sorted(db.tables["R"].rows)))
            owner = ["uuid", target]
        depth = data.draw(st.integers(1, 3))
        for j in range(depth):
            row: dict[str, Any] = {"v": j, "owner": owner}
            if j:
                row["next"] = ["named-uuid", f"n{round_no}_{j - 1}"]
            ops.append({"op": "insert", "table": "N", "row": row, "uuid-name": f"n{round_no}_{j}"})
        kids = ["set", [["named-uuid", f"n{round_no}_{depth - 1}"]]]
        where = [["_uuid", "==", ["named-uuid", "r"] if target is None else ["uuid", target]]]
        ops.append(
            {"op": "mutate", "table": "R", "where": where, "mutations": [["kids", "insert", kids]]}
        )
        victims = [
            uuid
            for uuid in sorted(db.tables["R"].rows)
            # an R that weakly owns an N cannot go without it: choose one that owns nothing
            if uuid != target and not any(n.data["owner"] == uuid for n in db.rows("N"))
        ]
        if victims and data.draw(st.booleans()):
            victim = data.draw(st.sampled_from(victims))
            ops.append({"op": "delete", "table": "R", "where": [["_uuid", "==", ["uuid", victim]]]})
        result = execute(db, stamp(ops))
        assert result.commit is not None, result.results
        db.apply(result.commit)
        check_invariants(db)
        chain = [
            r["uuid"][1] for op, r in zip(ops, result.results, strict=True) if op["table"] == "N"
        ]
        assert len(chain) == depth
        assert all(db.row("N", uuid) is not None for uuid in chain)  # kept alive by the R


# ---------------------------------------------------------------------------- 2. select model

MODEL_SCHEMA = {
    "name": "M",
    "version": "1.0.0",
    "tables": {
        "M": {
            "columns": {
                "i": {"type": "integer"},
                "r": {"type": "real"},
                "s": {"type": "string"},
                "b": {"type": "boolean"},
                "o": {"type": {"key": "integer", "min": 0, "max": 1}},
                "st": {"type": {"key": "integer", "min": 0, "max": "unlimited"}},
                "mp": {"type": {"key": "string", "value": "integer", "min": 0, "max": "unlimited"}},
            }
        }
    },
}

SMALL_INT = st.integers(0, 3)
SMALL_REAL = st.sampled_from([0.0, 0.5, 1.0, 2.5])
SMALL_STR = st.sampled_from(["", "a", "b"])
INT_SET = st.frozensets(SMALL_INT, max_size=3)
STR_INT_MAP = st.dictionaries(st.sampled_from(["k", "l", "m"]), SMALL_INT, max_size=3)


@st.composite
def model_rows(draw: Any) -> list[dict[str, Any]]:
    return draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "i": SMALL_INT,
                    "r": SMALL_REAL,
                    "s": SMALL_STR,
                    "b": st.booleans(),
                    "o": st.frozensets(SMALL_INT, max_size=1),
                    "st": INT_SET,
                    "mp": STR_INT_MAP,
                }
            ),
            max_size=8,
        )
    )


def to_json(column: str, value: Any) -> Any:
    if column in ("o", "st"):
        return ["set", sorted(value)]
    if column == "mp":
        return ["map", sorted([k, v] for k, v in value.items())]
    return value


ORDERED = ["<", "<=", "==", "!=", ">=", ">"]


@st.composite
def clauses(draw: Any) -> tuple[str, str, Any]:
    """(column, function, Python value) for a clause valid for that column."""
    column = draw(st.sampled_from(["i", "r", "s", "b", "o", "st", "mp"]))
    if column in ("i", "r"):
        function = draw(st.sampled_from([*ORDERED, "includes", "excludes"]))
        value = draw(SMALL_INT if column == "i" else SMALL_REAL)
    elif column in ("s", "b"):
        function = draw(st.sampled_from(["==", "!=", "includes", "excludes"]))
        value = draw(SMALL_STR if column == "s" else st.booleans())
    elif column == "o":
        function = draw(st.sampled_from([*ORDERED, "includes", "excludes"]))
        if function in ("<", "<=", ">", ">="):
            value = frozenset({draw(SMALL_INT)})  # exactly one atom
        elif function == "excludes":
            value = draw(st.frozensets(SMALL_INT, max_size=3))
        else:
            value = draw(st.frozensets(SMALL_INT, max_size=1))
    elif column == "st":
        function = draw(st.sampled_from(["==", "!=", "includes", "excludes"]))
        value = draw(INT_SET)
    else:
        function = draw(st.sampled_from(["==", "!=", "includes", "excludes"]))
        value = draw(STR_INT_MAP)
    return column, function, value


def model_eval(row: dict[str, Any], column: str, function: str, value: Any) -> bool:
    """RFC 7047 (with ovsdb-server's optional-scalar rules), written out plainly."""
    have = row[column]
    if column == "o" and function in ("<", "<=", ">", ">="):
        if not have:
            return False
        (have,) = have
        (value,) = value
    compare = {
        "<": lambda: have < value,
        "<=": lambda: have <= value,
        ">": lambda: have > value,
        ">=": lambda: have >= value,
    }
    if function in compare:
        return compare[function]()
    if function == "==":
        return have == value
    if function == "!=":
        return have != value
    if column == "mp":
        pairs = set(have.items())
        wanted = set(value.items())
        return wanted <= pairs if function == "includes" else not (wanted & pairs)
    if column in ("o", "st"):
        return value <= have if function == "includes" else not (value & have)
    return have == value if function == "includes" else have != value


@SETTINGS
@given(model_rows(), st.lists(st.lists(clauses(), max_size=3), min_size=1, max_size=4), st.data())
def test_select_matches_a_python_model(rows, wheres, data: st.DataObject) -> None:
    db = Database(DatabaseSchema.from_json(MODEL_SCHEMA))
    ops = [
        {"op": "insert", "table": "M", "row": {c: to_json(c, v) for c, v in row.items()}}
        for row in rows
    ]
    result = execute(db, ops)
    assert result.commit is not None, result.results
    db.apply(result.commit)
    uuids = [r["uuid"][1] for r in result.results]
    for where in wheres:
        where_js: list[Any] = [[c, f, to_json(c, v)] for c, f, v in where]
        constant = data.draw(st.sampled_from([None, True, False]))
        if constant is not None:
            where_js.append(constant)
        (got,) = execute(
            db, [{"op": "select", "table": "M", "where": where_js, "columns": ["_uuid"]}]
        ).results
        expected = {
            uuid
            for uuid, row in zip(uuids, rows, strict=True)
            if constant is not False and all(model_eval(row, c, f, v) for c, f, v in where)
        }
        assert {r["_uuid"][1] for r in got["rows"]} == expected, where_js
        # a column list gives distinct rows: exactly the distinct values the model picks
        (proj,) = execute(
            db, [{"op": "select", "table": "M", "where": where_js, "columns": ["i", "b"]}]
        ).results
        values = [(r["i"], r["b"]) for r in proj["rows"]]
        assert len(values) == len(set(values))
        assert set(values) == {
            (row["i"], row["b"])
            for row in rows
            if constant is not False and all(model_eval(row, c, f, v) for c, f, v in where)
        }


# ---------------------------------------------------------------------------- 3. arithmetic


def c_arith(mutator: str, a: int, b: int) -> int | str:
    """The result of a C int64 mutation, or the name of the error."""
    if mutator in ("/=", "%=") and b == 0:
        return "domain error"
    if mutator == "+=":
        r = a + b
    elif mutator == "-=":
        r = a - b
    elif mutator == "*=":
        r = a * b
    else:
        q = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)  # truncate toward zero
        r = q if mutator == "/=" else a - b * q
        if a == INT_MIN and b == -1:
            return "range error"
    return r if INT_MIN <= r <= INT_MAX else "range error"


EDGE_INTS = st.sampled_from([0, 1, -1, 2, -2, 7, -7, INT_MAX, INT_MIN, INT_MAX - 1, INT_MIN + 1])


@SETTINGS
@given(
    st.sampled_from(["+=", "-=", "*=", "/=", "%="]),
    st.integers(INT_MIN, INT_MAX) | EDGE_INTS,
    st.integers(INT_MIN, INT_MAX) | EDGE_INTS,
)
def test_integer_mutations_follow_c_arithmetic(mutator: str, a: int, b: int) -> None:
    db = Database(DatabaseSchema.from_json(MODEL_SCHEMA))
    ops = [
        {"op": "insert", "table": "M", "row": {"i": a}},
        {"op": "mutate", "table": "M", "where": [], "mutations": [["i", mutator, b]]},
        {"op": "select", "table": "M", "where": [], "columns": ["i"]},
    ]
    result = execute(db, ops)
    expected = c_arith(mutator, a, b)
    if isinstance(expected, str):
        assert result.commit is None
        assert result.results[1]["error"] == expected
    else:
        assert result.results[2] == {"rows": [{"i": expected}]}
