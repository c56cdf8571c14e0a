"""pyovn controller: the per-chassis agent (binds ports, programs the datapath)."""

from __future__ import annotations

import argparse
import logging
import os

from pyovn.controller.control import register_commands
from pyovn.controller.daemon import Controller
from pyovn.daemon import (
    add_daemon_options,
    daemon_main,
    serve_until_stopped,
)

log = logging.getLogger("pyovn.controller")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="pyovn controller", description=__doc__)
    p.add_argument(
        "--ovnsb-db",
        default=os.environ.get("OVN_SB_DB"),
        required=not os.environ.get("OVN_SB_DB"),
        metavar="REMOTE",
        help="Southbound database",
    )
    p.add_argument(
        "--ovs-db", required=True, metavar="REMOTE", help="this hypervisor's Open_vSwitch database"
    )
    p.add_argument("--chassis", required=True, metavar="NAME", help="chassis name (system-id)")
    p.add_argument(
        "--encap-ip",
        default="127.0.0.1",
        metavar="IP",
        help="this chassis' tunnel endpoint address",
    )
    p.add_argument("--encap-type", default="geneve", choices=("geneve",))
    p.add_argument(
        "--encap-port",
        type=int,
        default=6081,
        metavar="PORT",
        help="UDP port for Geneve (0: pick one; peers learn it from the Encap row)",
    )
    p.add_argument("--hostname", default=None)
    p.add_argument(
        "--datapath",
        default="sim",
        choices=("sim", "ovs"),
        help="sim: the built-in simulated switch; ovs: br-int of a running ovs-vswitchd "
        "(flows through ovs-ofctl; set OVS_RUNDIR when it is not the default)",
    )
    p.add_argument(
        "--ovs-datapath-type",
        default="netdev",
        choices=("netdev", "system"),
        help="br-int's datapath type when pyovn creates it (netdev: userspace, no kernel module)",
    )
    p.add_argument("--unixctl", metavar="PATH", help="control socket (pyovn appctl)")
    add_daemon_options(p)
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    return daemon_main(argv, args, "controller", run)


async def run(args: argparse.Namespace) -> None:
    controller = Controller(
        args.ovnsb_db,
        args.ovs_db,
        args.chassis,
        args.encap_ip,
        args.encap_type,
        args.encap_port,
        args.hostname,
        datapath=args.datapath,
        ovs_datapath_type=args.ovs_datapath_type,
    )
    controller.freeze_gc = True  # a daemon: the process is the controller's alone
    await serve_until_stopped(
        args,
        "controller",
        controller.run,
        lambda unixctl, stop: register_commands(unixctl, controller, stop),
    )
