"""Crafting and describing frames, for tests, the sandbox and the simulated hosts.

Addresses may be given as text (``"00:00:00:00:00:01"``, ``"10.0.0.1"``, ``"fe80::1"``) or as
integers. ``vlan`` is an 802.1Q VLAN ID (priority 0) or ``None`` for an untagged frame. Every
crafted frame is built by :func:`pyovn.datapath.packet.build_frame`, so lengths and checksums
are right.
"""

from __future__ import annotations

import ipaddress

from pyovn.datapath.frame import (
    ETH_TYPE_ARP,
    ETH_TYPE_IP4,
    ETH_TYPE_IP6,
    ETH_TYPE_RARP,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    ND_NA,
    ND_NS,
    VLAN_CFI,
    Frame,
    HeaderExtras,
    PacketError,
)
from pyovn.datapath.packet import build_frame, parse_frame

__all__ = [
    "BROADCAST",
    "TCP_ACK",
    "TCP_FIN",
    "TCP_PSH",
    "TCP_RST",
    "TCP_SYN",
    "arp_reply",
    "arp_request",
    "describe",
    "icmp4_echo",
    "icmp6_echo",
    "int_to_ip4",
    "int_to_ip6",
    "int_to_mac",
    "ip4_to_int",
    "ip6_to_int",
    "mac_to_int",
    "nd_na",
    "nd_ns",
    "tcp4",
    "udp4",
]

Mac = str | int
Ip = str | int

BROADCAST = "ff:ff:ff:ff:ff:ff"
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10
ND_NA_ROUTER, ND_NA_SOLICITED, ND_NA_OVERRIDE = 1 << 31, 1 << 30, 1 << 29


# --------------------------------------------------------------------------------------------
# Address conversions.


def mac_to_int(mac: Mac) -> int:
    """``"00:00:00:00:00:01"`` -> 1. An integer is checked and returned as is."""
    if isinstance(mac, int):
        if mac < 0 or mac >> 48:
            raise ValueError(f"{mac!r} is not a 48-bit Ethernet address")
        return mac
    parts = mac.split(":")
    if len(parts) != 6 or not all(1 <= len(p) <= 2 for p in parts):
        raise ValueError(f"{mac!r} is not an Ethernet address like 00:00:00:00:00:01")
    try:
        octets = [int(p, 16) for p in parts]
    except ValueError:
        raise ValueError(f"{mac!r} is not an Ethernet address like 00:00:00:00:00:01") from None
    return int.from_bytes(bytes(octets))


def int_to_mac(value: int) -> str:
    """1 -> ``"00:00:00:00:00:01"``."""
    return ":".join(f"{b:02x}" for b in mac_to_int(value).to_bytes(6))


def ip4_to_int(ip: Ip) -> int:
    """``"10.0.0.1"`` -> 0x0A000001."""
    return int(ipaddress.IPv4Address(ip))


def int_to_ip4(value: int) -> str:
    return str(ipaddress.IPv4Address(value))


def ip6_to_int(ip: Ip) -> int:
    return int(ipaddress.IPv6Address(ip))


def int_to_ip6(value: int) -> str:
    return str(ipaddress.IPv6Address(value))


# --------------------------------------------------------------------------------------------
# Frames.


def _eth(src: Mac, dst: Mac, eth_type: int, vlan: int | None) -> dict[str, int]:
    if vlan is not None and not 0 <= vlan <= 0xFFF:
        raise ValueError(f"VLAN ID {vlan} is not in 0..4095")
    return {
        "eth.src": mac_to_int(src),
        "eth.dst": mac_to_int(dst),
        "eth.type": eth_type,
        "vlan.tci": 0 if vlan is None else VLAN_CFI | vlan,
    }


def _arp(
    op: int, src_mac: Mac, dst_mac: Mac, sha: Mac, spa: Ip, tha: Mac, tpa: Ip, vlan: int | None
) -> bytes:
    fields = _eth(src_mac, dst_mac, ETH_TYPE_ARP, vlan)
    fields.update(
        {
            "arp.op": op,
            "arp.sha": mac_to_int(sha),
            "arp.spa": ip4_to_int(spa),
            "arp.tha": mac_to_int(tha),
            "arp.tpa": ip4_to_int(tpa),
        }
    )
    return build_frame(fields)


