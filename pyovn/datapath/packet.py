"""Ethernet frames as OVN header fields, and back.

:func:`parse_frame` turns wire bytes into a :class:`Frame`: a dict of header fields named like
OVN's logical-flow storage fields (``eth.src``, ``vlan.tci``, ``ip4.dst``, ``nd.target``; see
:mod:`pyovn.logical.fields`), the bytes after the deepest header parsed, and the few header
details OVN has no field for (:class:`HeaderExtras`: IPv4 identification, TCP sequence numbers,
...), kept so that ``build_frame(parse_frame(x)) == x``. :func:`build_frame` is the inverse: it
lays the fields out as headers and recomputes every length and checksum.

What is parsed (anything else is carried opaque, as ``payload``):

* Ethernet II, with at most one 802.1Q tag (TPID 0x8100 only; an 802.1ad 0x88a8 tag, or a second
  tag, is an unknown ``eth.type`` with an opaque payload). ``eth.type`` is the type after the
  tag. ``vlan.tci`` follows OVS: bit 12 (0x1000, the DEI bit on the wire) means "a tag is
  present", so a tagged frame's DEI bit is not kept (OVS's kernel datapath does the same), and a
  tag is written back iff ``vlan.tci & 0x1000``. An 802.3 length (< 0x600) is taken as an
  ``eth.type`` like any other.
* ARP and RARP for Ethernet/IPv4 (other hardware or protocol types: opaque, no ``arp.*``).
  Bytes after the 28-byte ARP body (Ethernet padding) are the payload.
* IPv4: options and identification/flags/fragment offset go to :class:`HeaderExtras`.
  ``ip.frag`` is derived as OVS does (bit 0: a fragment, bit 1: not the first); the L4 header of
  a fragment is not parsed. Bytes after the datagram's total length (Ethernet padding) are kept
  as ``extras.trailer``.
* IPv6 without extension headers: ``ip.proto`` is the Next Header value, and a packet whose first
  next header is not TCP, UDP or ICMPv6 has an opaque payload (``ip.frag`` is always 0).
* ICMPv4, ICMPv6: type and code; the rest of the message (echo id/seq, data) is the payload.
  Neighbor Solicitation / Advertisement (type 135/136, code 0): ``nd.target``, ``nd.sll``,
  ``nd.tll`` (0 when the option is absent, as in OVS); the flags word and other options are kept
  in :class:`HeaderExtras`; the payload is empty.
* UDP and TCP (``tcp.flags`` is the 12 low bits of the offset/flags word). A UDP checksum of zero
  ("none", IPv4) is remembered and written back as zero.

Checksums are not checked by default (OVS does not check them either); pass
``verify_checksums=True`` to reject a frame whose IPv4, ICMP, UDP or TCP checksum is wrong.
Malformed or truncated input raises :class:`PacketError`, a :class:`ValueError`.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import replace

from pyovn.datapath.frame import (
    ARP_LEN,
    ETH_HLEN,
    ETH_TYPE_ARP,
    ETH_TYPE_IP4,
    ETH_TYPE_IP6,
    ETH_TYPE_RARP,
    ETH_TYPE_VLAN,
    FIELD_WIDTHS,
    IP4_HLEN,
    IP6_HLEN,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    ND_NA,
    ND_NS,
    ND_OPT_SLL,
    ND_OPT_TLL,
    TCP_HLEN,
    UDP_HLEN,
    VLAN_CFI,
    Frame,
    HeaderExtras,
    PacketError,
    internet_checksum,
    pseudo_header,
)

__all__ = [
    "ETH_TYPE_ARP",
    "ETH_TYPE_IP4",
    "ETH_TYPE_IP6",
    "ETH_TYPE_RARP",
    "ETH_TYPE_VLAN",
    "FIELD_WIDTHS",
    "IPPROTO_ICMP",
    "IPPROTO_ICMPV6",
    "IPPROTO_TCP",
    "IPPROTO_UDP",
    "VLAN_CFI",
    "Frame",
    "HeaderExtras",
    "PacketError",
    "build_frame",
    "internet_checksum",
    "parse_frame",
]


# --------------------------------------------------------------------------------------------
# Parsing.


def _need(data: bytes, n: int, what: str) -> None:
    if len(data) < n:
        raise PacketError(f"truncated {what}: {len(data)} bytes, need {n}")


def parse_frame(data: bytes, *, verify_checksums: bool = False) -> Frame:
    """Parse an Ethernet frame into OVN header fields (see the module docstring)."""
    data = bytes(data)
    _need(data, ETH_HLEN, "Ethernet header")
    eth_type = struct.unpack_from("!H", data, 12)[0]
    fields = {
        "eth.dst": int.from_bytes(data[0:6]),
        "eth.src": int.from_bytes(data[6:12]),
        "eth.type": eth_type,
        "vlan.tci": 0,
    }
    body = data[ETH_HLEN:]
    if eth_type == ETH_TYPE_VLAN:
        _need(body, 4, "802.1Q tag")
        tci, eth_type = struct.unpack_from("!HH", body)
        fields["vlan.tci"] = tci | VLAN_CFI
        fields["eth.type"] = eth_type
        body = body[4:]
    parser = _L3_PARSERS.get(eth_type)
    if parser is None:
        return Frame(fields, body)
    return parser(body, fields, verify_checksums)


def _parse_arp(body: bytes, fields: dict[str, int], verify: bool) -> Frame:
    _need(body, 8, "ARP header")
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", body)
    if (htype, ptype, hlen, plen) != (1, ETH_TYPE_IP4, 6, 4):
        return Frame(fields, body)  # not Ethernet/IPv4: no arp.* fields, carried opaque
    _need(body, ARP_LEN, "ARP packet")
    sha, spa, tha, tpa = struct.unpack_from("!6s4s6s4s", body, 8)
    fields.update(
        {
            "arp.op": op,
            "arp.sha": int.from_bytes(sha),
            "arp.spa": int.from_bytes(spa),
            "arp.tha": int.from_bytes(tha),
            "arp.tpa": int.from_bytes(tpa),
        }
    )
    return Frame(fields, body[ARP_LEN:])


def _parse_ip4(body: bytes, fields: dict[str, int], verify: bool) -> Frame:
    _need(body, IP4_HLEN, "IPv4 header")
    vihl, tos, total, ident, flags_frag, ttl, proto = struct.unpack_from("!BBHHHBB", body)
    if vihl >> 4 != 4:
        raise PacketError(f"IPv4 header with version {vihl >> 4}")
    hlen = (vihl & 0xF) * 4
    if hlen < IP4_HLEN:
        raise PacketError(f"IPv4 header length {hlen} is less than {IP4_HLEN}")
    if total < hlen:
        raise PacketError(f"IPv4 total length {total} is less than the header length {hlen}")
    _need(body, total, "IPv4 packet")
    if verify and internet_checksum(body[:hlen]):
        raise PacketError("bad IPv4 header checksum")
    src, dst = body[12:16], body[16:20]
    flags, frag_offset = flags_frag >> 13, flags_frag & 0x1FFF
    fragment = bool(flags & 1 or frag_offset)
    fields.update(
        {
            "ip.proto": proto,
            "ip.ttl": ttl,
            "ip.dscp": tos >> 2,
            "ip.ecn": tos & 3,
            "ip.frag": (1 if fragment else 0) | (2 if frag_offset else 0),
            "ip4.src": int.from_bytes(src),
            "ip4.dst": int.from_bytes(dst),
        }
    )
    extras = HeaderExtras(
        ip4_id=ident,
        ip4_flags=flags,
        ip4_frag_offset=frag_offset,
        ip4_options=body[IP4_HLEN:hlen],
        trailer=body[total:],
    )
    l4 = body[hlen:total]
    if fragment:
        return Frame(fields, l4, extras)
    return _parse_l4(l4, src, dst, fields, extras, verify)


def _parse_ip6(body: bytes, fields: dict[str, int], verify: bool) -> Frame:
    _need(body, IP6_HLEN, "IPv6 header")
    vtcfl, plen, next_header, hop_limit = struct.unpack_from("!IHBB", body)
    if vtcfl >> 28 != 6:
        raise PacketError(f"IPv6 header with version {vtcfl >> 28}")
    _need(body, IP6_HLEN + plen, "IPv6 packet")
    tclass = (vtcfl >> 20) & 0xFF
    src, dst = body[8:24], body[24:40]
    fields.update(
        {
            "ip.proto": next_header,
            "ip.ttl": hop_limit,
            "ip.dscp": tclass >> 2,
            "ip.ecn": tclass & 3,
            "ip.frag": 0,
            "ip6.label": vtcfl & 0xFFFFF,
            "ip6.src": int.from_bytes(src),
            "ip6.dst": int.from_bytes(dst),
        }
    )
    extras = HeaderExtras(trailer=body[IP6_HLEN + plen :])
    return _parse_l4(body[IP6_HLEN : IP6_HLEN + plen], src, dst, fields, extras, verify)


def _parse_l4(
    seg: bytes,
    src: bytes,
    dst: bytes,
    fields: dict[str, int],
    extras: HeaderExtras,
    verify: bool,
) -> Frame:
    proto = fields["ip.proto"]
    v6 = len(src) == 16
    payload = seg

    def check(what: str, with_pseudo: bool = True) -> None:
        pseudo = pseudo_header(src, dst, proto, len(seg)) if with_pseudo else b""
        if verify and internet_checksum(pseudo + seg):
            raise PacketError(f"bad {what} checksum")

    if proto == IPPROTO_ICMP and not v6:
        _need(seg, 4, "ICMP header")
        check("ICMP", with_pseudo=False)
        fields["icmp4.type"], fields["icmp4.code"] = seg[0], seg[1]
        payload = seg[4:]
    elif proto == IPPROTO_ICMPV6 and v6:
        _need(seg, 4, "ICMPv6 header")
        check("ICMPv6")
        fields["icmp6.type"], fields["icmp6.code"] = seg[0], seg[1]
        payload = seg[4:]
        if seg[0] in (ND_NS, ND_NA) and seg[1] == 0:
            payload, extras = _parse_nd(payload, fields, extras)
    elif proto == IPPROTO_TCP:
        _need(seg, TCP_HLEN, "TCP header")
        sport, dport, seq, ack, off_flags, window, _csum, urgent = struct.unpack_from(
            "!HHIIHHHH", seg
        )
        hlen = (off_flags >> 12) * 4
        if hlen < TCP_HLEN:
            raise PacketError(f"TCP header length {hlen} is less than {TCP_HLEN}")
        _need(seg, hlen, "TCP header with options")
        check("TCP")
        fields.update({"tcp.src": sport, "tcp.dst": dport, "tcp.flags": off_flags & 0xFFF})
        extras = replace(
            extras,
            tcp_seq=seq,
            tcp_ack=ack,
            tcp_window=window,
            tcp_urgent=urgent,
            tcp_options=seg[TCP_HLEN:hlen],
        )
        payload = seg[hlen:]
    elif proto == IPPROTO_UDP:
        _need(seg, UDP_HLEN, "UDP header")
        sport, dport, length, csum = struct.unpack_from("!HHHH", seg)
        if length != len(seg):
            raise PacketError(f"UDP length {length} differs from the IP payload length {len(seg)}")
        if csum == 0:
            extras = replace(extras, udp_zero_checksum=True)
        else:
            check("UDP")
        fields.update({"udp.src": sport, "udp.dst": dport})
        payload = seg[UDP_HLEN:]
    return Frame(fields, payload, extras)


def _parse_nd(
    body: bytes, fields: dict[str, int], extras: HeaderExtras
) -> tuple[bytes, HeaderExtras]:
    """Neighbor Solicitation/Advertisement after the ICMPv6 checksum (RFC 4861 section 4.3/4.4)."""
    _need(body, 20, "neighbor discovery message")
    reserved, target = struct.unpack_from("!I16s", body)
    lla = {ND_OPT_SLL: 0, ND_OPT_TLL: 0}
    layout: list[int | bytes] = []
    rest = body[20:]
    while rest:
        _need(rest, 2, "neighbor discovery option")
        opt_type, units = rest[0], rest[1]
        if units == 0:
            raise PacketError("neighbor discovery option with length 0")
        _need(rest, units * 8, "neighbor discovery option")
        opt, rest = rest[: units * 8], rest[units * 8 :]
        if opt_type in lla and units == 1:
            if opt_type in layout:
                raise PacketError(f"duplicate neighbor discovery option {opt_type}")
            layout.append(opt_type)
            lla[opt_type] = int.from_bytes(opt[2:8])
        else:
            layout.append(opt)
    fields.update(
        {"nd.target": int.from_bytes(target), "nd.sll": lla[ND_OPT_SLL], "nd.tll": lla[ND_OPT_TLL]}
    )
    return b"", replace(extras, nd_reserved=reserved, nd_options=tuple(layout))


_L3_PARSERS = {
    ETH_TYPE_ARP: _parse_arp,
    ETH_TYPE_RARP: _parse_arp,
    ETH_TYPE_IP4: _parse_ip4,
    ETH_TYPE_IP6: _parse_ip6,
}


# --------------------------------------------------------------------------------------------
# Building.


def build_frame(
    fields: Mapping[str, int] | Frame,
    payload: bytes = b"",
    *,
    extras: HeaderExtras | None = None,
) -> bytes:
    """Lay ``fields`` out as an Ethernet frame carrying ``payload``; the inverse of parsing.

    ``fields`` may be a :class:`Frame` (then ``payload`` and ``extras`` come from it). Which
    headers are written is decided by ``eth.type`` and then by the presence of a protocol's key
    field: ``arp.op`` for ARP/RARP, ``ip.proto`` for IPv4/IPv6, ``icmp4.type``, ``icmp6.type``
    (plus ``nd.target`` for ND), ``tcp.src``, ``udp.src`` for L4; otherwise ``payload`` follows
    the last header written, opaque. Fields that are not used (registers, logical ports, other
    protocols' fields) are ignored, so a dict holding every storage field works. A used field
    that is missing defaults to 0 (``ip.ttl``: 64), except ``eth.src``, ``eth.dst``,
    ``eth.type`` and the IP addresses. Lengths and checksums are always recomputed.
    """
    if isinstance(fields, Frame):
        if payload or extras is not None:
            raise TypeError("build_frame(Frame) takes its payload and extras from the frame")
        frame = fields
        return build_frame(frame.fields, frame.payload, extras=frame.extras)
    ext = extras if extras is not None else HeaderExtras()
    f = _Fields(fields)
    eth_type = f.need("eth.type")
    tci = f.get("vlan.tci")
    out = int.to_bytes(f.need("eth.dst"), 6) + int.to_bytes(f.need("eth.src"), 6)
    if tci & VLAN_CFI:
        out += struct.pack("!HH", ETH_TYPE_VLAN, tci & ~VLAN_CFI)
    out += struct.pack("!H", eth_type)
    if eth_type in (ETH_TYPE_ARP, ETH_TYPE_RARP) and "arp.op" in fields:
        return out + _build_arp(f) + payload
    if eth_type == ETH_TYPE_IP4 and "ip.proto" in fields:
        return out + _build_ip4(f, payload, ext) + ext.trailer
    if eth_type == ETH_TYPE_IP6 and "ip.proto" in fields:
        return out + _build_ip6(f, payload, ext) + ext.trailer
    return out + payload


class _Fields:
    """Range-checked access to the fields being built."""

    def __init__(self, fields: Mapping[str, int]) -> None:
        self.fields = fields

    def get(self, name: str, default: int = 0) -> int:
        value = self.fields.get(name, default)
        width = FIELD_WIDTHS[name]
        if not isinstance(value, int) or value < 0 or value >> width:
            raise PacketError(f"{name}={value!r} is not a {width}-bit unsigned integer")
        return value

    def need(self, name: str) -> int:
        if name not in self.fields:
            raise PacketError(f"cannot build a frame without {name}")
        return self.get(name)

    def raw(self, name: str, required: bool = False) -> bytes:
        value = self.need(name) if required else self.get(name)
        return value.to_bytes(FIELD_WIDTHS[name] // 8)


def _check_extra(name: str, value: int, width: int) -> None:
    if value < 0 or value >> width:
        raise PacketError(f"{name}={value!r} is not a {width}-bit unsigned integer")


def _check_options(name: str, options: bytes) -> None:
    if len(options) % 4 or len(options) > 40:
        raise PacketError(f"{name} must be a multiple of 4 bytes, at most 40: {len(options)}")


def _build_arp(f: _Fields) -> bytes:
    head = struct.pack("!HHBBH", 1, ETH_TYPE_IP4, 6, 4, f.get("arp.op"))
    return head + b"".join(f.raw(n) for n in ("arp.sha", "arp.spa", "arp.tha", "arp.tpa"))


def _tos(f: _Fields) -> int:
    return f.get("ip.dscp") << 2 | f.get("ip.ecn")


def _build_ip4(f: _Fields, payload: bytes, ext: HeaderExtras) -> bytes:
    _check_extra("ip4_id", ext.ip4_id, 16)
    _check_extra("ip4_flags", ext.ip4_flags, 3)
    _check_extra("ip4_frag_offset", ext.ip4_frag_offset, 13)
    _check_options("ip4_options", ext.ip4_options)
    proto = f.get("ip.proto")
    src, dst = f.raw("ip4.src", True), f.raw("ip4.dst", True)
    fragment = ext.ip4_flags & 1 or ext.ip4_frag_offset
    seg = payload if fragment else _build_l4(f, proto, src, dst, payload, ext)
    hlen = IP4_HLEN + len(ext.ip4_options)
    total = hlen + len(seg)
    if total > 0xFFFF:
        raise PacketError(f"IPv4 packet of {total} bytes is too long")
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x40 | hlen // 4,
        _tos(f),
        total,
        ext.ip4_id,
        ext.ip4_flags << 13 | ext.ip4_frag_offset,
        f.get("ip.ttl", 64),
        proto,
        0,
        src,
        dst,
    )
    header += ext.ip4_options
    csum = internet_checksum(header)
    return header[:10] + struct.pack("!H", csum) + header[12:] + seg


def _build_ip6(f: _Fields, payload: bytes, ext: HeaderExtras) -> bytes:
    proto = f.get("ip.proto")
    src, dst = f.raw("ip6.src", True), f.raw("ip6.dst", True)
    seg = _build_l4(f, proto, src, dst, payload, ext)
    if len(seg) > 0xFFFF:
        raise PacketError(f"IPv6 payload of {len(seg)} bytes is too long (no jumbograms)")
    first = 6 << 28 | _tos(f) << 20 | f.get("ip6.label")
    return struct.pack("!IHBB", first, len(seg), proto, f.get("ip.ttl", 64)) + src + dst + seg


def _with_checksum(seg: bytes, at: int, pseudo: bytes, zero_is: int | None = None) -> bytes:
    csum = internet_checksum(pseudo + seg)
    if csum == 0 and zero_is is not None:
        csum = zero_is
    return seg[:at] + struct.pack("!H", csum) + seg[at + 2 :]


def _build_l4(
    f: _Fields, proto: int, src: bytes, dst: bytes, payload: bytes, ext: HeaderExtras
) -> bytes:
    v6 = len(src) == 16
    fields = f.fields
    if proto == IPPROTO_ICMP and not v6 and "icmp4.type" in fields:
        seg = struct.pack("!BBH", f.get("icmp4.type"), f.get("icmp4.code"), 0) + payload
        return _with_checksum(seg, 2, b"")
    if proto == IPPROTO_ICMPV6 and v6 and "icmp6.type" in fields:
        icmp_type, code = f.get("icmp6.type"), f.get("icmp6.code")
        body = payload
        if icmp_type in (ND_NS, ND_NA) and code == 0 and "nd.target" in fields:
            body = _build_nd(f, ext) + payload
        seg = struct.pack("!BBH", icmp_type, code, 0) + body
        return _with_checksum(seg, 2, pseudo_header(src, dst, proto, len(seg)))
    if proto == IPPROTO_TCP and "tcp.src" in fields:
        _check_extra("tcp_seq", ext.tcp_seq, 32)
        _check_extra("tcp_ack", ext.tcp_ack, 32)
        _check_extra("tcp_window", ext.tcp_window, 16)
        _check_extra("tcp_urgent", ext.tcp_urgent, 16)
        _check_options("tcp_options", ext.tcp_options)
        hlen = TCP_HLEN + len(ext.tcp_options)
        seg = struct.pack(
            "!HHIIHHHH",
            f.get("tcp.src"),
            f.get("tcp.dst"),
            ext.tcp_seq,
            ext.tcp_ack,
            hlen // 4 << 12 | f.get("tcp.flags"),
            ext.tcp_window,
            0,
            ext.tcp_urgent,
        )
        seg += ext.tcp_options + payload
        return _with_checksum(seg, 16, pseudo_header(src, dst, proto, len(seg)))
    if proto == IPPROTO_UDP and "udp.src" in fields:
        length = UDP_HLEN + len(payload)
        if length > 0xFFFF:
            raise PacketError(f"UDP datagram of {length} bytes is too long")
        seg = struct.pack("!HHHH", f.get("udp.src"), f.get("udp.dst"), length, 0) + payload
        if ext.udp_zero_checksum:
            return seg
        # RFC 768: a computed checksum of zero is sent as all ones (zero means "none").
        return _with_checksum(seg, 6, pseudo_header(src, dst, proto, length), zero_is=0xFFFF)
    return payload


def _build_nd(f: _Fields, ext: HeaderExtras) -> bytes:
    _check_extra("nd_reserved", ext.nd_reserved, 32)
    lla = {ND_OPT_SLL: f.get("nd.sll"), ND_OPT_TLL: f.get("nd.tll")}
    out = struct.pack("!I", ext.nd_reserved) + f.raw("nd.target")
    layout = list(ext.nd_options)
    layout += [t for t in (ND_OPT_SLL, ND_OPT_TLL) if t not in layout]
    for item in layout:
        if isinstance(item, bytes):
            out += item
        elif lla.get(item):
            out += struct.pack("!BB", item, 1) + lla[item].to_bytes(6)
    return out
