"""pyovn northd: translate the Northbound database into the Southbound database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path

from pyovn import __version__
from pyovn.daemon import (
    add_daemon_options,
    detach,
    install_stop_handlers,
    remove_pidfile,
    setup_logging,
    write_pidfile,
)
from pyovn.northd.daemon import Northd
from pyovn.unixctl import UnixctlServer

log = logging.getLogger("pyovn.northd")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="pyovn northd", description=__doc__)
    p.add_argument(
        "--ovnnb-db",
        default=os.environ.get("OVN_NB_DB", "unix:/var/run/ovn/ovnnb_db.sock"),
        metavar="REMOTE",
        help="Northbound database (default $OVN_NB_DB)",
    )
    p.add_argument(
        "--ovnsb-db",
        default=os.environ.get("OVN_SB_DB", "unix:/var/run/ovn/ovnsb_db.sock"),
        metavar="REMOTE",
        help="Southbound database (default $OVN_SB_DB)",
    )
    p.add_argument("--unixctl", metavar="PATH", help="control socket (pyovn appctl / ovs-appctl)")
    add_daemon_options(p)
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.detach:
        ready = Path(args.pidfile) if args.pidfile else None
        if ready is not None and ready.exists():
            ready.unlink()
        return detach(argv, "northd", ready)
    setup_logging(args, "northd")
    try:
        asyncio.run(run(args))
    except ConnectionError as exc:
        log.error("%s", exc)
        return 1
    return 0


async def run(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    install_stop_handlers(stop)
    northd = Northd(args.ovnnb_db, args.ovnsb_db)
    unixctl = None
    if args.unixctl:
        unixctl = UnixctlServer(args.unixctl, __version__)
        register_commands(unixctl, northd, stop)
        await unixctl.start()
    if args.pidfile is not None:
        write_pidfile(args.pidfile or "northd.pid")
    try:
        await northd.run(stop)
    finally:
        if unixctl is not None:
            await unixctl.close()
        remove_pidfile(args.pidfile or None)


def register_commands(unixctl: UnixctlServer, northd: Northd, stop: asyncio.Event) -> None:
    def recompute(args: list[str]) -> str:
        northd.force_recompute = True
        northd.wakeup.set()
        return ""

    unixctl.register("exit", lambda args: (stop.set(), "")[1], "")
    unixctl.register("status", lambda args: northd.status(), "")
    unixctl.register("inc-engine/show-stats", lambda args: northd.stats_text(), "")
    unixctl.register("inc-engine/recompute", recompute, "")
    unixctl.register("inc-engine/dump-graph", lambda args: northd.graph.engine.dot(), "")