def arp_request(src_mac: Mac, src_ip: Ip, target_ip: Ip, vlan: int | None = None) -> bytes:
    """A broadcast ARP request: who has ``target_ip``? Tell ``src_ip`` (at ``src_mac``)."""
    return _arp(1, src_mac, BROADCAST, src_mac, src_ip, 0, target_ip, vlan)


def arp_reply(src_mac: Mac, src_ip: Ip, dst_mac: Mac, dst_ip: Ip, vlan: int | None = None) -> bytes:
    """An ARP reply to ``dst_mac``/``dst_ip``: ``src_ip`` is at ``src_mac``."""
    return _arp(2, src_mac, dst_mac, src_mac, src_ip, dst_mac, dst_ip, vlan)


def _ip4(
    src_mac: Mac, dst_mac: Mac, src_ip: Ip, dst_ip: Ip, proto: int, vlan: int | None
) -> dict[str, int]:
    fields = _eth(src_mac, dst_mac, ETH_TYPE_IP4, vlan)
    fields.update(
        {
            "ip.proto": proto,
            "ip.ttl": 64,
            "ip4.src": ip4_to_int(src_ip),
            "ip4.dst": ip4_to_int(dst_ip),
        }
    )
    return fields


def icmp4_echo(
    src_mac: Mac,
    dst_mac: Mac,
    src_ip: Ip,
    dst_ip: Ip,
    ident: int = 1,
    seq: int = 1,
    reply: bool = False,
    vlan: int | None = None,
    payload: bytes = b"pyovn",
) -> bytes:
    """An ICMP echo request (or reply) with identifier ``ident`` and sequence number ``seq``."""
    fields = _ip4(src_mac, dst_mac, src_ip, dst_ip, IPPROTO_ICMP, vlan)
    fields.update({"icmp4.type": 0 if reply else 8, "icmp4.code": 0})
    return build_frame(fields, _echo(ident, seq) + payload)


def _echo(ident: int, seq: int) -> bytes:
    if not (0 <= ident <= 0xFFFF and 0 <= seq <= 0xFFFF):
        raise ValueError(f"echo identifier {ident} and sequence {seq} must be 16-bit")
    return ident.to_bytes(2) + seq.to_bytes(2)


def udp4(
    src_mac: Mac,
    dst_mac: Mac,
    src_ip: Ip,
    dst_ip: Ip,
    sport: int,
    dport: int,
    payload: bytes = b"",
    vlan: int | None = None,
) -> bytes:
    """A UDP datagram over IPv4."""
    fields = _ip4(src_mac, dst_mac, src_ip, dst_ip, IPPROTO_UDP, vlan)
    fields.update({"udp.src": sport, "udp.dst": dport})
    return build_frame(fields, payload)


def tcp4(
    src_mac: Mac,
    dst_mac: Mac,
    src_ip: Ip,
    dst_ip: Ip,
    sport: int,
    dport: int,
    flags: int = TCP_SYN,
    payload: bytes = b"",
    vlan: int | None = None,
    seq: int = 0,
    ack: int = 0,
) -> bytes:
    """A TCP segment over IPv4 (no options, window 65535)."""
    fields = _ip4(src_mac, dst_mac, src_ip, dst_ip, IPPROTO_TCP, vlan)
    fields.update({"tcp.src": sport, "tcp.dst": dport, "tcp.flags": flags})
    return build_frame(fields, payload, extras=HeaderExtras(tcp_seq=seq, tcp_ack=ack))


def _ip6(
    src_mac: Mac, dst_mac: Mac, src_ip: Ip, dst_ip: Ip, hop_limit: int, vlan: int | None
) -> dict[str, int]:
    fields = _eth(src_mac, dst_mac, ETH_TYPE_IP6, vlan)
    fields.update(
        {
            "ip.proto": IPPROTO_ICMPV6,
            "ip.ttl": hop_limit,
            "ip6.src": ip6_to_int(src_ip),
            "ip6.dst": ip6_to_int(dst_ip),
        }
    )
    return fields


