"""pyovn ovsdb-client: talk to an OVSDB server (list-dbs, get-schema, transact, dump, monitor)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
from typing import Any

from pyovn.cli.ctl.values import datum_compare, datum_text
from pyovn.cli.fmt import render_csv, render_records, render_table
from pyovn.ovsdb.client.replica import decode_datum
from pyovn.ovsdb.client.rpc import RpcConnection, RpcError
from pyovn.ovsdb.schema import DatabaseSchema, TableSchema
from pyovn.ovsdb.types import Type

DEFAULT_SERVER = "unix:/var/run/openvswitch/db.sock"
DEFAULT_DB = "Open_vSwitch"
VERBS = (
    "list-dbs",
    "get-schema",
    "get-schema-version",
    "list-tables",
    "list-columns",
    "transact",
    "query",
    "dump",
    "monitor",
)


def _is_remote(text: str) -> bool:
    return text.split(":", 1)[0] in ("unix", "tcp", "ssl")


def sorted_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="pyovn ovsdb-client", description=__doc__)
    p.add_argument("-f", "--format", choices=("table", "list", "csv", "json"), default="table")
    p.add_argument("--timeout", type=float, default=0, help="give up after SECS (0: never)")
    p.add_argument("verb", choices=VERBS)
    p.add_argument("args", nargs="*")
    args = p.parse_args(argv)
    try:
        coro = _run(args)
        if args.timeout:
            coro = asyncio.wait_for(coro, args.timeout)  # type: ignore[assignment]
        return asyncio.run(coro)
    except RpcError as exc:
        print(f"pyovn ovsdb-client: {exc.error}", file=sys.stderr)
        return 1
    except (TimeoutError, OSError, ValueError) as exc:
        print(f"pyovn ovsdb-client: {exc}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace) -> int:
    rest = list(args.args)
    server = rest.pop(0) if rest and _is_remote(rest[0]) else DEFAULT_SERVER
    rpc = await RpcConnection.open(server)
    try:
        if args.verb == "list-dbs":
            for name in await rpc.call("list_dbs", []):
                print(name)
            return 0
        if args.verb in ("transact", "query"):
            if not rest:
                print("pyovn ovsdb-client: transact needs a TXN argument", file=sys.stderr)
                return 2
            txn = json.loads(rest[0])
            if args.verb == "query":
                txn = [*txn, {"op": "abort"}]
            result = await rpc.call("transact", txn)
            if args.verb == "query":
                result = result[:-1]
            print(sorted_json(result))
            return 0
        dbs = await rpc.call("list_dbs", [])
        db_name = rest.pop(0) if rest and rest[0] in dbs else DEFAULT_DB
        schema_json = await rpc.call("get_schema", [db_name])
        if args.verb == "get-schema":
            print(sorted_json(schema_json))
            return 0
        schema = DatabaseSchema.from_json(schema_json)
        if args.verb == "get-schema-version":
            print(schema.version)
            return 0
        if args.verb == "list-tables":
            print(render_table(["Table"], [[t] for t in sorted(schema.tables)]), end="")
            return 0
        if args.verb == "list-columns":
            tables = [rest[0]] if rest else sorted(schema.tables)
            rows = [
                [c, sorted_json(col.type.to_json())]
                for t in tables
                for c, col in sorted(schema.tables[t].all_columns.items())
            ]
            print(render_table(["Column", "Type"], rows), end="")
            return 0
        if args.verb == "dump":
            return await _dump(rpc, schema, rest, args.format)
        return await _monitor(rpc, schema, rest, args.format)
    finally:
        await rpc.close()


def _columns(table: TableSchema, wanted: list[str]) -> list[str]:
    if wanted:
        for c in wanted:
            if c not in table.all_columns:
                raise ValueError(f"{table.name} does not have a column {c}")
        return wanted
    return ["_uuid", *sorted(table.columns)]


def _cell(table: TableSchema, column: str, value_js: Any) -> str:
    col = table.all_columns[column]
    return datum_text(col.type, decode_datum(col.type, value_js))


def _row_compare(types: list[Type], a: list[Any], b: list[Any]) -> int:
    """Rows as ovsdb-client sorts them: column by column, by OVSDB's order of values."""
    for ctype, x, y in zip(types, a, b, strict=True):
        order = datum_compare(ctype, x, y)
        if order:
            return order
    return 0


