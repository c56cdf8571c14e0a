"""`pyovn ovsdb-tool`: create, query, transact on and compact standalone OVSDB files.

Verbs and output follow Open vSwitch's ovsdb-tool, so scripts written for one work with the
other; the files are the same format (see pyovn.ovsdb.server.storage).
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from pyovn.ovsdb.data import datum_from_json, relaxed
from pyovn.ovsdb.errors import OvsdbError
from pyovn.ovsdb.jsonio import loads
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.logfile import StorageError, decode_schema, read_database, read_log
from pyovn.ovsdb.server.ops import ExecResult, execute
from pyovn.ovsdb.server.storage import FileLock, Storage, write_snapshot_file
from pyovn.ovsdb.types import AtomicType, Type, is_valid_uuid

PROG = "pyovn ovsdb-tool"
FAIL = 1
USAGE = 2

HELP = f"""\
{PROG}: OVSDB database file management (standalone format, shared with Open vSwitch)
usage: {PROG} [OPTIONS] COMMAND [ARG...]
  create DB SCHEMA        create DB with SCHEMA (nb, sb, vswitch or a .ovsschema path)
  compact DB [DST]        compact DB in place (or into DST)
  db-name DB              report name of schema used by DB
  db-version DB           report version of schema used by DB
  db-cksum DB             report checksum of schema used by DB
  db-is-standalone DB     test whether DB is standalone (exit 0) or not (exit 2)
  db-is-clustered DB      test whether DB is clustered (never, for pyovn: exit 2)
  schema-name SCHEMA      report SCHEMA's name
  schema-version SCHEMA   report SCHEMA's schema version
  schema-cksum SCHEMA     report SCHEMA's checksum
  query DB TRNS           execute a transaction on DB and print its results, never
                          writing (and without taking DB's lock)
  transact DB TRNS        execute read/write transaction on DB
  [-m]... show-log DB     print DB's log entries (-m: changed rows, -mm: and values)
Options:
  -m, --more              more show-log detail (repeatable)
  -h, --help              display this help message
Exit status: 0 ok, 1 failure, 2 usage error."""


class UsageError(Exception):
    pass


# ---------------------------------------------------------------------------- JSON as OVS prints it


def ovs_json(value: Any, *, sort_keys: bool = True) -> str:
    """Compact JSON as Open vSwitch prints it: reals with "%.15g", UTF-8 kept as is."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return real_text(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        keys = sorted(value) if sort_keys else list(value)
        inner = ",".join(
            f"{ovs_json(str(k))}:{ovs_json(value[k], sort_keys=sort_keys)}" for k in keys
        )
        return "{" + inner + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(ovs_json(v, sort_keys=sort_keys) for v in value) + "]"
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


def real_text(value: float) -> str:
    if not math.isfinite(value):
        return "0"
    text = format(value, ".15g")
    return "0" if text == "-0" else text


# ---------------------------------------------------------------------------- helpers


def _load_schema(name_or_path: str) -> DatabaseSchema:
    from pyovn.schemas import schema_path

    try:
        path = schema_path(name_or_path)
    except FileNotFoundError as exc:
        raise StorageError(str(exc)) from exc
    try:
        return DatabaseSchema.from_file(path)
    except ValueError as exc:  # JSON syntax
        raise OvsdbError("syntax error", f"{path}: {exc}") from exc


def _file_schema(path: str) -> DatabaseSchema:
    contents = read_log(path)
    if not contents.records:
        raise StorageError(contents.tail_error or f"{path}: database file is empty")
    return decode_schema(contents.records[0], path)


def _parse_txn(text: str) -> Any:
    try:
        value = loads(text)
    except ValueError as exc:
        raise OvsdbError("syntax error", f'"{text}": {exc}') from exc
    if not isinstance(value, (list, dict)):
        raise OvsdbError("syntax error", f'"{text}": syntax error at beginning of input')
    return value


def _check_params(db: Database, params: Any) -> dict[str, Any] | None:
    """The error object ovsdb-tool prints instead of a result array, or None."""
    if not isinstance(params, list):
        return OvsdbError("syntax error", "array expected", params).to_json()
    if not params or not isinstance(params[0], str) or params[0] != db.name:
        return OvsdbError(
            "syntax error", "database name expected as first parameter", params
        ).to_json()
    return None


def _run(db: Database, ops: list[Any]) -> ExecResult:
    """Execute ``ops``; a "wait" that would block fails as ovsdb-tool reports it."""
    result = execute(db, ops)
    if not result.blocked:
        return result
    # ovsdb-tool cannot wait: report the earlier operations' results, then the failure
    k = 1
    while k < len(ops) and not execute(db, ops[:k]).blocked:
        k += 1
    prefix = execute(db, ops[: k - 1]).results[: k - 1] if k > 1 else []
    error = OvsdbError("not supported", "triggers not supported").to_json()
    results = [*prefix, error]
    results.extend([None] * (len(ops) - len(results)))
    return ExecResult(results, None)


# ---------------------------------------------------------------------------- verbs


def cmd_create(args: list[str], more: int) -> int:
    _nargs(args, 2, 2, "create")
    schema = _load_schema(args[1])
    storage, _ = Storage.create(args[0], schema)
    storage.close()
    return 0


def cmd_transact(args: list[str], more: int, *, write: bool = True) -> int:
    _nargs(args, 2, 2, "transact" if write else "query")
    path, text = args
    params = _parse_txn(text)
    if write:
        storage, db = Storage.open(path)
    else:
        db, _ = read_database(path)
    try:
        error = _check_params(db, params)
        if error is not None:
            print(ovs_json(error))
            return 0
        result = _run(db, params[1:])
        if write and result.commit is not None:
            storage.write_commit(result.commit)
            db.apply(result.commit)
            storage.sync_now()
    finally:
        if write:
            storage.close()
    print(ovs_json(result.results))
    return 0


def cmd_query(args: list[str], more: int) -> int:
    return cmd_transact(args, more, write=False)


def cmd_compact(args: list[str], more: int) -> int:
    _nargs(args, 1, 2, "compact")
    comment = "compacted by pyovn ovsdb-tool"
    if len(args) == 1:
        storage, _ = Storage.open(args[0])
        try:
            storage.compact(comment=comment)
        finally:
            storage.close()
        return 0
    db, contents = read_database(args[0])
    if contents.tail_error:
        raise StorageError(contents.tail_error)
    lock = FileLock(args[1])
    lock.acquire()
    try:
        write_snapshot_file(args[1], db, comment=comment)
    finally:
        lock.release()
    return 0


def _db_info(attr: str) -> Callable[[list[str], int], int]:
    def command(args: list[str], more: int) -> int:
        _nargs(args, 1, 1, f"db-{attr}")
        schema = _file_schema(args[0])
        print(getattr(schema, attr) or "")
        return 0

    return command


def _schema_info(attr: str) -> Callable[[list[str], int], int]:
    def command(args: list[str], more: int) -> int:
        _nargs(args, 1, 1, f"schema-{attr}")
        print(getattr(_load_schema(args[0]), attr) or "")
        return 0

    return command


def cmd_db_is_standalone(args: list[str], more: int) -> int:
    _nargs(args, 1, 1, "db-is-standalone")
    _file_schema(args[0])
    return 0


def cmd_db_is_clustered(args: list[str], more: int) -> int:
    _nargs(args, 1, 1, "db-is-clustered")
    _file_schema(args[0])
    return 2


def cmd_show_log(args: list[str], more: int) -> int:
    _nargs(args, 1, 1, "show-log")
    path = args[0]
    contents = read_log(path)
    schema: DatabaseSchema | None = None
    names: dict[str, str] = {}
    out = sys.stdout
    for n, record in enumerate(contents.records):
        if n == 0:
            schema = decode_schema(record, path)
            cksum = schema.cksum or ""
            out.write(
                f'record 0: "{schema.name}" schema, version="{schema.version}", cksum="{cksum}"\n\n'
            )
            continue
        js = record.json
        line = f"record {n}:"
        date = js.get("_date")
        if isinstance(date, (int, float)) and not isinstance(date, bool):
            line += " " + _format_date(int(date))
        comment = js.get("_comment")
        if isinstance(comment, str):
            line += f' "{comment}"'
        out.write(line + "\n")
        if more and schema is not None:
            _show_changes(schema, js, names, more, out)
            out.write("\n")
    if contents.tail_error is not None:
        out.flush()
        print(f"{PROG}: {contents.tail_error}", file=sys.stderr)
        return FAIL
    return 0


def _format_date(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}"


def _show_changes(
    schema: DatabaseSchema, js: dict[str, Any], names: dict[str, str], more: int, out: Any
) -> None:
    is_diff = js.get("_is_diff") is True
    for tname, rows in js.items():
        if tname.startswith("_") or not isinstance(rows, dict):
            continue
        table = schema.tables.get(tname)
        for uuid, row in rows.items():
            prefix = uuid[:8]
            old_name = names.get(uuid)
            new_name = None
            if isinstance(row, dict) and "name" in row:
                new_name = ovs_json(row["name"])
            if old_name is None:
                label = f"{new_name} ({prefix})" if new_name else prefix
                out.write(f"  table {tname} insert row {label}:\n")
            else:
                out.write(f"  table {tname} row {old_name} ({prefix}) diff:\n")
            names[uuid] = new_name or old_name or prefix
            if row is None:
                out.write("    delete row\n")
                names.pop(uuid, None)
                continue
            if more < 2 or table is None or not isinstance(row, dict):
                continue
            for cname, value in row.items():
                column = table.columns.get(cname)
                if column is None:
                    continue
                ctype = column.type
                if is_diff and ctype.max > 1:
                    ctype = relaxed(ctype)
                try:
                    datum = datum_from_json(ctype, value)
                except OvsdbError:
                    out.write(f"    {cname}={ovs_json(value)}\n")
                    continue
                out.write(f"    {cname}={datum_text(column.type, datum)}\n")


_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def atom_text(atype: AtomicType, atom: Any) -> str:
    """An atom as Open vSwitch prints it in show-log and ovs-vsctl style output."""
    if atype is AtomicType.BOOLEAN:
        return "true" if atom else "false"
    if atype is AtomicType.REAL:
        return real_text(atom)
    if atype is AtomicType.STRING:
        text = str(atom)
        if _BARE.match(text) and text not in ("true", "false") and not is_valid_uuid(text):
            return text
        return json.dumps(text, ensure_ascii=False)
    return str(atom)


def datum_text(ctype: Type, datum: Any) -> str:
    key = ctype.key.type
    if ctype.is_scalar:
        return atom_text(key, datum)
    brackets = ctype.max > 1 or not datum
    if ctype.value is not None:
        vtype = ctype.value.type
        inner = ", ".join(
            f"{atom_text(key, k)}={atom_text(vtype, v)}" for k, v in sorted(datum.items())
        )
        return "{" + inner + "}" if brackets else inner
    inner = ", ".join(atom_text(key, a) for a in sorted(datum))
    return "[" + inner + "]" if brackets else inner


# ---------------------------------------------------------------------------- dispatch

COMMANDS: dict[str, Callable[[list[str], int], int]] = {
    "create": cmd_create,
    "compact": cmd_compact,
    "transact": cmd_transact,
    "query": cmd_query,
    "db-name": _db_info("name"),
    "db-version": _db_info("version"),
    "db-cksum": _db_info("cksum"),
    "db-is-standalone": cmd_db_is_standalone,
    "db-is-clustered": cmd_db_is_clustered,
    "schema-name": _schema_info("name"),
    "schema-version": _schema_info("version"),
    "schema-cksum": _schema_info("cksum"),
    "show-log": cmd_show_log,
}


def _nargs(args: list[str], lo: int, hi: int, verb: str) -> None:
    if len(args) < lo:
        raise UsageError(f"'{verb}' command requires at least {lo} arguments")
    if len(args) > hi:
        raise UsageError(f"'{verb}' command takes at most {hi} arguments")


def main(argv: list[str]) -> int:
    more = 0
    words: list[str] = []
    options_done = False
    for arg in argv:
        if options_done or not arg.startswith("-") or arg == "-":
            words.append(arg)
        elif arg == "--":
            options_done = True
        elif arg in ("-h", "--help"):
            print(HELP)
            return 0
        elif arg == "--more":
            more += 1
        elif re.fullmatch(r"-m+", arg):
            more += len(arg) - 1
        else:
            print(f"{PROG}: unrecognized option '{arg}'; use --help for help", file=sys.stderr)
            return USAGE
    if not words:
        print(f"{PROG}: missing command name; use --help for help", file=sys.stderr)
        return USAGE
    verb, args = words[0], words[1:]
    if verb == "help":
        print(HELP)
        return 0
    command = COMMANDS.get(verb)
    if command is None:
        print(f"{PROG}: unknown command '{verb}'; use --help for help", file=sys.stderr)
        return USAGE
    try:
        return command(args, more)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return USAGE
    except OvsdbError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return FAIL
    except OSError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return FAIL
