"""Physical flows: how packets enter and leave the logical pipelines on this chassis.

* table phy_to_log: a local VIF's untagged frames become its logical port; a frame on a
  VM's VIF whose VLAN id belongs to a container inside that VM has the tag stripped and
  becomes the container's logical port; any other tagged frame matches nothing and is
  dropped. Tunnel ports go straight to local output (the sender ran the ingress pipeline).
* remote_output: ports (and multicast members) on other chassis go into a tunnel.
* local_output: ports here (and local multicast members) go to the egress pipeline.
* check_loopback: a packet going back out of its inport is dropped unless flags.loopback.
* log_to_phy: out of the VIF; a container's frames get its VLAN tag pushed and leave
  through the parent VM's VIF.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pyovn.datapath.flows import (
    FLAG_LOOPBACK,
    FLAGS,
    IN_PORT,
    INPORT,
    METADATA,
    OUTPORT,
    PORT_SEC,
    T_CHECK_LOOPBACK,
    T_CHK_IN_PORT_SEC,
    T_CHK_OUT_PORT_SEC,
    T_LOCAL_OUTPUT,
    T_LOG_EGRESS,
    T_LOG_INGRESS,
    T_LOG_TO_PHY,
    T_PHY_TO_LOG,
    T_REMOTE_OUTPUT,
    Clone,
    Flow,
    FromTunnel,
    Output,
    PopVlan,
    PushVlan,
    Resubmit,
    SetField,
    Tunnel,
)

VLAN_PRESENT = 0x1000


@dataclass(frozen=True, slots=True)
class LocalPort:
    """A logical port bound on this chassis."""

    name: str
    dp_key: int
    key: int
    ofport: int  # the VIF's port (the parent VM's VIF for a container)
    tag: int | None = None  # set for a container inside a VM
    port_security: tuple[int, ...] = ()  # MACs from Port_Binding.port_security (OVN's northd)


@dataclass(frozen=True, slots=True)
class RemotePort:
    name: str
    dp_key: int
    key: int
    chassis: str


@dataclass(frozen=True, slots=True)
class McGroup:
    dp_key: int
    key: int
    local: tuple[int, ...]  # port keys of members bound here
    remote_chassis: tuple[str, ...]  # chassis with at least one member


@dataclass
class PhysicalState:
    local: list[LocalPort] = field(default_factory=list)
    remote: list[RemotePort] = field(default_factory=list)
    groups: list[McGroup] = field(default_factory=list)
    tunnels: dict[str, Tunnel] = field(default_factory=dict)  # chassis name -> tunnel


def secured_macs(port_security: Iterable[str]) -> tuple[int, ...]:
    """The MACs of a binding's port_security entries ("MAC [IP...]")."""
    out = []
    for entry in sorted(port_security):
        word = entry.split()[0] if entry.split() else ""
        if len(word) == 17 and word.count(":") == 5:
            try:
                out.append(int(word.replace(":", ""), 16))
            except ValueError:
                continue
    return tuple(out)


def physical_flows(state: PhysicalState, memo: dict[Any, list[Flow]] | None = None) -> list[Flow]:
    """The physical flows of ``state``. With ``memo`` (a dict kept by the caller between
    calls) each port's, tunnel's and group's flows are built once and the same Flow objects
    come back while the item is unchanged; the memo keeps only the items of this call."""
    cache = memo if memo is not None else {}
    fresh: dict[Any, list[Flow]] = {}

    def of(key: Any, build: Any, *args: Any) -> list[Flow]:
        flows = cache.get(key)
        if flows is None:
            flows = []
            build(*args, flows.append)
        fresh[key] = flows
        return flows

    flows: list[Flow] = []
    for port in state.local:
        flows += of(port, _local_flows, port)
    for tunnel in state.tunnels.values():
        if tunnel.port:
            flows += of(tunnel, _tunnel_flows, tunnel)
    for rport in state.remote:
        tunnel = state.tunnels.get(rport.chassis)
        if tunnel is not None:
            flows += of((rport, tunnel), _remote_flows, rport, tunnel)
    for group in state.groups:
        remote = tuple(state.tunnels[c] for c in group.remote_chassis if c in state.tunnels)
        flows += of((group, remote), _group_flows, group, remote)
    flows += of("defaults", _default_flows)
    if memo is not None:
        memo.clear()
        memo.update(fresh)
    return flows


