"""Crafting helpers and describe(), cross-checked with tcpdump when it is installed."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from pyovn.datapath.craft import (
    TCP_ACK,
    TCP_PSH,
    TCP_SYN,
    arp_reply,
    arp_request,
    describe,
    icmp4_echo,
    icmp6_echo,
    int_to_ip4,
    int_to_ip6,
    int_to_mac,
    ip4_to_int,
    ip6_to_int,
    mac_to_int,
    nd_na,
    nd_ns,
    tcp4,
    udp4,
)
from pyovn.datapath.geneve import geneve_encap
from pyovn.datapath.packet import build_frame, parse_frame

from .packet_oracle import check_frame

M1, M2 = "00:00:00:00:00:01", "00:00:00:00:00:02"
E12 = f"{M1} > {M2}, "
E21 = f"{M2} > {M1}, "


# ------------------------------------------------------------------------------ conversions


def test_mac_conversions() -> None:
    assert mac_to_int("00:00:00:00:00:01") == 1
    assert mac_to_int("FF:ff:ff:ff:ff:fe") == 0xFFFFFFFFFFFE
    assert mac_to_int("0:1:2:3:4:5") == 0x000102030405
    assert mac_to_int(7) == 7
    assert int_to_mac(0x0A0B0C0D0E0F) == "0a:0b:0c:0d:0e:0f"
    assert int_to_mac(mac_to_int("12:34:56:78:9a:bc")) == "12:34:56:78:9a:bc"


@pytest.mark.parametrize(
    "bad", ["00:00:00:00:00", "00:00:00:00:00:001", "zz:00:00:00:00:00", "", -1, 1 << 48]
)
def test_mac_conversion_errors(bad: str | int) -> None:
    with pytest.raises(ValueError):
        mac_to_int(bad)


def test_ip_conversions() -> None:
    assert ip4_to_int("10.0.0.1") == 0x0A000001
    assert int_to_ip4(0xC0A80001) == "192.168.0.1"
    assert ip6_to_int("fe80::1") == (0xFE80 << 112) | 1
    assert int_to_ip6((0x2001 << 112) | (0xDB8 << 96) | 2) == "2001:db8::2"
    with pytest.raises(ValueError):
        ip4_to_int("10.0.0.256")
    with pytest.raises(ValueError):
        ip6_to_int("fe80:::1")


# ---------------------------------------------------------------------------------- crafting


def test_arp_request_bytes() -> None:
    data = arp_request(M1, "10.0.0.1", "10.0.0.2", vlan=10)
    expected = (
        b"\xff" * 6
        + bytes.fromhex("000000000001 8100 000a 0806")
        + bytes.fromhex("0001 0800 06 04 0001")
        + bytes.fromhex("000000000001 0a000001 000000000000 0a000002")
    )
    assert data == expected


def test_arp_reply_fields() -> None:
    f = parse_frame(arp_reply(M2, "10.0.0.2", M1, "10.0.0.1")).fields
    assert (f["eth.src"], f["eth.dst"], f["vlan.tci"], f["arp.op"]) == (2, 1, 0, 2)
    assert (f["arp.sha"], f["arp.spa"], f["arp.tha"], f["arp.tpa"]) == (
        2,
        0x0A000002,
        1,
        0x0A000001,
    )


@pytest.mark.parametrize("reply", [False, True])
def test_icmp4_echo(reply: bool) -> None:
    data = icmp4_echo(M1, M2, "10.0.0.1", "10.0.0.2", ident=0x1234, seq=7, reply=reply, vlan=3)
    frame = parse_frame(data, verify_checksums=True)
    assert frame.fields["icmp4.type"] == (0 if reply else 8)
    assert frame.fields["vlan.tci"] == 0x1003
    assert frame.payload == b"\x12\x34\x00\x07pyovn"
    assert check_frame(data) == ["ip4-header", "icmp4"]


def test_udp4_and_tcp4() -> None:
    udp = parse_frame(udp4(M1, M2, "10.0.0.1", "10.0.0.2", 1000, 2000, b"data"))
    assert (udp.fields["udp.src"], udp.fields["udp.dst"], udp.payload) == (1000, 2000, b"data")
    data = tcp4(M1, M2, "10.0.0.1", "10.0.0.2", 1, 2, TCP_PSH | TCP_ACK, b"x", seq=5, ack=6)
    tcp = parse_frame(data, verify_checksums=True)
    assert tcp.fields["tcp.flags"] == 0x18 and (tcp.extras.tcp_seq, tcp.extras.tcp_ack) == (5, 6)
    assert check_frame(data) == ["ip4-header", "tcp"]


def test_ipv6_crafting() -> None:
    ns = parse_frame(nd_ns(M1, "fe80::1", "fe80::aa:bbcc"), verify_checksums=True)
    assert ns.fields["ip6.dst"] == ip6_to_int("ff02::1:ffaa:bbcc")
    assert ns.fields["eth.dst"] == mac_to_int("33:33:ff:aa:bb:cc")
    assert (ns.fields["nd.sll"], ns.fields["ip.ttl"]) == (1, 255)
    na = parse_frame(nd_na(M2, M1, "fe80::2", "fe80::1"), verify_checksums=True)
    assert na.fields["nd.target"] == ip6_to_int("fe80::2") and na.fields["nd.tll"] == 2
    assert na.extras.nd_reserved == 0x60000000
    echo = parse_frame(icmp6_echo(M1, M2, "fe80::1", "fe80::2", reply=True), verify_checksums=True)
    assert echo.fields["icmp6.type"] == 129


def test_crafting_errors() -> None:
    with pytest.raises(ValueError):
        arp_request(M1, "10.0.0.1", "10.0.0.2", vlan=4096)
    with pytest.raises(ValueError):
        icmp4_echo(M1, M2, "10.0.0.1", "10.0.0.2", ident=1 << 16)


# ---------------------------------------------------------------------------------- describe


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (
            arp_request(M1, "10.0.0.1", "10.0.0.2", vlan=10),
            "00:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, vlan 10, ARP who-has 10.0.0.2 tell 10.0.0.1",
        ),
        (
            arp_reply(M2, "10.0.0.2", M1, "10.0.0.1"),
            "00:00:00:00:00:02 > 00:00:00:00:00:01, ARP reply 10.0.0.2 is-at 00:00:00:00:00:02",
        ),
        (
            icmp4_echo(M1, M2, "10.0.0.1", "10.0.0.2"),
            E12 + "10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1",
        ),
        (
            icmp4_echo(M2, M1, "10.0.0.2", "10.0.0.1", seq=9, reply=True, vlan=5),
            E21 + "vlan 5, 10.0.0.2 > 10.0.0.1: ICMP echo reply, id 1, seq 9",
        ),
        (
            udp4(M1, M2, "10.0.0.1", "10.0.0.2", 1234, 53, b"query"),
            "00:00:00:00:00:01 > 00:00:00:00:00:02, 10.0.0.1.1234 > 10.0.0.2.53: UDP, length 5",
        ),
        (
            tcp4(M1, M2, "10.0.0.1", "10.0.0.2", 1234, 80, TCP_SYN | TCP_ACK),
            E12 + "10.0.0.1.1234 > 10.0.0.2.80: Flags [S.], length 0",
        ),
        (
            nd_ns(M1, "fe80::1", "fe80::2"),
            "00:00:00:00:00:01 > 33:33:ff:00:00:02, fe80::1 > ff02::1:ff00:2: ICMP6, "
            "neighbor solicitation, who has fe80::2, sll 00:00:00:00:00:01",
        ),
        (
            nd_na(M2, M1, "fe80::2", "fe80::1"),
            "00:00:00:00:00:02 > 00:00:00:00:00:01, fe80::2 > fe80::1: ICMP6, "
            "neighbor advertisement, tgt is fe80::2, tll 00:00:00:00:00:02",
        ),
        (
            icmp6_echo(M1, M2, "fe80::1", "fe80::2", seq=3),
            E12 + "fe80::1 > fe80::2: ICMP6, echo request, id 1, seq 3",
        ),
        (
            bytes.fromhex("000000000002 000000000001 8100 a014 88cc") + bytes(4),
            "00:00:00:00:00:01 > 00:00:00:00:00:02, vlan 20, p 5, ethertype 0x88cc, length 4",
        ),
        (b"\x00" * 5, "malformed frame (truncated Ethernet header: 5 bytes, need 14), 5 bytes"),
    ],
)
def test_describe(data: bytes, text: str) -> None:
    assert describe(data) == text


def test_describe_other_cases() -> None:
    base = {"eth.src": 1, "eth.dst": 2, "eth.type": 0x0800, "ip4.src": 1, "ip4.dst": 2}
    unreachable = build_frame({**base, "ip.proto": 1, "icmp4.type": 3, "icmp4.code": 3}, bytes(4))
    assert describe(unreachable).endswith("0.0.0.1 > 0.0.0.2: ICMP destination unreachable, code 3")
    gre = build_frame({**base, "ip.proto": 47}, b"abc")
    assert describe(gre).endswith("0.0.0.1 > 0.0.0.2: ip-proto-47, length 3")
    frag = parse_frame(gre)
    frag.fields["ip.frag"] = 3
    assert describe(frag).endswith(": ip-proto-47 fragment (later), length 3")


# ----------------------------------------------------------------------------------- tcpdump


def write_pcap(path: Path, frames: list[bytes]) -> None:
    """libpcap format: global header, then (ts_sec, ts_usec, caplen, len) + frame; link type 1."""
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            out.write(struct.pack("<IIII", i, 0, len(frame), len(frame)) + frame)


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_tcpdump_decodes_crafted_frames(tmp_path: Path) -> None:
    inner = icmp4_echo(M1, M2, "10.0.0.1", "10.0.0.2", ident=7, seq=8)
    frames = [
        arp_request(M1, "10.0.0.1", "10.0.0.2", vlan=10),
        icmp4_echo(M1, M2, "10.0.0.1", "10.0.0.2", ident=7, seq=8),
        udp4(M1, M2, "10.0.0.1", "10.0.0.2", 1234, 9999, b"hello"),
        tcp4(M1, M2, "10.0.0.1", "10.0.0.2", 1234, 9999, TCP_SYN | TCP_ACK, b"abc"),
        nd_na(M2, M1, "fe80::2", "fe80::1"),
        udp4(M1, M2, "192.168.0.1", "192.168.0.2", 50000, 6081, geneve_encap(16, 3, 0x8000, inner)),
    ]
    pcap = tmp_path / "frames.pcap"
    write_pcap(pcap, frames)
    out = subprocess.run(
        ["tcpdump", "-nn", "-e", "-vv", "-r", str(pcap)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    for bad in ("bad", "wrong", "incorrect", "invalid", "truncated", "[|"):
        assert bad not in out
    for good in (
        "vlan 10, p 0, ethertype ARP (0x0806)",
        "Request who-has 10.0.0.2 tell 10.0.0.1",
        "10.0.0.1 > 10.0.0.2: ICMP echo request, id 7, seq 8",
        "10.0.0.1.1234 > 10.0.0.2.9999: [udp sum ok] UDP, length 5",
        "Flags [S.], cksum",
        "(correct)",
        "[icmp6 sum ok] ICMP6, neighbor advertisement",
        "tgt is fe80::2, Flags [solicited, override]",
        "Geneve, Flags [C], vni 0x10, proto TEB (0x6558)",
        "class Open Virtual Networking (OVN) (0x102) type 0x80(C) len 8 data 00038000",
    ):
        assert good in out, good
