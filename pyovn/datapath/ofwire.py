"""The flow IR as OpenFlow 1.5 messages (sans-IO: flows in, bytes out), for Open vSwitch.

Matches are OXM lists; the fields OpenFlow does not define use Open vSwitch's NXM headers
(registers, ``vlan_tci``, ``tun_metadata0`` ...), as ``ovs-ofctl -O OpenFlow15`` encodes them.
Actions are OpenFlow's (output, push/pop VLAN, masked set-field) plus Nicira extensions
(resubmit, move, stack push/pop, load, clone). The encoding follows ``openflow.py``'s text
rendering action for action, so ``flow_mod(flow)`` installs exactly the flow that
``ovs-ofctl add-flow`` would install from ``flow_text(flow)``; the interop tests check that
with ``ovs-ofctl ofp-print``.
"""

from __future__ import annotations

import struct
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
from pyovn.datapath.openflow import UnsupportedFlow, of_field

OFP15_VERSION = 0x06
OFPT_HELLO, OFPT_ERROR, OFPT_ECHO_REQUEST, OFPT_ECHO_REPLY = 0, 1, 2, 3
OFPT_FLOW_MOD, OFPT_BARRIER_REQUEST, OFPT_BARRIER_REPLY = 14, 20, 21
OFPFC_ADD, OFPFC_DELETE_STRICT = 0, 4
OFPT_BUNDLE_CONTROL, OFPT_BUNDLE_ADD_MESSAGE = 33, 34
OFPBCT_OPEN_REQUEST, OFPBCT_OPEN_REPLY, OFPBCT_COMMIT_REQUEST, OFPBCT_COMMIT_REPLY = 0, 1, 4, 5
OFPBF_ATOMIC, OFPBF_ORDERED = 1, 2
HEADER = struct.Struct("!BBHI")

_NXM0, _NXM1, _OXM = 0x0000, 0x0001, 0x8000
# OpenFlow field name (openflow.FIELD_MAP's values) -> (class, field, bytes)
FIELDS: dict[str, tuple[int, int, int]] = {
    "in_port": (_OXM, 0, 4),
    "metadata": (_OXM, 2, 8),
    "eth_dst": (_OXM, 3, 6),
    "eth_src": (_OXM, 4, 6),
    "eth_type": (_OXM, 5, 2),
    "vlan_tci": (_NXM0, 4, 2),
    "ip_dscp": (_OXM, 8, 1),
    "ip_ecn": (_OXM, 9, 1),
    "ip_proto": (_OXM, 10, 1),
    "ip_src": (_OXM, 11, 4),
    "ip_dst": (_OXM, 12, 4),
    "tcp_src": (_OXM, 13, 2),
    "tcp_dst": (_OXM, 14, 2),
    "udp_src": (_OXM, 15, 2),
    "udp_dst": (_OXM, 16, 2),
    "sctp_src": (_OXM, 17, 2),
    "sctp_dst": (_OXM, 18, 2),
    "icmp_type": (_OXM, 19, 1),
    "icmp_code": (_OXM, 20, 1),
    "arp_op": (_OXM, 21, 2),
    "arp_spa": (_OXM, 22, 4),
    "arp_tpa": (_OXM, 23, 4),
    "arp_sha": (_OXM, 24, 6),
    "arp_tha": (_OXM, 25, 6),
    "ipv6_src": (_OXM, 26, 16),
    "ipv6_dst": (_OXM, 27, 16),
    "ipv6_label": (_OXM, 28, 4),
    "icmpv6_type": (_OXM, 29, 1),
    "icmpv6_code": (_OXM, 30, 1),
    "nd_target": (_OXM, 31, 16),
    "nd_sll": (_OXM, 32, 6),
    "nd_tll": (_OXM, 33, 6),
    "ip_frag": (_NXM1, 26, 1),
    "nw_ttl": (_NXM1, 29, 1),
    "tcp_flags": (_NXM1, 34, 2),
    "pkt_mark": (_NXM1, 33, 4),
    "ct_state": (_NXM1, 105, 4),
    "ct_mark": (_NXM1, 107, 4),
    "ct_label": (_NXM1, 108, 16),
    "tun_id": (_NXM1, 16, 8),
    "tun_metadata0": (_NXM1, 40, 124),
    "nxm_in_port": (_NXM0, 0, 2),
    **{f"reg{i}": (_NXM1, i, 4) for i in range(16)},
}

