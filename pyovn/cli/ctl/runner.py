"""Running one ovn-nbctl / ovn-sbctl style invocation.

One connection, one replica of just the tables the commands need, one OVSDB transaction for
the whole ``--`` chain. The chain is built from the replica; if the commit fails with "try
again" (a verified value changed meanwhile) the replica catches up and the chain runs again
from scratch, so every command must be safe to re-run. Output is printed only once the
transaction has committed (and, with ``--wait``, once northd or the chassis caught up).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from pyovn.cli.ctl.context import Ctx, NotYet, RunState, Tool
from pyovn.cli.ctl.options import (
    Command,
    GlobalOptions,
    UsageError,
    default_db,
    parse_command_line,
)
from pyovn.cli.ctl.output import oneline
from pyovn.cli.ctl.values import CtlError
from pyovn.cli.ctl.workdb import WorkDb
from pyovn.ovsdb.client.client import ConnectionLost, OvsdbClient, TxnResult
from pyovn.ovsdb.client.rpc import RpcConnection
from pyovn.ovsdb.client.txn import TryAgain, TxnError
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.schemas import schema_path

# After this many "try again"s in a row, start over on a fresh connection: the replica
# may have missed an update (seen with OvsdbClient when an update arrives together with the
# monitor reply), and a new snapshot heals that.
ATTEMPTS_PER_CONNECTION = 6
MAX_CONNECTIONS = 20
_PLACEHOLDER_RE = re.compile("\x00([A-Za-z0-9_]+)\x00")
ZERO_UUID = "00000000-0000-0000-0000-000000000000"


@dataclass
class Outcome:
    outputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def main(tool: Tool, argv: list[str]) -> int:
    try:
        opts, commands = parse_command_line(argv, tool.specs, wait_allowed=tool.wait_allowed)
    except UsageError as exc:
        print(f"{tool.prog}: {exc}", file=sys.stderr)
        return 2
    if opts.help:
        print(usage(tool))
        return 0
    if opts.version:
        from pyovn import __version__

        print(f"{tool.prog} (pyovn) {__version__}")
        return 0
    if not opts.db:
        opts.db = default_db(tool.db_env, tool.db_sock)
    try:
        outcome = asyncio.run(_with_timeout(tool, opts, commands))
    except CtlError as exc:
        print(f"{tool.prog}: {exc}", file=sys.stderr)
        return 1
    except TimeoutError:
        print(f"{tool.prog}: timed out after {opts.timeout:g} seconds", file=sys.stderr)
        return 1
    for warning in outcome.warnings:
        print(f"{tool.prog}: {warning}", file=sys.stderr)
    out = sys.stdout
    for text in outcome.outputs:
        out.write(oneline(text) if opts.oneline else text)
    out.flush()
    return 0


def usage(tool: Tool) -> str:
    lines = [tool.help_text.rstrip(), "", "Commands:"]
    for spec in tool.specs.values():
        if spec.usage:
            lines.append(f"  {spec.usage}")
            if spec.help:
                lines.append(f"      {spec.help}")
    lines += [
        "",
        "Options:",
        f"  --db=DATABASE             connect to DATABASE (default: ${tool.db_env}, else "
        f"unix:/var/run/ovn/{tool.db_sock})",
        "  -t, --timeout=SECS        give up after SECS seconds (0: never)",
    ]
    if tool.wait_allowed:
        lines.append("  --no-wait, --wait=none|sb|hv  wait for northd (sb) or the chassis (hv)")
    lines += [
        "  --dry-run                 do not commit changes",
        "  --oneline                 print each command's output on one line",
        "  -f, --format=FORMAT       list (default), table, csv, json or html",
        "  -d, --data=FORMAT         string (default), bare or json",
        "  --no-headings, --pretty, --bare, --columns=COLUMN,...",
    ]
    return "\n".join(lines)


async def _with_timeout(tool: Tool, opts: GlobalOptions, commands: list[Command]) -> Outcome:
    if opts.timeout > 0:
        return await asyncio.wait_for(_run(tool, opts, commands), opts.timeout)
    return await _run(tool, opts, commands)


def watched_tables(tool: Tool, commands: list[Command], schema: DatabaseSchema) -> set[str]:
    tables = set(tool.always_watch)
    for cmd in commands:
        wanted = cmd.spec.tables
        tables.update(wanted(cmd, schema) if callable(wanted) else wanted)
    return {t for t in tables if t in schema.tables}


async def _probe(remotes: list[str], database: str) -> None:
    """Fail fast, with OVS's wording, when no remote can be reached."""
    error = ""
    for remote in remotes:
        try:
            rpc = await RpcConnection.open(remote)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            error = f"{remote}: database connection failed ({reason})"
            continue
        try:
            dbs = await rpc.call("list_dbs", [])
        finally:
            with contextlib.suppress(Exception):
                await rpc.close()
        if database in dbs:
            return
        error = f"{remote}: database {database} is not served here (it has: {', '.join(dbs)})"
    raise CtlError(error)


