"""The flow IR in Open vSwitch's flow syntax (as ``ovs-ofctl add-flows`` reads it).

Logical storage fields map to OpenFlow fields the way ovn-controller maps them: ``inport``
is reg14, ``outport`` reg15, ``flags`` reg10, the datapath key is ``metadata``. Geneve
tunnels carry the datapath key in ``tun_id`` and the logical ports in ``tun_metadata0``
(OVN's option class 0x0102 type 0x80, mapped with ``ovs-ofctl add-tlv-map``).
"""

from __future__ import annotations

from functools import lru_cache

from pyovn.datapath.flows import (
    Action,
    Clone,
    Drop,
    Flow,
    FromTunnel,
    Move,
    Output,
    PopVlan,
    PushVlan,
    Resubmit,
    SetField,
    Tunnel,
)

FIELD_MAP = {
    "in_port": "in_port",
    "metadata": "metadata",
    "inport": "reg14",
    "outport": "reg15",
    "flags": "reg10",
    "eth.src": "eth_src",
    "eth.dst": "eth_dst",
    "eth.type": "eth_type",
    "vlan.tci": "vlan_tci",
    "arp.op": "arp_op",
    "arp.spa": "arp_spa",
    "arp.tpa": "arp_tpa",
    "arp.sha": "arp_sha",
    "arp.tha": "arp_tha",
    "ip4.src": "ip_src",
    "ip4.dst": "ip_dst",
    "ip.proto": "ip_proto",
    "ip.ttl": "nw_ttl",
    "ip.dscp": "ip_dscp",
    "ip.ecn": "ip_ecn",
    "ip.frag": "ip_frag",
    "icmp4.type": "icmp_type",
    "icmp4.code": "icmp_code",
    "tcp.src": "tcp_src",
    "tcp.dst": "tcp_dst",
    "tcp.flags": "tcp_flags",
    "udp.src": "udp_src",
    "udp.dst": "udp_dst",
    "sctp.src": "sctp_src",
    "sctp.dst": "sctp_dst",
    "ip6.src": "ipv6_src",
    "ip6.dst": "ipv6_dst",
    "ip6.label": "ipv6_label",
    "icmp6.type": "icmpv6_type",
    "icmp6.code": "icmpv6_code",
    "nd.target": "nd_target",
    "nd.sll": "nd_sll",
    "nd.tll": "nd_tll",
    "pkt.mark": "pkt_mark",
    "ct_state": "ct_state",
    "ct_mark": "ct_mark",
    "ct_label": "ct_label",
    **{f"reg{i}": f"reg{i}" for i in range(10)},
    "portsec": "reg13",  # port security verdict (pyovn's controller does no conntrack)
}
# OpenFlow needs these NXM names for move/set_field on registers and metadata
MOVE_NAMES = {
    "reg14": "NXM_NX_REG14",
    "reg15": "NXM_NX_REG15",
    "reg10": "NXM_NX_REG10",
    "metadata": "OXM_OF_METADATA",
    "tun_id": "NXM_NX_TUN_ID",
    "tun_metadata0": "NXM_NX_TUN_METADATA0",
}
WIDTHS = {
    "eth_src": 48,
    "eth_dst": 48,
    "arp_sha": 48,
    "arp_tha": 48,
    "nd_sll": 48,
    "nd_tll": 48,
    "metadata": 64,
    "ipv6_src": 128,
    "ipv6_dst": 128,
    "nd_target": 128,
    "ct_label": 128,
}


class UnsupportedFlow(ValueError):
    pass


def of_field(name: str) -> str:
    try:
        return FIELD_MAP[name]
    except KeyError:
        raise UnsupportedFlow(f"no OpenFlow field for {name}") from None


def _mac(value: int) -> str:
    return ":".join(f"{(value >> (8 * i)) & 0xFF:02x}" for i in range(5, -1, -1))


def _ip4(value: int) -> str:
    return ".".join(str((value >> (8 * i)) & 0xFF) for i in range(3, -1, -1))


def _value(field: str, value: int) -> str:
    if field in ("eth_src", "eth_dst", "arp_sha", "arp_tha", "nd_sll", "nd_tll"):
        return _mac(value)
    if field in ("ip_src", "ip_dst", "arp_spa", "arp_tpa"):
        return _ip4(value)
    if field == "in_port":
        return str(value)
    return hex(value)


def _width(field: str) -> int:
    if field in WIDTHS:
        return WIDTHS[field]
    if field in ("ip_src", "ip_dst", "arp_spa", "arp_tpa") or field.startswith("reg"):
        return 32
    return 16