# OXM prerequisites must come before the fields that need them
_ORDER = {"eth_type": 0, "vlan_tci": 0, "ip_proto": 1, "icmpv6_type": 2, "icmpv6_code": 2}

_NX_VENDOR = 0x00002320
_NXAST_RESUBMIT_TABLE, _NXAST_STACK_PUSH, _NXAST_STACK_POP, _NXAST_CLONE = 14, 27, 28, 42
_OFPAT_OUTPUT, _OFPAT_PUSH_VLAN, _OFPAT_POP_VLAN, _OFPAT_SET_FIELD = 0, 17, 18, 25
_OFPAT_COPY_FIELD = 28  # OpenFlow 1.5's "move" (Nicira's reg_move is for 1.0-1.4)
_OFPP_IN_PORT = 0xFFF8
_NO_BUFFER = _ANY = 0xFFFFFFFF


def _field(name: str) -> tuple[int, int, int]:
    try:
        return FIELDS[name]
    except KeyError:
        raise UnsupportedFlow(f"no OpenFlow encoding for field {name}") from None


def _header(name: str, masked: bool = False) -> int:
    cls, field, size = _field(name)
    return (cls << 16) | (field << 9) | (int(masked) << 8) | (size * 2 if masked else size)


def _entry(name: str, value: int, mask: int) -> bytes:
    """One OXM/NXM entry; ``mask`` -1 (or all ones) means exact."""
    size = _field(name)[2]
    full = (1 << (8 * size)) - 1
    mask = full if mask == -1 else mask & full
    if mask == full:
        return struct.pack("!I", _header(name)) + (value & full).to_bytes(size, "big")
    return (
        struct.pack("!I", _header(name, True))
        + (value & mask).to_bytes(size, "big")
        + mask.to_bytes(size, "big")
    )


def _pad8(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 8)


def match_bytes(flow: Flow) -> bytes:
    """ofp_match (OXM) for the flow, padded to 8 bytes."""
    entries = sorted(  # (stable: the match's own order within a prerequisite level)
        [_match_entry(name, value, mask) for name, value, mask in flow.match], key=_first
    )
    oxm = b"".join([entry for _, entry in entries])
    return _pad8(struct.pack("!HH", 1, 4 + len(oxm)) + oxm)


@lru_cache(maxsize=65536)
def _match_entry(name: str, value: int, mask: int) -> tuple[int, bytes]:
    """(prerequisite order, OXM entry) of one match field of the flow IR (the same fields
    and values recur across flows)."""
    field = of_field(name)
    return _ORDER.get(field, 3), _entry(field, value, mask)


def _first(entry: tuple[int, bytes]) -> int:
    return entry[0]


def _nx(subtype: int, body: bytes) -> bytes:
    data = struct.pack("!HHIH", 0xFFFF, 0, _NX_VENDOR, subtype) + body
    data = _pad8(data)
    return data[:2] + struct.pack("!H", len(data)) + data[4:]


def _move(src: str, src_ofs: int, dst: str, dst_ofs: int, n_bits: int) -> bytes:
    return _pad8(
        struct.pack(
            "!HHHHH2xII",
            _OFPAT_COPY_FIELD,
            24,
            n_bits,
            src_ofs,
            dst_ofs,
            _header(src),
            _header(dst),
        )
    )


def _stack(subtype: int, field: str, ofs: int, n_bits: int) -> bytes:
    return _nx(subtype, struct.pack("!HIH", ofs, _header(field), n_bits))


def _output(port: int) -> bytes:
    return struct.pack("!HHIH6x", _OFPAT_OUTPUT, 16, port, 0)