def icmp6_echo(
    src_mac: Mac,
    dst_mac: Mac,
    src_ip: Ip,
    dst_ip: Ip,
    ident: int = 1,
    seq: int = 1,
    reply: bool = False,
    vlan: int | None = None,
    payload: bytes = b"pyovn",
) -> bytes:
    """An ICMPv6 echo request (or reply)."""
    fields = _ip6(src_mac, dst_mac, src_ip, dst_ip, 64, vlan)
    fields.update({"icmp6.type": 129 if reply else 128, "icmp6.code": 0})
    return build_frame(fields, _echo(ident, seq) + payload)


def nd_ns(src_mac: Mac, src_ip: Ip, target_ip: Ip, vlan: int | None = None) -> bytes:
    """A Neighbor Solicitation for ``target_ip`` to its solicited-node multicast group
    (RFC 4291 section 2.7.1), with a source link-layer address option."""
    target = ip6_to_int(target_ip)
    group = 0xFF02_0000_0000_0000_0000_0001_FF00_0000 | (target & 0xFFFFFF)
    dst_mac = 0x3333_0000_0000 | (group & 0xFFFFFFFF)
    fields = _ip6(src_mac, dst_mac, src_ip, group, 255, vlan)
    fields.update(
        {
            "icmp6.type": ND_NS,
            "icmp6.code": 0,
            "nd.target": target,
            "nd.sll": mac_to_int(src_mac),
            "nd.tll": 0,
        }
    )
    return build_frame(fields)


def nd_na(
    src_mac: Mac,
    dst_mac: Mac,
    src_ip: Ip,
    dst_ip: Ip,
    target_ip: Ip | None = None,
    nd_flags: int = ND_NA_SOLICITED | ND_NA_OVERRIDE,
    vlan: int | None = None,
) -> bytes:
    """A Neighbor Advertisement: ``target_ip`` (default ``src_ip``) is at ``src_mac``.
    ``nd_flags`` is the 32-bit flags word (ND_NA_ROUTER / ND_NA_SOLICITED / ND_NA_OVERRIDE)."""
    fields = _ip6(src_mac, dst_mac, src_ip, dst_ip, 255, vlan)
    target = ip6_to_int(src_ip if target_ip is None else target_ip)
    fields.update(
        {
            "icmp6.type": ND_NA,
            "icmp6.code": 0,
            "nd.target": target,
            "nd.sll": 0,
            "nd.tll": mac_to_int(src_mac),
        }
    )
    return build_frame(fields, extras=HeaderExtras(nd_reserved=nd_flags))


# --------------------------------------------------------------------------------------------
# Describing.

_TCP_FLAG_CHARS = (
    (0x01, "F"),
    (0x02, "S"),
    (0x04, "R"),
    (0x08, "P"),
    (0x10, "."),
    (0x20, "U"),
    (0x40, "E"),
    (0x80, "W"),
)
_ICMP4_NAMES = {
    0: "echo reply",
    3: "destination unreachable",
    5: "redirect",
    8: "echo request",
    11: "time exceeded",
}
_ICMP6_NAMES = {
    1: "destination unreachable",
    2: "packet too big",
    3: "time exceeded",
    128: "echo request",
    129: "echo reply",
    133: "router solicitation",
    134: "router advertisement",
    135: "neighbor solicitation",
    136: "neighbor advertisement",
}