async def _run(tool: Tool, opts: GlobalOptions, commands: list[Command]) -> Outcome:
    remotes = [r for r in opts.db.split(",") if r]
    if not remotes:
        raise CtlError("--db needs a remote")
    await _probe(remotes, tool.database)
    planning = DatabaseSchema.from_file(schema_path(tool.schema_name))
    tables = sorted(watched_tables(tool, commands, planning))
    for _ in range(MAX_CONNECTIONS):
        client = OvsdbClient(remotes, tool.database, leader_only=opts.leader_only)
        for table in tables:
            client.watch(table)
        changes = [0]
        client.add_listener(lambda events, changes=changes: changes.__setitem__(0, changes[0] + 1))
        try:
            await client.start(timeout=opts.timeout or 60.0)
            return await _execute(tool, opts, commands, client, changes)
        except _StaleReplica:
            continue
        finally:
            await client.close()
    raise CtlError("transaction kept failing: the database is too busy")


class _StaleReplica(Exception):
    """The commit keeps failing with "try again": reconnect for a fresh snapshot."""


async def _wait_change(
    client: OvsdbClient, changes: list[int], seen: int, timeout: float | None
) -> None:
    with contextlib.suppress(TimeoutError):
        await client.wait_for(lambda: changes[0] != seen, timeout)


async def _execute(
    tool: Tool,
    opts: GlobalOptions,
    commands: list[Command],
    client: OvsdbClient,
    changes: list[int],
) -> Outcome:
    attempt = 0
    while True:
        await client.synced.wait()
        seen = changes[0]
        assert client.schema is not None
        txn = client.txn()
        db = WorkDb(client.schema, client.rows, txn)
        state = RunState()
        outcome = Outcome(warnings=state.warnings)
        if tool.init is not None:
            tool.init(db)
        try:
            for cmd in commands:
                ctx = Ctx(tool, db, cmd, opts, state)
                cmd.spec.run(ctx)
                outcome.outputs.append("".join(ctx.out))
        except NotYet:
            await _wait_change(client, changes, seen, None)
            continue
        cfg_index = None
        if (
            opts.wait != "none"
            and tool.bump_cfg is not None
            and (db.has_writes() or state.force_wait)
        ):
            cfg_index = tool.bump_cfg(db)
        result: TxnResult | None = None
        if db.has_writes() and not opts.dry_run:
            try:
                result = await client.commit(txn)
            except (TryAgain, ConnectionLost):
                attempt += 1
                if attempt >= ATTEMPTS_PER_CONNECTION:
                    raise _StaleReplica from None
                await _wait_change(client, changes, seen, min(0.005 * 2**attempt, 0.5))
                continue
            except TxnError as exc:
                details = json.dumps(exc.error, sort_keys=True, separators=(",", ":"))
                raise CtlError(f"transaction error: {details}") from None
        _warn_unreferenced(db, state)
        _resolve(outcome, result)
        if cfg_index is not None and result is not None:
            await _wait_cfg(tool, opts, client, result, cfg_index)
        return outcome


async def _wait_cfg(
    tool: Tool, opts: GlobalOptions, client: OvsdbClient, result: TxnResult, index: int
) -> None:
    """--wait=sb|hv: wait until NB_Global.sb_cfg (hv_cfg) reaches the nb_cfg we set."""
    reached = tool.cfg_reached
    if reached is None:
        return
    rows = result.results[index].get("rows") or [{}]
    next_cfg = int(next(iter(rows[0].values()), 0))
    await client.wait_for(lambda: reached(client.rows, opts.wait, next_cfg), None)


def _warn_unreferenced(db: WorkDb, state: RunState) -> None:
    """Like OVS: a row of a non-root table created with --id=@name but never referred to
    is garbage-collected at commit; say so."""
    for name, (named, table) in state.created.items():
        if db.table(table).is_root:
            continue
        mention = json.dumps(["named-uuid", named.name])
        uses = sum(json.dumps(op).count(mention) for op in db.txn.ops)
        if not uses:
            state.warnings.append(
                f'row id "{name}" was created but no reference to it was inserted, so it will '
                "not actually appear in the database"
            )


def _resolve(outcome: Outcome, result: TxnResult | None) -> None:
    uuids: dict[str, Any] = result.uuids if result is not None else {}

    def real(m: re.Match[str]) -> str:
        return str(uuids.get(m[1], ZERO_UUID))

    outcome.outputs = [_PLACEHOLDER_RE.sub(real, text) for text in outcome.outputs]