def _local_flows(port: LocalPort, add: Any) -> None:
    enter = [
        SetField(METADATA, port.dp_key),
        SetField(INPORT, port.key),
        Resubmit(T_LOG_INGRESS),
    ]
    if port.tag is None:
        add(
            Flow.make(
                T_PHY_TO_LOG,
                100,
                {IN_PORT: port.ofport, "vlan.tci": (0, VLAN_PRESENT)},
                enter,
                f"vif {port.name}",
            )
        )
        leave = [Output(port.ofport)]
    else:
        add(
            Flow.make(
                T_PHY_TO_LOG,
                150,
                {
                    IN_PORT: port.ofport,
                    "vlan.tci": (VLAN_PRESENT | port.tag, VLAN_PRESENT | 0xFFF),
                },
                [PopVlan(), *enter],
                f"container {port.name} tag {port.tag}",
            )
        )
        leave = [PushVlan(port.tag), Output(port.ofport)]
    here = {METADATA: port.dp_key, OUTPORT: port.key}
    add(Flow.make(T_LOCAL_OUTPUT, 100, here, [Resubmit(T_CHECK_LOOPBACK)], port.name))
    add(
        Flow.make(
            T_CHECK_LOOPBACK,
            100,
            {
                METADATA: port.dp_key,
                INPORT: port.key,
                OUTPORT: port.key,
                FLAGS: (0, FLAG_LOOPBACK),
            },
            [],
            f"no loopback {port.name}",
        )
    )
    add(Flow.make(T_LOG_TO_PHY, 100, here, leave, port.name))
    _port_security(port, add)


def _tunnel_flows(tunnel: Tunnel, add: Any) -> None:
    add(
        Flow.make(
            T_PHY_TO_LOG,
            100,
            {IN_PORT: tunnel.port},
            [FromTunnel(), Resubmit(T_LOCAL_OUTPUT)],
            f"from {tunnel.chassis}",
        )
    )


def _remote_flows(port: RemotePort, tunnel: Tunnel, add: Any) -> None:
    add(
        Flow.make(
            T_REMOTE_OUTPUT,
            100,
            {METADATA: port.dp_key, OUTPORT: port.key},
            [tunnel],
            f"remote {port.name} on {port.chassis}",
        )
    )


def _group_flows(group: McGroup, remote: tuple[Tunnel, ...], add: Any) -> None:
    match = {METADATA: group.dp_key, OUTPORT: group.key}
    add(
        Flow.make(
            T_REMOTE_OUTPUT,
            100,
            match,
            [*remote, Resubmit(T_LOCAL_OUTPUT)],
            f"multicast {group.key}",
        )
    )
    copies = [Clone((SetField(OUTPORT, k), Resubmit(T_CHECK_LOOPBACK))) for k in group.local]
    add(Flow.make(T_LOCAL_OUTPUT, 100, match, copies, f"multicast {group.key}"))


def _default_flows(add: Any) -> None:
    add(Flow.make(T_REMOTE_OUTPUT, 0, {}, [Resubmit(T_LOCAL_OUTPUT)], "default"))
    add(Flow.make(T_CHECK_LOOPBACK, 0, {}, [Resubmit(T_LOG_EGRESS)], "default"))


def _port_security(port: LocalPort, add: Any) -> None:
    """check_in_port_sec()/check_out_port_sec(): clear the drop verdict for frames from (to)
    one of the port's MACs, or for any frame when the port has no port security."""
    ok = [SetField(PORT_SEC, 0)]
    for table, mac_field, which in (
        (T_CHK_IN_PORT_SEC, "eth.src", INPORT),
        (T_CHK_OUT_PORT_SEC, "eth.dst", OUTPORT),
    ):
        base = {METADATA: port.dp_key, which: port.key}
        if not port.port_security:
            add(Flow.make(table, 50, base, ok, f"no port security {port.name}"))
            continue
        for mac in port.port_security:
            add(Flow.make(table, 50, {**base, mac_field: mac}, ok, f"port security {port.name}"))
