"""The data model of a parsed frame: fields, extras, constants, the Internet checksum.

Parsing and building live in :mod:`pyovn.datapath.packet`, which re-exports everything here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field


class PacketError(ValueError):
    """Bytes that are not a well-formed frame, or fields that cannot be laid out as one."""


ETH_TYPE_IP4 = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_RARP = 0x8035
ETH_TYPE_VLAN = 0x8100
ETH_TYPE_IP6 = 0x86DD
VLAN_CFI = 0x1000  # in vlan.tci: "an 802.1Q tag is present" (OVS convention)

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58

ND_NS = 135
ND_NA = 136
ND_OPT_SLL = 1
ND_OPT_TLL = 2

ETH_HLEN = 14
ARP_LEN = 28
IP4_HLEN = 20
IP6_HLEN = 40
TCP_HLEN = 20
UDP_HLEN = 8

#: The fields :func:`parse_frame` produces and :func:`build_frame` reads, with their widths.
FIELD_WIDTHS: dict[str, int] = {
    "eth.src": 48,
    "eth.dst": 48,
    "eth.type": 16,
    "vlan.tci": 16,
    "arp.op": 16,
    "arp.spa": 32,
    "arp.tpa": 32,
    "arp.sha": 48,
    "arp.tha": 48,
    "ip.proto": 8,
    "ip.ttl": 8,
    "ip.dscp": 6,
    "ip.ecn": 2,
    "ip.frag": 8,
    "ip4.src": 32,
    "ip4.dst": 32,
    "ip6.src": 128,
    "ip6.dst": 128,
    "ip6.label": 20,
    "icmp4.type": 8,
    "icmp4.code": 8,
    "icmp6.type": 8,
    "icmp6.code": 8,
    "tcp.src": 16,
    "tcp.dst": 16,
    "tcp.flags": 12,
    "udp.src": 16,
    "udp.dst": 16,
    "nd.target": 128,
    "nd.sll": 48,
    "nd.tll": 48,
}


@dataclass(frozen=True)
class HeaderExtras:
    """Header details OVN has no field for, kept so a parsed frame rebuilds byte for byte.

    The defaults are what :func:`build_frame` writes for a frame made from fields alone.
    """

    ip4_id: int = 0
    ip4_flags: int = 0  # 3 bits, most significant first: reserved, DF (0b010), MF (0b001)
    ip4_frag_offset: int = 0  # in 8-byte units
    ip4_options: bytes = b""  # a multiple of 4 bytes, at most 40
    tcp_seq: int = 0
    tcp_ack: int = 0
    tcp_window: int = 65535
    tcp_urgent: int = 0
    tcp_options: bytes = b""  # a multiple of 4 bytes, at most 40
    udp_zero_checksum: bool = False  # the sender sent no UDP checksum: write 0 back
    nd_reserved: int = 0  # the 32-bit word after the ICMPv6 checksum (NA: R/S/O flags on top)
    # The order of the ND options: ND_OPT_SLL / ND_OPT_TLL mark where nd.sll / nd.tll go (each
    # written only when nonzero); bytes are other options, kept whole. Empty: SLL then TLL.
    nd_options: tuple[int | bytes, ...] = ()
    trailer: bytes = b""  # bytes after the end of the IP packet (Ethernet padding)


@dataclass(frozen=True)
class Frame:
    """A parsed frame: header fields, the bytes after the deepest header parsed, and extras."""

    fields: dict[str, int]
    payload: bytes = b""
    extras: HeaderExtras = field(default_factory=HeaderExtras)


def internet_checksum(data: bytes) -> int:
    """The 16-bit one's complement of the one's complement sum of ``data`` (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    """The IPv4 (RFC 793/768) or IPv6 (RFC 8200 section 8.1) pseudo-header for a checksum."""
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!I3xB", length, proto)