def _set_field(name: str, value: int, mask: int) -> bytes:
    entry = _entry(name, value, mask)
    data = _pad8(struct.pack("!HH", _OFPAT_SET_FIELD, 0) + entry)
    return data[:2] + struct.pack("!H", len(data)) + data[4:]


def _bits(name: str) -> int:
    return 8 * _field(name)[2]


def actions_bytes(actions: tuple[Action, ...]) -> bytes:
    out: list[bytes] = []
    depth = 0
    for act in actions:
        if isinstance(act, Drop):
            break
        data, change = _action_bytes(act)
        out.append(data)
        depth += change
    if depth:
        raise UnsupportedFlow("unbalanced exchange")
    return b"".join(out)


@lru_cache(maxsize=65536)
def _action_bytes(act: Action) -> tuple[bytes, int]:
    """One action's encoding and what it does to the stack's depth (actions recur across
    flows: a port's output, a resubmit, a clone of a multicast group's member)."""
    if isinstance(act, SetField):
        return _set_field(of_field(act.field), act.value, act.mask), 0
    if isinstance(act, Move):
        if act.dst == "swap":
            return _stack(_NXAST_STACK_PUSH, of_field(act.src), act.src_ofs, act.n_bits), 1
        if act.src == "swap":
            return _stack(_NXAST_STACK_POP, of_field(act.dst), act.dst_ofs, act.n_bits), -1
        src, dst = of_field(act.src), of_field(act.dst)
        return _move(src, act.src_ofs, dst, act.dst_ofs, act.n_bits), 0
    if isinstance(act, Resubmit):
        return _nx(_NXAST_RESUBMIT_TABLE, struct.pack("!HB3x", _OFPP_IN_PORT, act.table)), 0
    if isinstance(act, Output):
        # as openflow.actions_text: in_port cleared around the output
        return (
            _stack(_NXAST_STACK_PUSH, "nxm_in_port", 0, 16)
            + _set_field("nxm_in_port", 0xFFFF, -1)
            + _output(act.port)
            + _stack(_NXAST_STACK_POP, "nxm_in_port", 0, 16),
            0,
        )
    if isinstance(act, PushVlan):
        push = struct.pack("!HHH2x", _OFPAT_PUSH_VLAN, 8, 0x8100)
        return push + _set_field("vlan_tci", act.vid | 0x1000, -1), 0
    if isinstance(act, PopVlan):
        return struct.pack("!HH4x", _OFPAT_POP_VLAN, 8), 0
    if isinstance(act, Tunnel):
        if not act.port:
            raise UnsupportedFlow(f"tunnel to {act.chassis} has no port yet")
        return (
            _move("metadata", 0, "tun_id", 0, 24)
            + _move("reg14", 0, "tun_metadata0", 16, 15)
            + _move("reg15", 0, "tun_metadata0", 0, 16)
            + _output(act.port),
            0,
        )
    if isinstance(act, FromTunnel):
        return (
            _move("tun_id", 0, "metadata", 0, 24)
            + _move("tun_metadata0", 16, "reg14", 0, 15)
            + _move("tun_metadata0", 0, "reg15", 0, 16),
            0,
        )
    if isinstance(act, Clone):
        inner = actions_bytes(act.actions)
        head = struct.pack("!HHIH6x", 0xFFFF, 16 + len(inner), _NX_VENDOR, _NXAST_CLONE)
        return head + inner, 0
    return b"", 0


def flow_mod(flow: Flow, command: int = OFPFC_ADD, xid: int = 0, cookie: int = 0) -> bytes:
    """OFPT_FLOW_MOD (OpenFlow 1.5) adding ``flow`` (or, OFPFC_DELETE_STRICT, removing the
    flow with its table, priority and match)."""
    body = struct.pack(
        "!QQBBHHHIIIHH",
        cookie if command == OFPFC_ADD else 0,
        0,
        flow.table,
        command,
        0,
        0,
        flow.priority,
        _NO_BUFFER,
        _ANY,
        _ANY,
        0,
        0,
    )
    body += match_bytes(flow)
    if command == OFPFC_ADD:
        acts = actions_bytes(flow.actions)
        if acts:
            body += struct.pack("!HH4x", 4, 8 + len(acts)) + acts  # OFPIT_APPLY_ACTIONS
    return HEADER.pack(OFP15_VERSION, OFPT_FLOW_MOD, HEADER.size + len(body), xid) + body


