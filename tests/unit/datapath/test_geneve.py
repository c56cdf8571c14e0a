"""Geneve encapsulation with OVN's metadata option (ovn-architecture(7), RFC 8926)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyovn.datapath.craft import udp4
from pyovn.datapath.geneve import (
    GENEVE_PORT,
    GeneveOption,
    GenevePacket,
    geneve_decap,
    geneve_encap,
)
from pyovn.datapath.packet import PacketError, parse_frame

INNER = bytes.fromhex("00000000000200000000000188b5") + b"inner payload"


def header(
    opt_words: int, flags: int = 0x40, proto: int = 0x6558, vni: int = 5, ver: int = 0
) -> bytes:
    return bytes([ver << 6 | opt_words, flags]) + struct.pack("!H", proto) + vni.to_bytes(3) + b"\0"


def option(opt_class: int, opt_type: int, data: bytes) -> bytes:
    return struct.pack("!HBB", opt_class, opt_type, len(data) // 4) + data


OVN_OPT = option(0x0102, 0x80, bytes.fromhex("00010002"))  # ingress 1, egress 2


def test_encap_byte_layout() -> None:
    expected = (
        bytes.fromhex("02 40 6558")  # version 0, 2 words of options; C bit; TEB
        + bytes.fromhex("123456 00")  # VNI, reserved
        + bytes.fromhex("0102 80 01")  # class 0x0102, type 0x80 (critical), 1 word
        + bytes.fromhex("1234 8001")  # rsv|ingress 0x1234, egress 0x8001
        + INNER
    )
    assert geneve_encap(0x123456, 0x1234, 0x8001, INNER) == expected
    assert geneve_decap(expected) == GenevePacket(0x123456, 0x1234, 0x8001, INNER)


@given(
    st.integers(0, (1 << 24) - 1),
    st.integers(0, 0x7FFF),
    st.integers(0, 0xFFFF),
    st.binary(min_size=14, max_size=80),
)
def test_roundtrip(vni: int, inport: int, outport: int, inner: bytes) -> None:
    data = geneve_encap(vni, inport, outport, inner)
    assert len(data) == 16 + len(inner)
    assert geneve_decap(data) == GenevePacket(vni, inport, outport, inner)


def test_reserved_bit_is_ignored() -> None:
    data = header(2) + option(0x0102, 0x80, bytes.fromhex("80030004")) + INNER
    pkt = geneve_decap(data)
    assert (pkt.inport_key, pkt.outport_key) == (3, 4)


def test_unknown_noncritical_options_are_skipped_and_kept() -> None:
    before = GeneveOption(0xFFFF, 0x01, b"abcd")
    after = GeneveOption(0x0102, 0x01, b"")
    data = header(5) + option(0xFFFF, 0x01, b"abcd") + OVN_OPT + option(0x0102, 0x01, b"") + INNER
    pkt = geneve_decap(data)
    assert (pkt.vni, pkt.inport_key, pkt.outport_key, pkt.inner) == (5, 1, 2, INNER)
    assert pkt.options == (before, after)
    assert not before.critical


def test_encap_with_extra_options() -> None:
    extra = GeneveOption(0x0105, 0x02, b"12345678")
    data = geneve_encap(7, 1, 2, INNER, options=(extra,))
    assert data[:16] == header(5, vni=7) + OVN_OPT
    assert data[16:28] == option(0x0105, 0x02, b"12345678")
    assert geneve_decap(data).options == (extra,)


def test_oam_bit_and_clear_critical_bit_are_accepted() -> None:
    pkt = geneve_decap(header(2, flags=0x80) + OVN_OPT + INNER)
    assert pkt.oam and pkt.inport_key == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (header(2, ver=1) + OVN_OPT + INNER, "version 1"),
        (header(2, proto=0x0800) + OVN_OPT + INNER, "protocol type 0x0800"),
        (header(0) + INNER, "without OVN"),
        (header(2) + option(0x0102, 0x81, b"1234") + INNER, "critical"),
        (header(4) + OVN_OPT + OVN_OPT + INNER, "duplicate"),
        (header(3) + option(0x0102, 0x80, bytes(8)) + INNER, "8 bytes of data"),
        (header(2) + option(0x0102, 0x80, bytes(8))[:8] + INNER, "runs past"),
        (header(1) + OVN_OPT + INNER, "runs past"),
        (header(63) + OVN_OPT + INNER, "truncated Geneve options"),
        (header(2) + OVN_OPT + INNER[:13], "shorter than an Ethernet header"),
    ],
)
def test_malformed(data: bytes, message: str) -> None:
    with pytest.raises(PacketError, match=message):
        geneve_decap(data)


def test_every_truncation_raises() -> None:
    data = geneve_encap(1, 2, 3, INNER)
    for n in range(16 + 14):
        with pytest.raises(PacketError):
            geneve_decap(data[:n])


@pytest.mark.parametrize(
    ("vni", "inport", "outport", "inner"),
    [
        (1 << 24, 1, 1, INNER),
        (-1, 1, 1, INNER),
        (1, 1 << 15, 1, INNER),
        (1, 1, 1 << 16, INNER),
        (1, 1, 1, INNER[:13]),
    ],
)
def test_encap_rejects_bad_arguments(vni: int, inport: int, outport: int, inner: bytes) -> None:
    with pytest.raises(PacketError):
        geneve_encap(vni, inport, outport, inner)


def test_encap_rejects_bad_options() -> None:
    with pytest.raises(PacketError, match="multiple of 4"):
        geneve_encap(1, 1, 1, INNER, options=(GeneveOption(1, 1, b"abc"),))
    big = tuple(GeneveOption(1, 1, bytes(120)) for _ in range(3))
    with pytest.raises(PacketError, match="exceed 252"):
        geneve_encap(1, 1, 1, INNER, options=big)


def test_geneve_in_udp() -> None:
    payload = geneve_encap(0x10, 3, 0x8000, INNER)
    outer = udp4(1, 2, "192.168.0.1", "192.168.0.2", 49152, GENEVE_PORT, payload)
    frame = parse_frame(outer, verify_checksums=True)
    assert frame.fields["udp.dst"] == 6081
    pkt = geneve_decap(frame.payload)
    assert (pkt.vni, pkt.inport_key, pkt.outport_key, pkt.inner) == (0x10, 3, 0x8000, INNER)
