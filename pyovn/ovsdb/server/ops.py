"""Executes an RFC 7047 ``transact`` request: every operation, then the commit checks.

``execute`` never changes the database: it returns the result array and, on success, a
``Commit`` for the caller to write to storage and apply.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from pyovn.ovsdb.condition import Condition, parse_condition
from pyovn.ovsdb.data import ZERO_UUID, datum_from_json, datum_to_json, new_uuid
from pyovn.ovsdb.errors import OvsdbError, constraint_violation, syntax_error
from pyovn.ovsdb.jsonio import dumps
from pyovn.ovsdb.mutation import apply_mutation, parse_mutation
from pyovn.ovsdb.readers import ref_reader, row_reader
from pyovn.ovsdb.schema import UUID_TYPE, ColumnSchema, TableSchema
from pyovn.ovsdb.server.db import Commit, Database, RowData
from pyovn.ovsdb.server.txn import Transaction
from pyovn.ovsdb.types import ID_RE, Uuid, is_valid_uuid


@dataclass(slots=True)
class ExecResult:
    results: list[Any]
    commit: Commit | None = None  # set when every operation and the commit checks passed
    blocked: bool = False  # a "wait" is not satisfied yet: run again after the next change

    @property
    def ok(self) -> bool:
        return self.commit is not None


class _OpSyntaxError(OvsdbError):
    """A malformed operation: reported as "Parsing ovsdb operation N of M failed: ..."."""

    def __init__(self, details: str, syntax: Any = None) -> None:
        super().__init__("syntax error", details, syntax)


class _Blocked(Exception):
    pass


class _Op:
    """Member access for one operation object, with the parser's errors."""

    __slots__ = ("js", "used")

    def __init__(self, js: dict[str, Any]) -> None:
        self.js = js
        self.used = {"op"}

    def get(self, name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
        self.used.add(name)
        if name not in self.js:
            if required:
                raise _OpSyntaxError(f"Required '{name}' member is missing.", self.js)
            return None
        value = self.js[name]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int, float))):
            raise _OpSyntaxError(f"Type mismatch for member '{name}'.", self.js)
        return value

    def table(self, db: Database) -> TableSchema:
        name = self.get("table", str)
        table = db.schema.tables.get(name)
        if table is None:
            raise _OpSyntaxError(f"No table named {name}.", self.js)
        return table

    def finish(self) -> None:
        extra = sorted(set(self.js) - self.used)
        if extra:
            raise _OpSyntaxError(f"Member '{extra[0]}' is present but not allowed here.", self.js)


class _Context:
    __slots__ = ("db", "elapsed_ms", "locks", "txn")

    def __init__(self, db: Database, locks: Collection[str], elapsed_ms: float) -> None:
        self.db = db
        self.txn = Transaction(db)
        self.locks = locks
        self.elapsed_ms = elapsed_ms


def execute(
    db: Database,
    operations: list[Any],
    *,
    locks: Collection[str] = (),
    elapsed_ms: float = 0.0,
) -> ExecResult:
    """Run ``operations`` (the transact params after the database name) as one transaction.

    ``elapsed_ms`` is the time since the request arrived, for "wait" timeouts; ``locks``
    are the locks the session holds, for "assert".
    """
    ctx = _Context(db, locks, elapsed_ms)
    results: list[Any] = []
    n = len(operations)
    error: OvsdbError | None = None
    for i, op_js in enumerate(operations):
        try:
            if not isinstance(op_js, dict):
                raise _OpSyntaxError("Object expected.")
            op = _Op(op_js)
            name = op.get("op", str)
            handler = _HANDLERS.get(name)
            if handler is None:
                raise _OpSyntaxError(f'No operation "{name}"', op_js)
            try:
                result = handler(ctx, op)
            except _OpSyntaxError:
                raise
            except (OvsdbError, _Blocked):
                op.finish()  # as in ovsdb-server, a member that is not allowed is reported first
                raise
            op.finish()
        except _Blocked:
            return ExecResult([], None, blocked=True)
        except _OpSyntaxError as exc:
            exc.details = f"Parsing ovsdb operation {i + 1} of {n} failed: {exc.details}"
            error = exc
        except OvsdbError as exc:
            error = exc
        if error is not None:
            results.append(error.to_json())
            break
        results.append(result)
    commit: Commit | None = None
    if error is None:
        try:
            commit = ctx.txn.commit()
        except OvsdbError as exc:
            results.append(exc.to_json())
    while len(results) < n:
        results.append(None)
    return ExecResult(results, commit)


# ---------------------------------------------------------------------------- rows


