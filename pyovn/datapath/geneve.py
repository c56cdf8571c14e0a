"""Geneve (RFC 8926) as OVN uses it between chassis.

A Geneve packet is the payload of a UDP datagram to port 6081::

    |Ver|Opt Len|O|C|Rsvd|  Protocol Type  |   VNI (24 bits)   |Reserved|  options...  | frame

OVN (ovn-architecture(7), "Tunnel Encapsulations") puts the logical datapath's tunnel key in the
VNI and the logical ingress and egress port keys in one option of class 0x0102, type 0x80, four
bytes of data: 1 reserved bit, 15-bit ingress port key, 16-bit egress port key. The protocol type
is 0x6558 (Transparent Ethernet Bridging): the inner packet is an Ethernet frame.

Type 0x80 has the critical bit (the type's top bit) set, so :func:`geneve_encap` also sets the
header's C bit, as Open vSwitch does. :func:`geneve_decap` always walks the whole option list
(RFC 8926 lets a receiver skip options when C is clear; walking them anyway is allowed):
unknown options without the critical bit are skipped (and kept in
:attr:`GenevePacket.options`); an unknown critical option makes the packet undeliverable
(RFC 8926 section 3.5: the receiver MUST drop it), reported as :class:`PacketError`. Reserved
bits are ignored on receipt and written as zero.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pyovn.datapath.frame import ETH_HLEN, PacketError

__all__ = [
    "GENEVE_PORT",
    "OVN_GENEVE_CLASS",
    "OVN_GENEVE_LEN",
    "OVN_GENEVE_TYPE",
    "GeneveOption",
    "GenevePacket",
    "geneve_decap",
    "geneve_encap",
]

GENEVE_PORT = 6081
GENEVE_VERSION = 0
GENEVE_HLEN = 8
ETH_TYPE_TEB = 0x6558  # Transparent Ethernet Bridging
OPT_CRITICAL = 0x80  # in an option's type
FLAG_OAM = 0x80  # in the second header byte
FLAG_CRITICAL = 0x40

OVN_GENEVE_CLASS = 0x0102
OVN_GENEVE_TYPE = 0x80
OVN_GENEVE_LEN = 4  # bytes of option data


@dataclass(frozen=True)
class GeneveOption:
    """One Geneve option: class, type (top bit: critical) and its data (a multiple of 4 bytes)."""

    opt_class: int
    opt_type: int
    data: bytes

    @property
    def critical(self) -> bool:
        return bool(self.opt_type & OPT_CRITICAL)


@dataclass(frozen=True)
class GenevePacket:
    """A decapsulated Geneve packet carrying OVN's metadata."""

    vni: int  # the logical datapath's tunnel key
    inport_key: int  # logical ingress port key (15 bits)
    outport_key: int  # logical egress port key (16 bits; 32768 and up: multicast groups)
    inner: bytes  # the inner Ethernet frame
    options: tuple[GeneveOption, ...] = ()  # other (non-critical) options, in order
    oam: bool = False  # the O bit: a control packet, not for the data path


def _check(name: str, value: int, width: int) -> None:
    if not isinstance(value, int) or value < 0 or value >> width:
        raise PacketError(f"Geneve {name} {value!r} is not a {width}-bit unsigned integer")


def _option(opt: GeneveOption) -> bytes:
    _check("option class", opt.opt_class, 16)
    _check("option type", opt.opt_type, 8)
    if len(opt.data) % 4 or len(opt.data) > 124:
        raise PacketError(f"Geneve option data must be a multiple of 4 bytes up to 124: {opt}")
    return struct.pack("!HBB", opt.opt_class, opt.opt_type, len(opt.data) // 4) + opt.data


def geneve_encap(
    vni: int,
    inport_key: int,
    outport_key: int,
    inner: bytes,
    *,
    options: tuple[GeneveOption, ...] = (),
) -> bytes:
    """The UDP payload carrying ``inner`` (an Ethernet frame) with OVN's metadata.

    ``options`` are extra options written after OVN's. Raises :class:`PacketError` when a key
    does not fit its width or ``inner`` is shorter than an Ethernet header.
    """
    _check("VNI", vni, 24)
    _check("ingress port key", inport_key, 15)
    _check("egress port key", outport_key, 16)
    if len(inner) < ETH_HLEN:
        raise PacketError(f"inner frame of {len(inner)} bytes is shorter than an Ethernet header")
    ovn = GeneveOption(
        OVN_GENEVE_CLASS, OVN_GENEVE_TYPE, struct.pack("!I", inport_key << 16 | outport_key)
    )
    opts = b"".join(_option(o) for o in (ovn, *options))
    if len(opts) > 63 * 4:
        raise PacketError(f"Geneve options of {len(opts)} bytes exceed 252")
    critical = any(o.critical for o in (ovn, *options))
    first = GENEVE_VERSION << 6 | len(opts) // 4
    flags = FLAG_CRITICAL if critical else 0
    return struct.pack("!BBHI", first, flags, ETH_TYPE_TEB, vni << 8) + opts + bytes(inner)


def geneve_decap(data: bytes) -> GenevePacket:
    """Parse a Geneve UDP payload carrying OVN's metadata option (see the module docstring)."""
    data = bytes(data)
    if len(data) < GENEVE_HLEN:
        raise PacketError(f"truncated Geneve header: {len(data)} bytes, need {GENEVE_HLEN}")
    first, flags, proto, vni_word = struct.unpack_from("!BBHI", data)
    if first >> 6 != GENEVE_VERSION:
        raise PacketError(f"Geneve version {first >> 6} is not supported")
    if proto != ETH_TYPE_TEB:
        raise PacketError(f"Geneve protocol type {proto:#06x} is not Ethernet (0x6558)")
    end = GENEVE_HLEN + (first & 0x3F) * 4
    if len(data) < end:
        raise PacketError(f"truncated Geneve options: {len(data)} bytes, need {end}")
    ports: int | None = None
    others: list[GeneveOption] = []
    pos = GENEVE_HLEN
    while pos < end:  # both multiples of 4: an option header always fits
        opt_class, opt_type, length = struct.unpack_from("!HBB", data, pos)
        size = (length & 0x1F) * 4
        if pos + 4 + size > end:
            raise PacketError("Geneve option runs past the options length")
        opt = GeneveOption(opt_class, opt_type, data[pos + 4 : pos + 4 + size])
        pos += 4 + size
        if (opt_class, opt_type) == (OVN_GENEVE_CLASS, OVN_GENEVE_TYPE):
            if ports is not None:
                raise PacketError("duplicate OVN Geneve option")
            if size != OVN_GENEVE_LEN:
                raise PacketError(f"OVN Geneve option with {size} bytes of data, expected 4")
            ports = struct.unpack("!I", opt.data)[0]
        elif opt.critical:
            raise PacketError(
                f"unknown critical Geneve option class {opt_class:#06x} type {opt_type:#04x}"
            )
        else:
            others.append(opt)
    if ports is None:
        raise PacketError("Geneve packet without OVN's metadata option (class 0x0102 type 0x80)")
    inner = data[end:]
    if len(inner) < ETH_HLEN:
        raise PacketError(f"inner frame of {len(inner)} bytes is shorter than an Ethernet header")
    return GenevePacket(
        vni=vni_word >> 8,
        inport_key=(ports >> 16) & 0x7FFF,
        outport_key=ports & 0xFFFF,
        inner=inner,
        options=tuple(others),
        oam=bool(flags & FLAG_OAM),
    )
