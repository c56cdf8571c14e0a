"""pyovn northd: translate the Northbound database into the Southbound database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from pyovn.daemon import (
    add_daemon_options,
    daemon_main,
    serve_until_stopped,
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
    return daemon_main(argv, args, "northd", run)


async def run(args: argparse.Namespace) -> None:
    northd = Northd(args.ovnnb_db, args.ovnsb_db)
    northd.freeze_gc = True  # a daemon: the process is northd's alone
    await serve_until_stopped(
        args, "northd", northd.run, lambda unixctl, stop: register_commands(unixctl, northd, stop)
    )


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