def _parse_row(
    ctx: _Context, table: TableSchema, row_js: Any, *, for_update: bool, op_js: Any = None
) -> dict[str, Any]:
    if not isinstance(row_js, dict):
        raise syntax_error("row must be a JSON object", row_js)
    out: dict[str, Any] = {}
    readers = _readers(table)
    for name, value_js in row_js.items():
        found = readers.get(name)
        if found is None:
            raise OvsdbError("unknown column", f"No column {name} in table {table.name}.", row_js)
        column, reader, refs = found
        if for_update and not column.mutable:  # _uuid and _version are immutable too
            raise constraint_violation(
                f"Cannot update immutable column {name} in table {table.name}.", op_js
            )
        if name.startswith("_"):
            continue
        if reader is not None:
            out[name] = reader(value_js)
            continue
        datum = refs(value_js) if refs is not None else None
        if datum is None:
            datum = datum_from_json(column.type, value_js, ctx.txn.symtab)
        out[name] = datum
    return out


_ColumnReaders = dict[str, tuple[ColumnSchema, Any, Any]]
_READERS: dict[int, tuple[TableSchema, _ColumnReaders]] = {}


def _readers(table: TableSchema) -> _ColumnReaders:
    """Each column's schema and readers (row_reader, ref_reader), once per table schema
    (the readers' own caches hash the column types, which costs more than the read)."""
    hit = _READERS.get(id(table))
    if hit is not None and hit[0] is table:
        return hit[1]
    readers = {
        name: (column, row_reader(column.type), ref_reader(column.type))
        for name, column in table.all_columns.items()
    }
    _READERS[id(table)] = (table, readers)
    return readers