def match_text(flow: Flow) -> str:
    parts = [f"table={flow.table}", f"priority={flow.priority}"]
    parts += [_match_part(name, value, mask) for name, value, mask in flow.match]
    return ",".join(parts)


@lru_cache(maxsize=65536)
def _match_part(name: str, value: int, mask: int) -> str:
    """One match field's text (the same fields and values recur across flows)."""
    field = of_field(name)
    full = (1 << _width(field)) - 1
    if mask == -1 or mask & full == full:
        return f"{field}={_value(field, value)}"
    return f"{field}={_value(field, value & mask)}/{_value(field, mask & full)}"


def _ref(field: str, lo: int, n: int) -> str:
    name = MOVE_NAMES.get(field, field)
    return f"{name}[{lo}..{lo + n - 1}]"


def actions_text(actions: tuple[Action, ...]) -> str:
    out: list[str] = []
    stack_depth = 0
    for act in actions:
        if isinstance(act, Drop):
            out.append("drop")
            break
        text, depth = _action_text(act)
        if text:
            out.append(text)
        stack_depth += depth
    if stack_depth:
        raise UnsupportedFlow("unbalanced exchange")
    return ",".join(out) or "drop"


@lru_cache(maxsize=65536)
def _action_text(act: Action) -> tuple[str, int]:
    """One action's text and what it does to the stack's depth (actions recur across
    flows: a port's output, a resubmit, a clone of a multicast group's member)."""
    if isinstance(act, SetField):
        field = of_field(act.field)
        full = (1 << _width(field)) - 1
        if act.mask == -1 or act.mask & full == full:
            return f"set_field:{_value(field, act.value)}->{field}", 0
        return (
            f"set_field:{_value(field, act.value & act.mask)}/"
            f"{_value(field, act.mask & full)}->{field}",
            0,
        )
    if isinstance(act, Move):
        if act.dst == "swap":
            return f"push:{_ref(of_field(act.src), act.src_ofs, act.n_bits)}", 1
        if act.src == "swap":
            return f"pop:{_ref(of_field(act.dst), act.dst_ofs, act.n_bits)}", -1
        return (
            f"move:{_ref(of_field(act.src), act.src_ofs, act.n_bits)}->"
            f"{_ref(of_field(act.dst), act.dst_ofs, act.n_bits)}",
            0,
        )
    if isinstance(act, Resubmit):
        return f"resubmit(,{act.table})", 0
    if isinstance(act, Output):
        # OpenFlow never sends a packet back out of its in_port; the logical pipeline
        # already decided (flags.loopback), so clear in_port around the output
        # (set_field, not load: the switch reports it back as set_field, and
        # replace-flows must see the installed flow as the same one)
        return (
            f"push:NXM_OF_IN_PORT[],set_field:ANY->in_port,output:{act.port},pop:NXM_OF_IN_PORT[]",
            0,
        )
    if isinstance(act, PushVlan):
        return f"push_vlan:0x8100,set_field:{act.vid | 0x1000}->vlan_tci", 0
    if isinstance(act, PopVlan):
        return "pop_vlan", 0
    if isinstance(act, Tunnel):
        if not act.port:
            raise UnsupportedFlow(f"tunnel to {act.chassis} has no port yet")
        return (
            "move:OXM_OF_METADATA[0..23]->NXM_NX_TUN_ID[0..23],"
            "move:NXM_NX_REG14[0..14]->NXM_NX_TUN_METADATA0[16..30],"
            "move:NXM_NX_REG15[0..15]->NXM_NX_TUN_METADATA0[0..15],"
            f"output:{act.port}",
            0,
        )
    if isinstance(act, FromTunnel):
        return (
            "move:NXM_NX_TUN_ID[0..23]->OXM_OF_METADATA[0..23],"
            "move:NXM_NX_TUN_METADATA0[16..30]->NXM_NX_REG14[0..14],"
            "move:NXM_NX_TUN_METADATA0[0..15]->NXM_NX_REG15[0..15]",
            0,
        )
    if isinstance(act, Clone):
        return f"clone({actions_text(act.actions)})", 0
    return "", 0


def flow_cookie(flow: Flow) -> int:
    """The OpenFlow cookie: the first 32 bits of the logical flow's UUID (0 for physical
    flows, whose cookie is a description)."""
    return int(flow.cookie[:8], 16) if _is_hex(flow.cookie[:8]) else 0


def flow_text(flow: Flow) -> str:
    cookie = flow_cookie(flow)
    return f"cookie={cookie:#x},{match_text(flow)},actions={actions_text(flow.actions)}"


def _is_hex(text: str) -> bool:
    if len(text) != 8:
        return False
    try:
        int(text, 16)
    except ValueError:
        return False
    return True
