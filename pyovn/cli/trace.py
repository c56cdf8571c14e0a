"""pyovn trace: simulate a packet through the logical flows of the Southbound database.

    pyovn trace [--db=REMOTE] [--detailed] [--summary] [--minimal] [--all] [--ct=FLAGS]...
                [DATAPATH] MICROFLOW

As ovn-trace: MICROFLOW is a logical-flow expression pinning the packet's fields
(``inport == "vm1" && eth.src == 00:00:00:00:00:01 && eth.dst == ff:ff:ff:ff:ff:ff``);
DATAPATH (a logical switch name or a uuid) defaults to the inport's. The first line is the
microflow in OpenFlow syntax; then the chosen forms (detailed by default; several forms each
get a banner). Container ports inside VMs get ``/* on the hypervisor: ... */`` lines saying how
their VLAN tag is stripped or pushed. See docs/trace.md.

Exit status: 0 traced, 1 the trace could not run (connection, unknown datapath or port, bad
microflow), 2 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.trace import TABLES, TraceError, TraceResult, parse_ct_flags, trace

USAGE_EXIT = 2


def default_db() -> str:
    """$OVN_SB_DB, else the Southbound socket in OVN's run directory."""
    env = os.environ.get("OVN_SB_DB")
    if env:
        return env
    rundir = os.environ.get("OVN_RUNDIR", "/var/run/ovn")
    return f"unix:{rundir}/ovnsb_db.sock"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pyovn trace",
        usage="pyovn trace [OPTIONS] [DATAPATH] MICROFLOW",
        description="Trace a packet through OVN logical flows (ovn-trace syntax).",
        epilog="Exit status: 0 traced, 1 the trace could not run, 2 usage error.",
    )
    p.add_argument("--db", default=None, metavar="REMOTE", help="Southbound database "
                   "(default $OVN_SB_DB, else unix:/var/run/ovn/ovnsb_db.sock)")  # fmt: skip
    for mode in ("detailed", "summary", "minimal"):
        default = " (the default)" if mode == "detailed" else ""
        p.add_argument(f"--{mode}", action="append_const", const=mode, dest="modes",
                       help=f"{mode} output{default}")  # fmt: skip
    p.add_argument("--all", action="append_const", const="all", dest="modes",
                   help="all three forms")  # fmt: skip
    p.add_argument("--ct", action="append", default=[], metavar="FLAGS",
                   help="ct_state for successive ct_next actions, e.g. trk,new "
                   "(default trk,est)")  # fmt: skip
    p.add_argument("-t", "--timeout", type=float, default=10.0, metavar="SECS",
                   help="give up connecting after SECS seconds (default 10)")  # fmt: skip
    p.add_argument("first", metavar="DATAPATH", help="logical switch name or uuid "
                   "(optional: the inport's datapath)")  # fmt: skip
    example = "'inport == \"vm1\" && eth.dst == 00:00:00:00:00:02'"
    p.add_argument("second", nargs="?", metavar="MICROFLOW",
                   help=f"the packet, e.g. {example}")  # fmt: skip
    return p


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.second is None:
        datapath, microflow = None, args.first
    else:
        datapath, microflow = args.first, args.second
    try:
        ct = [parse_ct_flags(text) for text in args.ct]
    except ValueError as exc:
        print(f"pyovn trace: --ct: {exc}", file=sys.stderr)
        return USAGE_EXIT
    remote = args.db or default_db()
    try:
        result = asyncio.run(_run(remote, datapath, microflow, ct, args.timeout))
    except (ConnectionError, OSError) as exc:
        print(f"pyovn trace: {remote}: {exc}", file=sys.stderr)
        return 1
    except TraceError as exc:
        print(f"pyovn trace: {exc}", file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(f"pyovn trace: warning: {warning}", file=sys.stderr)
    sys.stdout.write(result.render(args.modes or "detailed"))
    return 0


async def _run(
    remote: str, datapath: str | None, microflow: str, ct: list[int], timeout: float
) -> TraceResult:
    client = OvsdbClient(remote, "OVN_Southbound")
    for table in TABLES:
        client.watch(table)
    try:
        await client.start(timeout=timeout)
        return await trace(client, datapath, microflow, ct=ct)
    finally:
        await client.close()
