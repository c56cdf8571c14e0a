"""The controller's control-socket commands (``pyovn appctl -t CTL COMMAND``).

The simulated datapath is reachable through them: plug a simulated host onto a VIF, send
frames in, read what came out, ping, and dump the installed flows.

    sim/host IFACE MAC IP [VLAN]      a VM (or, with VLAN, a container inside it) on IFACE
    sim/ping IFACE DST_IP [VLAN]      ping from that host; prints the round-trip time
    sim/send IFACE HEXFRAME           inject a frame; prints where copies went
    sim/recv IFACE                    frames delivered to IFACE since the last call (hex)
    sim/dump-flows                    the installed flow table
    sim/ports                         VIFs and tunnels with their port numbers
    lflow-failures                    logical flows that could not be compiled
    status                            bound ports, flow count, rounds
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pyovn.unixctl import UnixctlError, UnixctlServer

if TYPE_CHECKING:
    from pyovn.controller.daemon import Controller


def register_commands(unixctl: UnixctlServer, ctl: Controller, stop: asyncio.Event) -> None:
    backend = ctl.backend

    def need(args: list[str], n: int, usage: str) -> None:
        if len(args) < n:
            raise UnixctlError(f"usage: {usage}")

    def host(args: list[str]) -> str:
        need(args, 3, "sim/host IFACE MAC IP [VLAN]")
        vlan = int(args[3]) if len(args) > 3 else None
        backend.host(args[0]).add_identity(args[1], args[2], vlan)
        return ""

    async def ping(args: list[str]) -> str:
        need(args, 2, "sim/ping IFACE DST_IP [VLAN]")
        vlan = int(args[2]) if len(args) > 2 else None
        h = backend.hosts.get(args[0])
        if h is None or vlan not in h.identities:
            raise UnixctlError(f"no simulated host on {args[0]} (vlan {vlan}); use sim/host")
        try:
            rtt = await h.ping(args[1], vlan=vlan)
        except TimeoutError as exc:
            raise UnixctlError(str(exc)) from None
        return f"reply from {args[1]}: time={rtt * 1000:.3f} ms\n"

    def send(args: list[str]) -> str:
        need(args, 2, "sim/send IFACE HEXFRAME")
        try:
            result = backend.inject(args[0], bytes.fromhex(args[1]))
        except (KeyError, ValueError) as exc:
            raise UnixctlError(str(exc)) from None
        lines = [f"output {name} {frame.hex()}" for name, frame in result.outputs]
        lines += [f"tunnel {t.chassis}" for t, *_ in result.tunnels]
        return "\n".join(lines or ["dropped"]) + "\n"

    def recv(args: list[str]) -> str:
        need(args, 1, "sim/recv IFACE")
        port = backend.switch.by_name.get(args[0])
        if port is None:
            raise UnixctlError(f"no VIF {args[0]}")
        frames = list(port.rx)
        port.rx.clear()
        return "".join(f"{f.hex()}\n" for f in frames)

    def ports(args: list[str]) -> str:
        return "".join(
            f"{p.ofport:>5} {p.name}\n"
            for p in sorted(backend.switch.ports.values(), key=lambda p: p.ofport)
        )

    def failures(args: list[str]) -> str:
        return "".join(f"{u[:8]} {why}\n" for u, why in sorted(ctl.cache.stats.failed.items()))

    def status(args: list[str]) -> str:
        lines = [
            f"chassis: {ctl.name}",
            f"bound: {' '.join(sorted(ctl.bound)) or '-'}",
            f"flows: {ctl.installed_flows}",
            f"rounds: {ctl.n_rounds}",
            f"compiled: {ctl.cache.stats.compiled} cached: {ctl.cache.stats.cached} "
            f"failed: {len(ctl.cache.stats.failed)}",
        ]
        if hasattr(backend, "n_bundles"):  # the Open vSwitch datapath
            lines.append(
                f"openflow: flow_mods {backend.n_flow_mods} in bundles {backend.n_bundles}"
                f" ({'on' if backend.bundles else 'off: the switch refused them'}),"
                f" full syncs {backend.n_full_syncs}"
            )
        return "\n".join(lines) + "\n"

    unixctl.register("exit", lambda args: (stop.set(), "")[1], "")
    unixctl.register("status", status, "")
    unixctl.register("lflow-failures", failures, "")
    if ctl.datapath != "sim":
        return
    unixctl.register("sim/host", host, "IFACE MAC IP [VLAN]")
    unixctl.register("sim/ping", ping, "IFACE DST_IP [VLAN]")
    unixctl.register("sim/send", send, "IFACE HEXFRAME")
    unixctl.register("sim/recv", recv, "IFACE")
    unixctl.register("sim/dump-flows", lambda args: backend.switch.dump_flows(), "")
    unixctl.register("sim/ports", ports, "")
