"""Shared pieces for the OVSDB engine tests: a test schema, and helpers to run transactions.

The helpers are plain functions (import them with ``from .conftest import ...``); the
fixtures ``engine_schema`` and ``engine_db`` give a fresh schema and empty database.

``fail`` is the workhorse of the error tests: it runs a transaction that must fail and
checks on the way that nothing changed (rows, versions, reference counts, weak referrers,
index maps) and that the result array is padded with null after the error.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pyovn.ovsdb.data import check_atom, datum_refs
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.ops import ExecResult, execute

U0 = "00000000-0000-0000-0000-000000000000"
UA = "aaaaaaaa-0000-4000-8000-000000000001"
UB = "bbbbbbbb-0000-4000-8000-000000000002"
UC = "cccccccc-0000-4000-8000-000000000003"
MISSING = "12345678-1234-4234-8234-123456789abc"


def _set(key: Any, lo: int = 0, hi: Any = "unlimited") -> dict[str, Any]:
    return {"type": {"key": key, "min": lo, "max": hi}}


def _ref(table: str, weak: bool = False) -> dict[str, Any]:
    out = {"type": "uuid", "refTable": table}
    if weak:
        out["refType"] = "weak"
    return out


ENGINE_SCHEMA: dict[str, Any] = {
    "name": "T",
    "version": "1.2.3",
    "tables": {
        # every atomic type and constraint, and every column shape
        "Atoms": {
            "isRoot": True,
            "columns": {
                "i": {"type": "integer"},
                "r": {"type": "real"},
                "b": {"type": "boolean"},
                "s": {"type": "string"},
                "u": {"type": "uuid"},
                "irange": {
                    "type": {"key": {"type": "integer", "minInteger": -10, "maxInteger": 10}}
                },
                "rrange": {"type": {"key": {"type": "real", "minReal": -1.5, "maxReal": 2.5}}},
                "slen": _set({"type": "string", "minLength": 2, "maxLength": 4}, 0, 1),
                "color": _set({"type": "string", "enum": ["set", ["red", "green", "blue"]]}, 0, 1),
                "opt": _set("integer", 0, 1),
                "ropt": _set("real", 0, 1),
                "iset": _set("integer"),
                "rset": _set("real"),
                "sset": _set("string", 0, 3),
                "sset1": _set("string", 1, 2),
                "ibset": _set({"type": "integer", "minInteger": 0, "maxInteger": 100}),
                "smap": {
                    "type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}
                },
                "imap": {"type": {"key": "integer", "value": "string", "min": 0, "max": 2}},
                "frozen": {"type": "string", "mutable": False},
            },
        },
        # a root table holding strong and weak references, in sets and in maps
        "Parent": {
            "isRoot": True,
            "columns": {
                "name": {"type": "string"},
                "children": _set(_ref("Child")),
                "child": _set(_ref("Child"), 0, 1),
                "cmap": {
                    "type": {"key": "string", "value": _ref("Child"), "min": 0, "max": "unlimited"}
                },
                "targets": _set(_ref("Target", weak=True)),
                "wmap": {
                    "type": {
                        "key": "string",
                        "value": _ref("Target", weak=True),
                        "min": 0,
                        "max": "unlimited",
                    }
                },
            },
            "indexes": [["name"]],
        },
        # non-root: garbage-collected when nothing refers to it
        "Child": {
            "columns": {
                "name": {"type": "string"},
                "grand": _set(_ref("Grand")),
                "peers": _set(_ref("Child")),
                "wpeer": _set(_ref("Child", weak=True), 0, 1),
            }
        },
        "Grand": {"columns": {"n": {"type": "integer"}}},
        # a root table with two indexes, one over two columns
        "Target": {
            "isRoot": True,
            "columns": {"name": {"type": "string"}, "k": {"type": "integer"}},
            "indexes": [["name"], ["k", "name"]],
        },
        # weak references that may not become empty
        "Needy": {
            "isRoot": True,
            "columns": {
                "must": {"type": {"key": _ref("Target", weak=True)}},
                "other": {"type": "string"},
            },
        },
        "Limited": {"isRoot": True, "maxRows": 2, "columns": {"x": {"type": "integer"}}},
        # an index over two columns, and one over a set
        "Pair": {
            "isRoot": True,
            "columns": {"a": {"type": "integer"}, "b": {"type": "string"}, "c": _set("integer")},
            "indexes": [["a", "b"], ["c"]],
        },
    },
}


@pytest.fixture
def engine_schema() -> DatabaseSchema:
    return DatabaseSchema.from_json(copy.deepcopy(ENGINE_SCHEMA))


@pytest.fixture
def engine_db(engine_schema: DatabaseSchema) -> Database:
    return Database(engine_schema)


def new_db() -> Database:
    return Database(DatabaseSchema.from_json(copy.deepcopy(ENGINE_SCHEMA)))


# ---------------------------------------------------------------------------- running


def run(db: Database, ops: list[Any], **kwargs: Any) -> ExecResult:
    """Execute ``ops`` as one transaction and apply it if it succeeded."""
    result = execute(db, ops, **kwargs)
    if result.commit is not None:
        db.apply(result.commit)
    return result


def ok(db: Database, ops: list[Any], **kwargs: Any) -> list[Any]:
    """Run a transaction that must succeed; returns its results."""
    result = run(db, ops, **kwargs)
    assert result.commit is not None, result.results
    assert len(result.results) == len(ops)
    assert all(not (isinstance(r, dict) and "error" in r) for r in result.results)
    check_invariants(db)
    return result.results


def fail(db: Database, ops: list[Any], **kwargs: Any) -> dict[str, Any]:
    """Run a transaction that must fail; checks atomicity and returns the error object."""
    before = snapshot(db)
    result = run(db, ops, **kwargs)
    assert result.commit is None, result.results
    assert not result.blocked
    assert snapshot(db) == before, "a failed transaction changed the database"
    errors = [i for i, r in enumerate(result.results) if isinstance(r, dict) and "error" in r]
    assert len(errors) == 1, result.results
    # one result per operation, or one more when the commit itself failed
    assert len(result.results) in (len(ops), len(ops) + 1)
    assert all(r is None for r in result.results[errors[0] + 1 :])
    if len(result.results) == len(ops) + 1:
        assert errors[0] == len(ops), "an extra result must be the commit's error"
    return result.results[errors[0]]


def insert(table: str, row: dict[str, Any] | None = None, name: str | None = None, **kw: Any):
    op: dict[str, Any] = {"op": "insert", "table": table, "row": row or {}}
    if name is not None:
        op["uuid-name"] = name
    op.update(kw)
    return op


def select(table: str, where: list[Any] | None = None, columns: list[str] | None = None):
    op: dict[str, Any] = {"op": "select", "table": table, "where": where or []}
    if columns is not None:
        op["columns"] = columns
    return op


def rows_of(db: Database, table: str, *columns: str) -> list[Any]:
    """The committed rows of ``table`` as sorted tuples of ``columns`` (data, not JSON)."""
    out = [tuple(row.get(c) for c in columns) for row in db.tables[table].rows.values()]
    return sorted(out, key=repr)


def uuid_of(result: dict[str, Any]) -> str:
    assert result["uuid"][0] == "uuid"
    return result["uuid"][1]


# ---------------------------------------------------------------------------- checking


def snapshot(db: Database) -> Any:
    """Everything a transaction could change, in a form that compares by value.

    Includes the identity of every Row object: a failed transaction must not even
    replace a row with an equal one.
    """
    tables = {}
    for name, table in db.tables.items():
        rows = {
            uuid: (
                id(row),
                row.uuid,
                row.version,
                copy.deepcopy(row.data),
                row.n_refs,
                None if row.weak_in is None else dict(row.weak_in),
            )
            for uuid, row in table.rows.items()
        }
        tables[name] = (rows, [dict(m) for m in table.index_maps])
    return tables, db.last_txn_id, db.n_commits


def check_invariants(db: Database) -> None:
    """Every invariant of a committed database, recomputed from the rows alone."""
    tables = db.tables
    n_refs: dict[tuple[str, str], int] = {}
    weak_in: dict[tuple[str, str], dict[tuple[str, str], int]] = {}
    for tname, table in tables.items():
        for uuid in table.rows:
            n_refs[(tname, uuid)] = 0
            weak_in[(tname, uuid)] = {}
    for tname, table in tables.items():
        schema = table.schema
        assert len(table.rows) <= schema.max_rows, f"{tname} exceeds maxRows"
        for uuid, row in table.rows.items():
            assert row.uuid == uuid
            assert row.version is not None
            assert set(row.data) == set(schema.columns), f"{tname} row {uuid} columns"
            for col, cschema in schema.columns.items():
                ctype = cschema.type
                datum = row.data[col]
                _check_datum(ctype, datum, f"{tname}.{col}")
                for ref in datum_refs(ctype, datum, strong=True):
                    assert ref in n_refs, f"{tname} row {uuid} column {col}: dangling {ref}"
                    if ref != (tname, uuid):  # self-references don't count
                        n_refs[ref] += 1
                for ref in datum_refs(ctype, datum, strong=False):
                    assert ref in weak_in, f"{tname} row {uuid} column {col}: dangling weak {ref}"
                    source = (tname, uuid)
                    weak_in[ref][source] = weak_in[ref].get(source, 0) + 1
    for tname, table in tables.items():
        for uuid, row in table.rows.items():
            key = (tname, uuid)
            assert row.n_refs == n_refs[key], f"{key}: n_refs {row.n_refs} != {n_refs[key]}"
            assert (row.weak_in or {}) == weak_in[key], f"{key}: weak_in"
            if not table.schema.is_root:
                assert row.n_refs > 0, f"unreferenced non-root row {key}"
        for i, _columns in enumerate(table.schema.indexes):
            recount: dict[Any, str] = {}
            for uuid, row in table.rows.items():
                ikey = table.index_key(i, row.data)
                assert ikey not in recount, f"{tname} index {i}: duplicate {ikey}"
                recount[ikey] = uuid
            assert table.index_maps[i] == recount, f"{tname} index {i} map"


def _check_datum(ctype: Any, datum: Any, where: str) -> None:
    if ctype.is_scalar:
        check_atom(ctype.key, datum)
        return
    assert isinstance(datum, dict if ctype.is_map else frozenset), where
    assert ctype.min <= len(datum) <= ctype.max, f"{where}: size {len(datum)}"
    for atom in datum:
        check_atom(ctype.key, atom)
    if ctype.is_map:
        for value in datum.values():
            check_atom(ctype.value, value)
