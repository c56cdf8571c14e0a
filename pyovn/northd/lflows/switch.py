"""Logical flows of a logical switch, in OVN's logical-flow language.

Two kinds of owners: the switch itself (defaults, flooding, what to do with unknown
destinations) and each of its ports (port security, ARP responder, MAC lookup). Adding,
changing or deleting a port regenerates that port's flows and the switch's few flows only.
"""

from __future__ import annotations

from pyovn.northd.addresses import has_unknown, parse_all
from pyovn.northd.model import LFlow, PortInfo, SwitchInfo
from pyovn.northd.stages import (
    ARP_RSP,
    L2_LKUP,
    L2_UNKNOWN,
    MC_FLOOD,
    MC_UNKNOWN,
    OUT_PORT_SEC_L2,
    PORT_SEC_L2,
)

# Port types that are not VIFs of a VM/container: no ARP responder or port security for them.
_NON_VIF_TYPES = ("router", "localnet", "l2gateway", "vtep")


def quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mac_set(macs: list[str]) -> str:
    return "{" + ", ".join(macs) + "}"


def switch_flows(sw: SwitchInfo, any_unknown: bool) -> list[LFlow]:
    dp = sw.uuid
    flows = [
        LFlow(dp, PORT_SEC_L2, 100, "vlan.present", "drop;", dp),
        LFlow(dp, PORT_SEC_L2, 100, "eth.src[40]", "drop;", dp),
        LFlow(dp, PORT_SEC_L2, 0, "1", "drop;", dp),
        LFlow(dp, ARP_RSP, 0, "1", "next;", dp),
        LFlow(dp, L2_LKUP, 70, "eth.mcast", f"outport = {quoted(MC_FLOOD)}; output;", dp),
        LFlow(dp, L2_LKUP, 0, "1", "next;", dp),
        LFlow(dp, L2_UNKNOWN, 0, "1", "output;", dp),
        LFlow(dp, OUT_PORT_SEC_L2, 100, "eth.mcast", "output;", dp),
        LFlow(dp, OUT_PORT_SEC_L2, 0, "1", "drop;", dp),
    ]
    if any_unknown:
        flows.append(
            LFlow(
                dp,
                L2_UNKNOWN,
                50,
                'outport == "none"',
                f"outport = {quoted(MC_UNKNOWN)}; output;",
                dp,
            )
        )
    else:
        flows.append(LFlow(dp, L2_UNKNOWN, 50, 'outport == "none"', "drop;", dp))
    return flows


def port_flows(port: PortInfo) -> list[LFlow]:
    dp = port.switch
    hint = port.uuid
    name = quoted(port.name)
    flows: list[LFlow] = []
    if not port.enabled:
        flows.append(LFlow(dp, PORT_SEC_L2, 100, f"inport == {name}", "drop;", hint))
        flows.append(LFlow(dp, L2_UNKNOWN, 50, f"outport == {name}", "drop;", hint))
        flows.append(LFlow(dp, OUT_PORT_SEC_L2, 150, f"outport == {name}", "drop;", hint))
        for addr in parse_all(port.addresses):
            flows.append(LFlow(dp, L2_LKUP, 50, f"eth.dst == {addr.mac}", "drop;", hint))
        return flows

    secured = [a.mac for a in parse_all(port.port_security)]
    if secured:
        macs = mac_set(sorted(set(secured)))
        flows.append(
            LFlow(dp, PORT_SEC_L2, 50, f"inport == {name} && eth.src == {macs}", "next;", hint)
        )
        flows.append(
            LFlow(
                dp, OUT_PORT_SEC_L2, 50, f"outport == {name} && eth.dst == {macs}", "output;", hint
            )
        )
    else:
        flows.append(LFlow(dp, PORT_SEC_L2, 50, f"inport == {name}", "next;", hint))
        flows.append(LFlow(dp, OUT_PORT_SEC_L2, 50, f"outport == {name}", "output;", hint))

    for addr in parse_all(port.addresses):
        flows.append(
            LFlow(dp, L2_LKUP, 50, f"eth.dst == {addr.mac}", f"outport = {name}; output;", hint)
        )
        if port.type in _NON_VIF_TYPES:
            continue
        for ip in addr.ipv4:
            flows.append(
                LFlow(
                    dp,
                    ARP_RSP,
                    100,
                    f"arp.tpa == {ip} && arp.op == 1 && inport == {name}",
                    "next;",
                    hint,
                )
            )
            flows.append(
                LFlow(
                    dp,
                    ARP_RSP,
                    50,
                    f"arp.tpa == {ip} && arp.op == 1",
                    arp_reply_actions(addr.mac, ip),
                    hint,
                )
            )
    return flows


def arp_reply_actions(mac: str, ip: str) -> str:
    return (
        f"eth.dst = eth.src; eth.src = {mac}; arp.op = 2; /* ARP reply */ "
        f"arp.tha = arp.sha; arp.sha = {mac}; arp.tpa = arp.spa; arp.spa = {ip}; "
        "outport = inport; flags.loopback = 1; output;"
    )


def port_wants_unknown(port: PortInfo) -> bool:
    return port.enabled and has_unknown(port.addresses)