def bundle_control(xid: int, bundle_id: int, kind: int, flags: int) -> bytes:
    """OFPT_BUNDLE_CONTROL: a request (open or commit) about bundle ``bundle_id``."""
    return HEADER.pack(OFP15_VERSION, OFPT_BUNDLE_CONTROL, 16, xid) + struct.pack(
        "!IHH", bundle_id, kind, flags
    )


def bundle_add(bundle_id: int, message: bytes, flags: int) -> bytes:
    """OFPT_BUNDLE_ADD_MESSAGE carrying ``message`` (a whole OpenFlow message), with the
    message's own xid, as OpenFlow requires (so the switch's errors name the message)."""
    xid = HEADER.unpack_from(message)[3]
    body = struct.pack("!I2xH", bundle_id, flags) + message
    return HEADER.pack(OFP15_VERSION, OFPT_BUNDLE_ADD_MESSAGE, HEADER.size + len(body), xid) + body


def bundled(messages: list[bytes], bundle_id: int, open_xid: int, commit_xid: int) -> list[bytes]:
    """``messages`` as one ordered, atomic bundle: open, add each, commit. The switch applies
    them together (one new version of its tables, so packets and its datapath flow cache
    never see half of the change) or, if one fails, none of them."""
    flags = OFPBF_ATOMIC | OFPBF_ORDERED
    return [
        bundle_control(open_xid, bundle_id, OFPBCT_OPEN_REQUEST, flags),
        *(bundle_add(bundle_id, m, flags) for m in messages),
        bundle_control(commit_xid, bundle_id, OFPBCT_COMMIT_REQUEST, flags),
    ]


def barrier(xid: int) -> bytes:
    return HEADER.pack(OFP15_VERSION, OFPT_BARRIER_REQUEST, HEADER.size, xid)


def hello(versions: tuple[int, ...] = (0x01, 0x04, 0x05, 0x06)) -> bytes:
    """HELLO with a version bitmap, so the switch agrees whatever br-int allows of those."""
    bitmap = 0
    for v in versions:
        bitmap |= 1 << v
    element = struct.pack("!HHI", 1, 8, bitmap)
    return HEADER.pack(max(versions), OFPT_HELLO, HEADER.size + len(element), 0) + element


def split_messages(buffer: bytearray) -> list[tuple[int, int, int, bytes]]:
    """Consume whole messages from ``buffer``: (version, type, xid, body) each."""
    out = []
    while len(buffer) >= HEADER.size:
        version, kind, length, xid = HEADER.unpack_from(buffer)
        if length < HEADER.size:
            raise ValueError(f"bad OpenFlow message length {length}")
        if len(buffer) < length:
            break
        out.append((version, kind, xid, bytes(buffer[HEADER.size : length])))
        del buffer[:length]
    return out


def echo_reply(version: int, xid: int, body: bytes) -> bytes:
    return HEADER.pack(version, OFPT_ECHO_REPLY, HEADER.size + len(body), xid) + body


def negotiated_version(hello_body: bytes, hello_version: int, ours: tuple[int, ...]) -> int | None:
    """The version both sides speak, from the peer's HELLO (version bitmap if present)."""
    theirs: set[int] = set()
    data = hello_body
    while len(data) >= 4:
        kind, length = struct.unpack_from("!HH", data)
        if length < 4:
            break
        if kind == 1:
            for i in range(4, length, 4):
                (word,) = struct.unpack_from("!I", data, i)
                theirs |= {(i - 4) * 8 + b for b in range(32) if word >> b & 1}
        data = data[(length + 7) // 8 * 8 :]
    if not theirs:
        theirs = set(range(1, hello_version + 1))
    common = theirs & set(ours)
    return max(common) if common else None