def _render(title: str, headings: list[str], rows: list[list[str]], fmt: str) -> str:
    if fmt == "csv":
        return title + "\n" + render_csv(headings, rows)
    if fmt == "list":
        return title + "\n" + render_records([list(zip(headings, r, strict=True)) for r in rows])
    return render_table(headings, rows, title)


async def _dump(rpc: RpcConnection, schema: DatabaseSchema, rest: list[str], fmt: str) -> int:
    tables = [rest[0]] if rest else sorted(schema.tables)
    wanted = rest[1:] if rest else []
    ops = []
    for t in tables:
        if t not in schema.tables:
            raise ValueError(f"{schema.name} does not have a table {t}")
        ops.append(
            {"op": "select", "table": t, "where": [], "columns": _columns(schema.tables[t], wanted)}
        )
    results = await rpc.call("transact", [schema.name, *ops])
    if fmt == "json":
        print(sorted_json(results))
        return 0
    out = []
    for t, result in zip(tables, results, strict=True):
        table = schema.tables[t]
        # as ovsdb-client: columns by name, rows by value (column by column)
        cols = sorted(_columns(table, wanted))
        data = [
            [decode_datum(table.all_columns[c].type, row[c]) for c in cols]
            for row in result["rows"]
        ]
        types = [table.all_columns[c].type for c in cols]
        data.sort(key=functools.cmp_to_key(functools.partial(_row_compare, types)))
        rows = [[datum_text(ct, v) for ct, v in zip(types, r, strict=True)] for r in data]
        out.append(_render(f"{t} table", cols, rows, fmt))
    print("\n".join(out), end="")
    return 0


async def _monitor(rpc: RpcConnection, schema: DatabaseSchema, rest: list[str], fmt: str) -> int:
    if not rest:
        raise ValueError("monitor needs a TABLE argument")
    tables = rest[0].split(",")
    wanted = rest[1:]
    requests = {}
    for t in tables:
        table = schema.tables[t]
        requests[t] = {"columns": [c for c in _columns(table, wanted) if c != "_uuid"]}
    initial = await rpc.call("monitor", [schema.name, None, requests])
    _print_update(schema, initial, fmt, "initial")
    async for note in rpc.notifications_iter():
        if note.method == "update":
            _print_update(schema, note.params[1], fmt, None)
    return 0


def _print_update(
    schema: DatabaseSchema, updates: dict[str, Any], fmt: str, action: str | None
) -> None:
    for tname, rows in sorted(updates.items()):
        table = schema.tables[tname]
        cols: list[str] = []
        out_rows = []
        for uuid, change in rows.items():
            old, new = change.get("old"), change.get("new")
            if action == "initial":
                pairs = [("initial", new)]
            elif old is None:
                pairs = [("insert", new)]
            elif new is None:
                pairs = [("delete", old)]
            else:
                pairs = [("old", old), ("new", new)]
            for act, row in pairs:
                for c in row:
                    if c not in cols:
                        cols.append(c)
                out_rows.append((uuid, act, row))
        cols.sort()
        rendered = [
            [uuid, act, *(_cell(table, c, row[c]) if c in row else "" for c in cols)]
            for uuid, act, row in out_rows
        ]
        if fmt == "json":
            print(sorted_json({tname: rows}))
        else:
            print(_render(f"{tname} table", ["row", "action", *cols], rendered, fmt), end="")
        sys.stdout.flush()