def _row_json(
    table: TableSchema, uuid: Uuid, version: Uuid | None, data: RowData, columns: list[str] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    names = columns if columns is not None else ["_uuid", "_version", *table.columns]
    for name in names:
        if name == "_uuid":
            out[name] = ["uuid", uuid]
        elif name == "_version":
            out[name] = ["uuid", version] if version is not None else ["uuid", uuid]
        else:
            out[name] = datum_to_json(table.columns[name].type, data[name])
    return out


def _columns(table: TableSchema, columns: list[Any] | None) -> list[str] | None:
    if columns is None:
        return None
    for name in columns:
        if not isinstance(name, str) or name not in table.all_columns:
            raise syntax_error(f"{name} is not a valid column name", columns)
    if len(set(columns)) != len(columns):
        raise syntax_error("array of distinct column names expected", columns)
    return columns


def _where(ctx: _Context, table: TableSchema, where: list[Any]) -> Condition:
    # ovsdb-server accepts the boolean clauses true and false here too, not only in monitors
    return parse_condition(table, where, ctx.txn.symtab, allow_bool=True)


# ---------------------------------------------------------------------------- operations


def _insert(ctx: _Context, op: _Op) -> Any:
    table = op.table(ctx.db)
    uuid_name = op.get("uuid-name", str, required=False)
    if uuid_name is not None and not ID_RE.match(uuid_name):
        raise _OpSyntaxError("Type mismatch for member 'uuid-name'.", op.js)
    wanted = op.get("uuid", str, required=False)
    row_js = op.get("row", dict)
    uuid: Uuid | None = None
    if wanted is not None:
        if not is_valid_uuid(wanted.lower()):
            raise syntax_error("bad uuid", wanted)
        uuid = Uuid(wanted.lower())
        if ctx.txn.uuid_in_use(table.name, uuid):
            raise OvsdbError(
                "duplicate uuid",
                "This UUID would duplicate a UUID already present within the table or deleted "
                "within the same transaction.",
                wanted,
            )
    if uuid_name is not None:
        uuid = ctx.txn.symtab.create(uuid_name, uuid)
    elif uuid is None:
        uuid = new_uuid()
    row = _parse_row(ctx, table, row_js, for_update=False)
    data = dict(ctx.db.tables[table.name].defaults)
    data.update(row)
    ctx.txn.insert(table.name, uuid, data)
    return {"uuid": ["uuid", uuid]}


def _select(ctx: _Context, op: _Op) -> Any:
    table = op.table(ctx.db)
    where = op.get("where", list)
    columns_js = op.get("columns", list, required=False)
    cond = _where(ctx, table, where)
    columns = _columns(table, columns_js)
    rows = []
    seen: set[str] = set()
    for uuid, data in ctx.txn.select(table.name, cond):
        out = _row_json(table, uuid, ctx.txn.version(table.name, uuid), data, columns)
        if columns is not None:  # distinct rows, as ovsdb-server returns them
            key = dumps(out)
            if key in seen:
                continue
            seen.add(key)
        rows.append(out)
    return {"rows": rows}


def _update(ctx: _Context, op: _Op) -> Any:
    table = op.table(ctx.db)
    where = op.get("where", list)
    row_js = op.get("row", dict)
    cond = _where(ctx, table, where)
    row = _parse_row(ctx, table, row_js, for_update=True, op_js=op.js)
    count = 0
    for uuid, data in ctx.txn.select(table.name, cond):
        new = dict(data)
        new.update(row)
        ctx.txn.modify(table.name, uuid, new)
        count += 1
    return {"count": count}


def _mutate(ctx: _Context, op: _Op) -> Any:
    table = op.table(ctx.db)
    where = op.get("where", list)
    mutations_js = op.get("mutations", list)
    cond = _where(ctx, table, where)
    mutations = [parse_mutation(table, m, ctx.txn.symtab) for m in mutations_js]
    count = 0
    for uuid, data in ctx.txn.select(table.name, cond):
        new = dict(data)
        for mutation in mutations:
            name = mutation.column.name
            new[name] = apply_mutation(mutation, new[name])
        ctx.txn.modify(table.name, uuid, new)
        count += 1
    return {"count": count}


def _delete(ctx: _Context, op: _Op) -> Any:
    table = op.table(ctx.db)
    cond = _where(ctx, table, op.get("where", list))
    rows = ctx.txn.select(table.name, cond)
    for uuid, _ in rows:
        ctx.txn.delete(table.name, uuid)
    return {"count": len(rows)}


def _wait(ctx: _Context, op: _Op) -> Any:
    timeout = op.get("timeout", int, required=False)
    table = op.table(ctx.db)
    where = op.get("where", list)
    columns_js = op.get("columns", list, required=False)
    until = op.get("until", str)
    rows_js = op.get("rows", list)
    cond = _where(ctx, table, where)
    # without "columns", every column counts, _uuid and _version included (as in ovsdb-server)
    columns = _columns(table, columns_js) or list(table.all_columns)
    if until not in ("==", "!="):
        raise syntax_error('"until" must be "==" or "!="', until)
    if timeout is not None and timeout < 0:
        raise syntax_error("timeout must be nonnegative", timeout)
    # Each expected row is a whole row (defaults for the columns it leaves out) compared on
    # ``columns``; its _uuid may be given, its _version never matches a real row's.
    defaults = ctx.db.tables[table.name].defaults
    expected: set[str] = set()
    for row_js in rows_js:
        data = dict(defaults)
        data.update(_parse_row(ctx, table, row_js, for_update=False))
        uuid = ZERO_UUID
        if "_uuid" in row_js:
            uuid = datum_from_json(UUID_TYPE, row_js["_uuid"], ctx.txn.symtab)
        expected.add(_projection(table, columns, uuid, None, data))
    actual: set[str] = set()
    for uuid, data in ctx.txn.select(table.name, cond):
        version = ctx.txn.version(table.name, uuid) or "new"
        actual.add(_projection(table, columns, uuid, version, data))
    if (actual == expected) == (until == "=="):
        return {}
    if timeout is not None and ctx.elapsed_ms >= timeout:
        raise OvsdbError("timed out", '"where" clause test failed')
    raise _Blocked


def _projection(
    table: TableSchema, columns: list[str], uuid: str, version: str | None, data: RowData
) -> str:
    values: list[Any] = []
    for name in columns:
        if name == "_uuid":
            values.append(uuid)
        elif name == "_version":
            values.append(version)
        else:
            values.append(datum_to_json(table.columns[name].type, data[name]))
    return dumps(values)


def _commit(ctx: _Context, op: _Op) -> Any:
    durable = op.get("durable", bool)
    if durable:
        ctx.txn.durable = True
    return {}


def _abort(ctx: _Context, op: _Op) -> Any:
    op.finish()
    raise OvsdbError("aborted", "aborted by request")


def _comment(ctx: _Context, op: _Op) -> Any:
    ctx.txn.comments.append(op.get("comment", str))
    return {}


def _assert(ctx: _Context, op: _Op) -> Any:
    lock = op.get("lock", str)
    if lock not in ctx.locks:
        raise OvsdbError("not owner", f"Asserted lock {lock} not held.")
    return {}


_HANDLERS: dict[str, Callable[[_Context, _Op], Any]] = {
    "insert": _insert,
    "select": _select,
    "update": _update,
    "mutate": _mutate,
    "delete": _delete,
    "wait": _wait,
    "commit": _commit,
    "abort": _abort,
    "comment": _comment,
    "assert": _assert,
}