def describe(frame: Frame | bytes) -> str:
    """A one-line, tcpdump-like summary of a frame, e.g.
    ``00:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, vlan 10, ARP who-has 10.0.0.2 tell 10.0.0.1``.
    Bytes that do not parse give ``malformed frame (REASON), N bytes``."""
    if isinstance(frame, Frame):
        parsed = frame
    else:
        try:
            parsed = parse_frame(frame)
        except PacketError as exc:
            return f"malformed frame ({exc}), {len(frame)} bytes"
    f, payload = parsed.fields, parsed.payload
    text = f"{int_to_mac(f['eth.src'])} > {int_to_mac(f['eth.dst'])}, "
    tci = f.get("vlan.tci", 0)
    if tci & VLAN_CFI:
        text += f"vlan {tci & 0xFFF}, " + (f"p {tci >> 13}, " if tci >> 13 else "")
    eth_type = f["eth.type"]
    if eth_type in (ETH_TYPE_ARP, ETH_TYPE_RARP) and "arp.op" in f:
        return text + _describe_arp(f)
    if eth_type == ETH_TYPE_IP4 and "ip.proto" in f:
        return text + _describe_ip(f, payload, int_to_ip4(f["ip4.src"]), int_to_ip4(f["ip4.dst"]))
    if eth_type == ETH_TYPE_IP6 and "ip.proto" in f:
        return text + _describe_ip(f, payload, int_to_ip6(f["ip6.src"]), int_to_ip6(f["ip6.dst"]))
    return text + f"ethertype {eth_type:#06x}, length {len(payload)}"


def _describe_arp(f: dict[str, int]) -> str:
    op, kind = f["arp.op"], "ARP" if f["eth.type"] == ETH_TYPE_ARP else "RARP"
    spa, tpa = int_to_ip4(f["arp.spa"]), int_to_ip4(f["arp.tpa"])
    sha, tha = int_to_mac(f["arp.sha"]), int_to_mac(f["arp.tha"])
    if op == 1:
        return f"{kind} who-has {tpa} tell {spa}"
    if op == 2:
        return f"{kind} reply {spa} is-at {sha}"
    if op == 3:
        return f"{kind} who-is {tha} tell {sha}"
    if op == 4:
        return f"{kind} reply {tha} at {tpa}"
    return f"{kind} op {op}, {spa} ({sha}) > {tpa} ({tha})"


def _echo_ids(payload: bytes) -> str:
    if len(payload) < 4:
        return ""
    return f", id {int.from_bytes(payload[0:2])}, seq {int.from_bytes(payload[2:4])}"


def _describe_ip(f: dict[str, int], payload: bytes, src: str, dst: str) -> str:
    proto = f["ip.proto"]
    if f.get("ip.frag", 0) & 1:
        offset = "later" if f["ip.frag"] & 2 else "first"
        return f"{src} > {dst}: ip-proto-{proto} fragment ({offset}), length {len(payload)}"
    if "tcp.src" in f and proto == IPPROTO_TCP:
        flags = "".join(c for bit, c in _TCP_FLAG_CHARS if f["tcp.flags"] & bit) or "none"
        ports = f"{src}.{f['tcp.src']} > {dst}.{f['tcp.dst']}"
        return f"{ports}: Flags [{flags}], length {len(payload)}"
    if "udp.src" in f and proto == IPPROTO_UDP:
        return f"{src}.{f['udp.src']} > {dst}.{f['udp.dst']}: UDP, length {len(payload)}"
    if "icmp4.type" in f and proto == IPPROTO_ICMP:
        icmp_type, code = f["icmp4.type"], f["icmp4.code"]
        name = _ICMP4_NAMES.get(icmp_type, f"type {icmp_type}")
        text = f"{src} > {dst}: ICMP {name}"
        if icmp_type in (0, 8):
            text += _echo_ids(payload)
        return text + (f", code {code}" if code else "")
    if "icmp6.type" in f and proto == IPPROTO_ICMPV6:
        icmp_type, code = f["icmp6.type"], f["icmp6.code"]
        text = f"{src} > {dst}: ICMP6, " + _ICMP6_NAMES.get(icmp_type, f"type {icmp_type}")
        if "nd.target" in f and icmp_type == ND_NS:
            text += f", who has {int_to_ip6(f['nd.target'])}"
            if f.get("nd.sll"):
                text += f", sll {int_to_mac(f['nd.sll'])}"
        elif "nd.target" in f and icmp_type == ND_NA:
            text += f", tgt is {int_to_ip6(f['nd.target'])}"
            if f.get("nd.tll"):
                text += f", tll {int_to_mac(f['nd.tll'])}"
        elif icmp_type in (128, 129):
            text += _echo_ids(payload)
        if code:
            text += f", code {code}"
        return text
    return f"{src} > {dst}: ip-proto-{proto}, length {len(payload)}"
