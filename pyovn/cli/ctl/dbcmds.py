"""The generic database commands of OVS's ctl tools: list, find, get, set, add, remove,
clear, create, destroy, wait-until and comment (see "Database Commands" in ovn-nbctl(8))."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pyovn.cli.ctl.context import Ctx, NotYet
from pyovn.cli.ctl.names import IdRule, find_column, find_table, tables_for_ids
from pyovn.cli.ctl.options import UNLIMITED_ARGS, Command, CommandSpec
from pyovn.cli.ctl.output import render
from pyovn.cli.ctl.values import (
    CtlError,
    atom_text,
    datum_compare,
    datum_text,
    parse_atom,
    parse_datum,
    parse_elements,
    read_token,
    sort_key,
    token_atom,
)
from pyovn.ovsdb.client.replica import RowView
from pyovn.ovsdb.data import Datum
from pyovn.ovsdb.schema import UUID_TYPE, ColumnSchema, DatabaseSchema, TableSchema
from pyovn.ovsdb.types import UNLIMITED, Type, Uuid

ARITH_OPS = ("!=", "<=", ">=", "=", "<", ">")
SET_OPS = ("{not-in}", "{in}", "{!=}", "{<=}", "{>=}", "{=}", "{<}", "{>}")
ALL_OPS = SET_OPS + ARITH_OPS


# ---------------------------------------------------------------------------- arguments


def parse_column_arg(
    ctx: Ctx, table: TableSchema, arg: str, ops: tuple[str, ...] = ("=",)
) -> tuple[ColumnSchema, Any, str, str]:
    """``column[:key]OP value`` -> (column, key atom or None, OP, value text)."""
    i = 0
    while i < len(arg) and arg[i] not in ":=!<>{":
        i += 1
    if i == 0:
        raise CtlError(f"{arg}: missing column name")
    column = find_column(table, arg[:i], allow_builtin=len(ops) > 1)
    key: Any = None
    if arg[i : i + 1] == ":":
        if column.type.value is None:
            raise CtlError(f"cannot specify key for non-map column {column.name}")
        try:
            token, i = read_token(arg, i + 1, "map key")
        except CtlError:
            raise CtlError(f'{arg}: argument does not end in "=" followed by a value.') from None
        key = token_atom(column.type.key, token, ctx.symbol)
    for op in ops:
        if arg.startswith(op, i) and len(arg) > i + len(op):
            return column, key, op, arg[i + len(op) :]
    raise CtlError(f'{arg}: argument does not end in "=" followed by a value.')


def _columns(ctx: Ctx, table: TableSchema) -> list[tuple[str, Type]]:
    spec = ctx.cmd.value("--columns")
    if spec is None:
        names = ["_uuid", *sorted(table.columns)]
    else:
        names = [find_column(table, n, allow_builtin=True).name for n in spec.split(",") if n]
    return [(n, UUID_TYPE if n in ("_uuid", "_version") else table.columns[n].type) for n in names]


def _print_rows(ctx: Ctx, table: TableSchema, rows: Iterable[RowView]) -> None:
    columns = _columns(ctx, table)
    cells = [[(t, row.uuid if n == "_uuid" else row[n]) for n, t in columns] for row in rows]
    ctx.write(render([n for n, _ in columns], cells, ctx.opts))


def _sorted_rows(rows: Iterable[RowView]) -> list[RowView]:
    return sorted(rows, key=lambda r: sort_key(r.uuid))


# ---------------------------------------------------------------------------- queries


def cmd_list(ctx: Ctx) -> None:
    table = ctx.table(ctx.args[0])
    if len(ctx.args) > 1:
        rows = []
        for record in ctx.args[1:]:
            key = ctx.record(table.name, record, must_exist=not ctx.has("--if-exists"))
            if key is not None:
                rows.append(ctx.db.rows(table.name)[key])
    else:
        rows = _sorted_rows(ctx.db.rows(table.name).values())
    _print_rows(ctx, table, rows)


def cmd_find(ctx: Ctx) -> None:
    table = ctx.table(ctx.args[0])
    tests = [_condition(ctx, table, arg) for arg in ctx.args[1:]]
    rows = [r for r in ctx.db.rows(table.name).values() if all(t(r) for t in tests)]
    _print_rows(ctx, table, _sorted_rows(rows))


def cmd_get(ctx: Ctx) -> None:
    table = ctx.table(ctx.args[0])
    ident = ctx.cmd.value("--id")
    if ident is not None and ctx.has("--if-exists"):
        raise CtlError("--if-exists and --id may not be specified together")
    key = ctx.record(table.name, ctx.args[1], must_exist=not ctx.has("--if-exists"))
    if key is None:
        return
    if ident is not None:
        if not ident.startswith("@"):
            raise CtlError(f"{ident}: row id must begin with @")
        ctx.state.symbols[ident] = key
    row = ctx.db.rows(table.name)[key]
    for arg in ctx.args[2:]:
        name, _, key_text = arg.partition(":")
        column = find_column(table, name, allow_builtin=True)
        if column.name in ("_uuid", "_version"):
            ctx.line(str(key) if column.name == "_uuid" else "")
            continue
        if not key_text and ":" not in arg:
            ctx.line(datum_text(column.type, row[column.name]))
            continue
        if column.type.value is None:
            raise CtlError(f"cannot specify key to get for non-map column {column.name}")
        map_key = parse_atom(column.type.key, key_text, ctx.symbol)
        value = row[column.name].get(map_key)
        if value is None:
            if ctx.has("--if-exists"):
                ctx.line()
                continue
            raise CtlError(
                f'no key "{key_text}" in {table.name} record "{ctx.args[1]}" column {column.name}'
            )
        ctx.line(atom_text(column.type.value, value))


# ---------------------------------------------------------------------------- changes


def _target(ctx: Ctx) -> tuple[TableSchema, Any]:
    table = ctx.table(ctx.args[0])
    key = ctx.record(table.name, ctx.args[1], must_exist=not ctx.has("--if-exists"))
    if key is not None:
        ctx.db.verify_exists(table.name, key)
    return table, key


def _check_mutable(table: TableSchema, column: ColumnSchema, verb: str) -> None:
    if not column.mutable:
        raise CtlError(f"cannot {verb} read-only column {column.name} in table {table.name}")


def cmd_set(ctx: Ctx) -> None:
    table, key = _target(ctx)
    if key is None:
        return
    for arg in ctx.args[2:]:
        column, map_key, _, text = parse_column_arg(ctx, table, arg)
        _check_mutable(table, column, "modify")
        if map_key is None:
            ctx.db.write(table.name, key, {column.name: parse_datum(column.type, text, ctx.symbol)})
        else:
            assert column.type.value is not None
            value = parse_atom(column.type.value, text, ctx.symbol)
            ctx.db.set_map_keys(table.name, key, column.name, {map_key: value})


def cmd_add(ctx: Ctx) -> None:
    table, key = _target(ctx)
    if key is None:
        return
    column = find_column(table, ctx.args[2])
    _check_mutable(table, column, "modify")
    elements: Any = {} if column.type.is_map else frozenset()
    for text in ctx.args[3:]:
        more = parse_elements(column.type, text, ctx.symbol)
        elements = {**more, **elements} if column.type.is_map else elements | more
    ctx.db.add_elements(table.name, key, column.name, elements, "add")


def cmd_remove(ctx: Ctx) -> None:
    table, key = _target(ctx)
    if key is None:
        return
    column = find_column(table, ctx.args[2])
    _check_mutable(table, column, "modify")
    ctype = column.type
    for text in ctx.args[3:]:
        elements: Datum
        if ctype.is_map:
            try:
                elements = parse_elements(ctype, text, ctx.symbol)
            except CtlError:
                elements = parse_elements(Type(ctype.key, None, 0, UNLIMITED), text, ctx.symbol)
        else:
            elements = parse_elements(ctype, text, ctx.symbol)
        ctx.db.remove_elements(table.name, key, column.name, elements, "remove")


def cmd_clear(ctx: Ctx) -> None:
    table, key = _target(ctx)
    if key is None:
        return
    for name in ctx.args[2:]:
        column = find_column(table, name)
        _check_mutable(table, column, "modify")
        if column.type.min > 0:
            raise CtlError(
                f'"clear" operation cannot be applied to column {column.name} of table '
                f"{table.name}, which is not allowed to be empty"
            )
        empty: Datum = {} if column.type.is_map else frozenset()
        ctx.db.write(table.name, key, {column.name: empty})


def cmd_create(ctx: Ctx) -> None:
    table = ctx.table(ctx.args[0])
    ident = ctx.cmd.value("--id")
    values: dict[str, Datum] = {}
    for arg in ctx.args[1:]:
        column, map_key, _, text = parse_column_arg(ctx, table, arg)
        if map_key is None:
            values[column.name] = parse_datum(column.type, text, ctx.symbol)
        else:
            assert column.type.value is not None
            pairs = dict(values.get(column.name, {}))
            pairs[map_key] = parse_atom(column.type.value, text, ctx.symbol)
            values[column.name] = pairs
    uuid = None
    if ident is not None and not ident.startswith("@"):
        try:
            uuid = Uuid.parse(ident)
        except Exception:
            raise CtlError(f"{ident}: invalid UUID") from None
    if ident is None and not table.is_root:
        ctx.warn(
            f'applying "create" command to table {table.name} without --id option will '
            "have no effect"
        )
    named = ctx.db.insert(table.name, values, uuid)
    if ident is not None and ident.startswith("@"):
        ctx.state.symbols[ident] = named
        ctx.state.created[ident] = (named, table.name)
    ctx.line(atom_text(UUID_TYPE.key, named))


def cmd_destroy(ctx: Ctx) -> None:
    table = ctx.table(ctx.args[0])
    if ctx.has("--all"):
        if len(ctx.args) > 1:
            raise CtlError("--all and records argument should not be specified together")
        keys = list(ctx.db.rows(table.name))
    else:
        if len(ctx.args) < 2:
            raise CtlError("either --all or records argument should be specified")
        keys = []
        for record in ctx.args[1:]:
            key = ctx.record(table.name, record, must_exist=not ctx.has("--if-exists"))
            if key is not None:
                keys.append(key)
    if not table.is_root:
        return  # as in OVS: rows of non-root tables go away when nothing refers to them
    for key in keys:
        ctx.db.delete(table.name, key)


def cmd_wait_until(ctx: Ctx) -> None:
    table = ctx.table(ctx.args[0])
    key = ctx.record(table.name, ctx.args[1], must_exist=False)
    if key is None:
        raise NotYet
    row = ctx.db.rows(table.name)[key]
    for arg in ctx.args[2:]:
        if not _condition(ctx, table, arg)(row):
            raise NotYet


def cmd_comment(ctx: Ctx) -> None:
    ctx.db.txn.comment(" ".join(ctx.args))


# ---------------------------------------------------------------------------- conditions


_ARITH: dict[str, Callable[[int], bool]] = {
    "=": lambda c: c == 0,
    "!=": lambda c: c != 0,
    "<": lambda c: c < 0,
    ">": lambda c: c > 0,
    "<=": lambda c: c <= 0,
    ">=": lambda c: c >= 0,
}
_SETS: dict[str, Callable[[frozenset[Any], frozenset[Any]], bool]] = {
    "{=}": lambda a, b: a == b,
    "{!=}": lambda a, b: a != b,
    "{<}": lambda a, b: a < b,
    "{>}": lambda a, b: a > b,
    "{<=}": lambda a, b: a <= b,
    "{>=}": lambda a, b: a >= b,
    "{in}": lambda a, b: a <= b,
    "{not-in}": lambda a, b: a.isdisjoint(b),
}


def _condition(ctx: Ctx, table: TableSchema, arg: str) -> Callable[[RowView], bool]:
    column, map_key, op, text = parse_column_arg(ctx, table, arg, ALL_OPS)
    ctype = column.type
    name = column.name
    if map_key is not None:
        # "column:key" stands for the set holding that key's value (empty if it is missing)
        assert ctype.value is not None
        vtype = Type(ctype.value, None, 0, UNLIMITED)
        wanted = parse_datum(vtype, text, ctx.symbol)
        if op in _ARITH:
            test = _ARITH[op]

            def by_key(row: RowView) -> bool:
                value = row[name].get(map_key)
                return value is not None and test(datum_compare(vtype, frozenset((value,)), wanted))

            return by_key
        set_test = _SETS[op]

        def by_key_set(row: RowView) -> bool:
            value = row[name].get(map_key)
            return set_test(frozenset(() if value is None else (value,)), wanted)

        return by_key_set
    relaxed = Type(ctype.key, ctype.value, 0, UNLIMITED)
    want_datum = parse_datum(relaxed, text, ctx.symbol)

    def get(row: RowView) -> Datum:
        value = row.uuid if name == "_uuid" else row[name]
        if ctype.is_scalar or name == "_uuid":
            return frozenset((value,))
        return value

    if op in _ARITH:
        test = _ARITH[op]
        return lambda row: test(datum_compare(relaxed, get(row), want_datum))
    set_test = _SETS[op]
    want_set = frozenset(want_datum.items() if ctype.is_map else want_datum)

    def by_set(row: RowView) -> bool:
        value = get(row)
        return set_test(frozenset(value.items() if ctype.is_map else value), want_set)

    return by_set


# ---------------------------------------------------------------------------- registry


def _table_watch(row_ids: dict[str, tuple[IdRule, ...]]) -> Callable[..., Iterable[str]]:
    def tables(cmd: Command, schema: DatabaseSchema) -> Iterable[str]:
        if not cmd.args:
            return ()
        try:
            name = find_table(schema, cmd.args[0]).name
        except CtlError:
            return ()
        return tables_for_ids(row_ids, name)

    return tables


def db_commands(row_ids: dict[str, tuple[IdRule, ...]]) -> dict[str, CommandSpec]:
    w = _table_watch(row_ids)
    n = UNLIMITED_ARGS
    specs = [
        CommandSpec("list", 1, n, cmd_list, ("--if-exists", "--columns="), w,
                    "[--if-exists] [--columns=COL,...] list TABLE [RECORD]...",
                    "list RECORDs (all records) of TABLE"),
        CommandSpec("find", 1, n, cmd_find, ("--columns=",), w,
                    "[--columns=COL,...] find TABLE [COLUMN[:KEY]OP VALUE]...",
                    "list records of TABLE that match every condition"),
        CommandSpec("get", 2, n, cmd_get, ("--if-exists", "--id="), w,
                    "[--if-exists] [--id=@NAME] get TABLE RECORD [COLUMN[:KEY]]...",
                    "print values of COLUMNs of RECORD"),
        CommandSpec("set", 3, n, cmd_set, ("--if-exists",), w,
                    "[--if-exists] set TABLE RECORD COLUMN[:KEY]=VALUE...",
                    "set COLUMNs (or map KEYs) of RECORD"),
        CommandSpec("add", 4, n, cmd_add, ("--if-exists",), w,
                    "[--if-exists] add TABLE RECORD COLUMN [KEY=]VALUE...",
                    "add values (or KEY=VALUE pairs) to COLUMN of RECORD"),
        CommandSpec("remove", 4, n, cmd_remove, ("--if-exists",), w,
                    "[--if-exists] remove TABLE RECORD COLUMN KEY|VALUE|KEY=VALUE...",
                    "remove values (or keys, or pairs) from COLUMN of RECORD"),
        CommandSpec("clear", 3, n, cmd_clear, ("--if-exists",), w,
                    "[--if-exists] clear TABLE RECORD COLUMN...",
                    "set COLUMNs of RECORD to the empty set or map"),
        CommandSpec("create", 2, n, cmd_create, ("--id=",), w,
                    "[--id=@NAME|UUID] create TABLE COLUMN[:KEY]=VALUE...",
                    "create a record and print its UUID"),
        CommandSpec("destroy", 1, n, cmd_destroy, ("--if-exists", "--all"), w,
                    "[--if-exists] [--all] destroy TABLE [RECORD]...",
                    "delete RECORDs (or all records) of a root TABLE"),
        CommandSpec("wait-until", 2, n, cmd_wait_until, (), w,
                    "wait-until TABLE RECORD [COLUMN[:KEY]=VALUE]...",
                    "wait until RECORD exists and matches every condition"),
        CommandSpec("comment", 0, n, cmd_comment, (), (),
                    "comment [ARG]...", "record ARGs in the database log"),
    ]  # fmt: skip
    return {s.name: s for s in specs}
