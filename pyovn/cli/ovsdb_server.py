"""pyovn ovsdb-server: serve OVSDB database files over JSON-RPC (RFC 7047 + OVS extensions)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource

from pyovn import __version__
from pyovn.daemon import (
    add_daemon_options,
    daemon_main,
    install_stop_handlers,
    remove_pidfile,
    tune_gc,
    write_pidfile,
)
from pyovn.ovsdb.errors import OvsdbError
from pyovn.ovsdb.server.server import OvsdbServer
from pyovn.ovsdb.server.transport import DEFAULT_MAX_BACKLOG, ServerTransport
from pyovn.unixctl import UnixctlError, UnixctlServer

log = logging.getLogger("pyovn.ovsdb.server")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="pyovn ovsdb-server",
        description="Serve OVSDB databases (RFC 7047 JSON-RPC with Open vSwitch's extensions).",
    )
    p.add_argument("databases", nargs="+", metavar="DBFILE", help="database file(s) to serve")
    p.add_argument(
        "--remote",
        action="append",
        default=[],
        metavar="REMOTE",
        help="listen on punix:PATH or ptcp:PORT[:IP] (repeatable)",
    )
    p.add_argument("--unixctl", metavar="PATH", help="control socket for pyovn/ovs-appctl")
    p.add_argument(
        "--fsync",
        choices=("always", "durable", "never"),
        default="durable",
        help="fsync every commit, only durable ones (default), or never",
    )
    p.add_argument(
        "--max-backlog",
        type=int,
        default=DEFAULT_MAX_BACKLOG,
        metavar="BYTES",
        help="drop a client whose unread output exceeds BYTES",
    )
    p.add_argument(
        "--inactivity-probe",
        type=int,
        default=5000,
        metavar="MS",
        help="probe idle TCP clients after MS milliseconds (0 disables)",
    )
    add_daemon_options(p)
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    for remote in args.remote:
        if remote.startswith("db:"):
            print("pyovn ovsdb-server: --remote=db:... is not supported", flush=True)
            return 2
    return daemon_main(argv, args, "ovsdb-server", run, errors=(OvsdbError, OSError))


async def run(args: argparse.Namespace) -> int:
    from pyovn.ovsdb.server.storage import Storage

    server = OvsdbServer()
    storages = []
    for path in args.databases:
        mode = "durable-only" if args.fsync == "durable" else args.fsync
        storage, db = Storage.open(path, fsync_mode=mode)
        storages.append(storage)
        server.add_database(db, storage)
        log.info("%s: serving database %s (%d tables)", path, db.name, len(db.tables))
    tune_gc(freeze=True)
    transport = ServerTransport(
        server, max_backlog=args.max_backlog, probe_interval=args.inactivity_probe / 1000.0
    )
    for remote in args.remote:
        await transport.listen(remote)
        log.info("listening on %s", remote)
    stop = asyncio.Event()
    install_stop_handlers(stop)
    unixctl = None
    if args.unixctl:
        unixctl = UnixctlServer(args.unixctl, __version__)
        _register_commands(unixctl, server, transport, stop)
        await unixctl.start()
    if args.pidfile is not None:
        write_pidfile(args.pidfile or "ovsdb-server.pid")
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await transport.close()
        if unixctl is not None:
            await unixctl.close()
        for storage in storages:
            storage.close()
        remove_pidfile(args.pidfile if args.pidfile else None)
    return 0


def _register_commands(
    unixctl: UnixctlServer, server: OvsdbServer, transport: ServerTransport, stop: asyncio.Event
) -> None:
    def exit_(args: list[str]) -> str:
        asyncio.get_running_loop().call_soon(stop.set)
        return ""

    def list_dbs(args: list[str]) -> str:
        return "".join(f"{name}\n" for name in server.dbs)

    def compact(args: list[str]) -> str:
        names = args or [n for n in server.dbs if server.dbs[n].storage is not None]
        for name in names:
            state = server.dbs.get(name)
            if state is None or state.storage is None:
                raise UnixctlError(f"{name}: no such database with storage")
            state.storage.compact()  # type: ignore[attr-defined]
        return ""

    def memory(args: list[str]) -> str:
        rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rows = sum(len(t.rows) for s in server.dbs.values() for t in s.db.tables.values())
        return (
            f"max-rss:{rss_kb} cells:{rows} sessions:{len(server.sessions)} "
            f"transactions:{server.n_transactions}\n"
        )

    unixctl.register("exit", exit_, "")
    unixctl.register("ovsdb-server/list-dbs", list_dbs, "")
    unixctl.register("ovsdb-server/compact", compact, "[DB]...")
    unixctl.register("memory/show", memory, "")
