"""parse_frame / build_frame: per-protocol round trips, hand-built vectors, checksums checked by
an independent oracle, mutation then rebuild, and malformed input."""

from __future__ import annotations

import struct

import pytest

from pyovn.datapath.packet import (
    Frame,
    HeaderExtras,
    PacketError,
    build_frame,
    internet_checksum,
    parse_frame,
)

from .packet_oracle import check_frame, ones_sum

MAC1 = bytes.fromhex("000000000001")
MAC2 = bytes.fromhex("000000000002")
BCAST = b"\xff" * 6
IP1 = bytes([10, 0, 0, 1])
IP2 = bytes([10, 0, 0, 2])
IP6_1 = bytes.fromhex("fe800000000000000000000000000001")
IP6_2 = bytes.fromhex("fe800000000000000000000000000002")

VLANS = [None, 10, (5 << 13) | 4094]  # untagged, VID 10, PCP 5 + VID 4094


def eth(dst: bytes, src: bytes, eth_type: int, vlan: int | None) -> bytes:
    tag = b"" if vlan is None else struct.pack("!HH", 0x8100, vlan)
    return dst + src + tag + struct.pack("!H", eth_type)


def tci(vlan: int | None) -> int:
    return 0 if vlan is None else vlan | 0x1000


def with_csum(data: bytes, at: int, pseudo: bytes = b"") -> bytes:
    """Fill the 16-bit checksum at ``at`` (computed by the test oracle, not by pyovn)."""
    csum = 0xFFFF - ones_sum(pseudo + data)
    return data[:at] + csum.to_bytes(2, "big") + data[at + 2 :]


def ip4(proto: int, seg: bytes, src: bytes = IP1, dst: bytes = IP2, **kw: int) -> bytes:
    head = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        kw.get("tos", 0),
        20 + len(seg),
        kw.get("ident", 0),
        kw.get("frag", 0),
        kw.get("ttl", 64),
        proto,
        0,
        src,
        dst,
    )
    return with_csum(head, 10) + seg


def pseudo4(proto: int, seg: bytes, src: bytes = IP1, dst: bytes = IP2) -> bytes:
    return src + dst + bytes([0, proto]) + len(seg).to_bytes(2, "big")


def ip6(proto: int, seg: bytes, hop_limit: int = 64, tclass: int = 0, label: int = 0) -> bytes:
    first = 6 << 28 | tclass << 20 | label
    return struct.pack("!IHBB", first, len(seg), proto, hop_limit) + IP6_1 + IP6_2 + seg


def pseudo6(proto: int, seg: bytes) -> bytes:
    return IP6_1 + IP6_2 + len(seg).to_bytes(4, "big") + bytes([0, 0, 0, proto])


def roundtrip(data: bytes) -> Frame:
    frame = parse_frame(data, verify_checksums=True)
    assert build_frame(frame) == data
    assert build_frame(frame.fields, frame.payload, extras=frame.extras) == data
    return frame


# --------------------------------------------------------------------------------- Ethernet


@pytest.mark.parametrize("vlan", VLANS)
def test_unknown_ethertype_is_opaque(vlan: int | None) -> None:
    data = eth(MAC2, MAC1, 0x88B5, vlan) + b"opaque bytes"
    frame = roundtrip(data)
    assert frame.fields == {"eth.dst": 2, "eth.src": 1, "eth.type": 0x88B5, "vlan.tci": tci(vlan)}
    assert frame.payload == b"opaque bytes"


@pytest.mark.parametrize("eth_type", [0x88A8, 0x002E])  # 802.1ad outer tag, 802.3 length
def test_qinq_and_8023_are_opaque_eth_types(eth_type: int) -> None:
    data = eth(MAC2, MAC1, eth_type, None) + b"\x00\x0a\x08\x00" + b"x" * 42
    frame = roundtrip(data)
    assert frame.fields["eth.type"] == eth_type and frame.fields["vlan.tci"] == 0


def test_second_8021q_tag_is_opaque() -> None:
    data = eth(MAC2, MAC1, 0x8100, 10) + b"\x00\x14\x08\x00" + b"y" * 20
    frame = roundtrip(data)
    assert frame.fields["eth.type"] == 0x8100
    assert frame.fields["vlan.tci"] == 0x100A
    assert frame.payload.startswith(b"\x00\x14")


def test_vlan_tci_present_bit_and_pcp() -> None:
    frame = roundtrip(eth(MAC2, MAC1, 0x88B5, (3 << 13) | 100))
    assert frame.fields["vlan.tci"] == (3 << 13) | 0x1000 | 100


def test_dei_bit_on_the_wire_is_not_kept() -> None:
    """Like OVS, bit 12 of vlan.tci means "tag present", so a wire DEI bit is lost."""
    data = eth(MAC2, MAC1, 0x88B5, 0x1000 | 7)
    frame = parse_frame(data)
    assert frame.fields["vlan.tci"] == 0x1007
    assert build_frame(frame) == eth(MAC2, MAC1, 0x88B5, 7)


def test_tag_written_iff_present_bit() -> None:
    fields = {"eth.src": 1, "eth.dst": 2, "eth.type": 0x88B5, "vlan.tci": 0x0FFF}
    assert build_frame(fields) == eth(MAC2, MAC1, 0x88B5, None)
    fields["vlan.tci"] = 0x1FFF
    assert build_frame(fields) == eth(MAC2, MAC1, 0x88B5, 0x0FFF)


def test_push_and_pop_vlan_by_field() -> None:
    frame = parse_frame(eth(MAC2, MAC1, 0x88B5, None) + b"z")
    frame.fields["vlan.tci"] = 0x1000 | 42
    tagged = build_frame(frame)
    assert tagged == eth(MAC2, MAC1, 0x88B5, 42) + b"z"
    again = parse_frame(tagged)
    again.fields["vlan.tci"] = 0
    assert build_frame(again) == eth(MAC2, MAC1, 0x88B5, None) + b"z"


# -------------------------------------------------------------------------------------- ARP


def arp_body(op: int, sha: bytes, spa: bytes, tha: bytes, tpa: bytes) -> bytes:
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, spa, tha, tpa)


@pytest.mark.parametrize("vlan", VLANS)
def test_arp_request_fields_and_roundtrip(vlan: int | None) -> None:
    data = eth(BCAST, MAC1, 0x0806, vlan) + arp_body(1, MAC1, IP1, bytes(6), IP2)
    frame = roundtrip(data)
    assert frame.fields == {
        "eth.dst": 0xFFFFFFFFFFFF,
        "eth.src": 1,
        "eth.type": 0x0806,
        "vlan.tci": tci(vlan),
        "arp.op": 1,
        "arp.sha": 1,
        "arp.spa": 0x0A000001,
        "arp.tha": 0,
        "arp.tpa": 0x0A000002,
    }
    assert frame.payload == b""


@pytest.mark.parametrize("vlan", VLANS)
def test_arp_responder_mutation(vlan: int | None) -> None:
    """What OVN's ARP responder does: swap addresses, op = 2, answer with the target's MAC."""
    request = eth(BCAST, MAC1, 0x0806, vlan) + arp_body(1, MAC1, IP1, bytes(6), IP2)
    f = parse_frame(request).fields
    f.update(
        {
            "eth.dst": f["eth.src"],
            "eth.src": 2,
            "arp.op": 2,
            "arp.tha": f["arp.sha"],
            "arp.sha": 2,
            "arp.tpa": f["arp.spa"],
            "arp.spa": 0x0A000002,
        }
    )
    expected = eth(MAC1, MAC2, 0x0806, vlan) + arp_body(2, MAC2, IP2, MAC1, IP1)
    assert build_frame(f) == expected


def test_arp_padding_is_the_payload() -> None:
    data = eth(BCAST, MAC1, 0x0806, None) + arp_body(1, MAC1, IP1, bytes(6), IP2) + bytes(18)
    assert len(data) == 60
    frame = roundtrip(data)
    assert frame.payload == bytes(18)


def test_rarp_uses_arp_fields() -> None:
    data = eth(BCAST, MAC1, 0x8035, None) + arp_body(3, MAC1, bytes(4), MAC1, bytes(4))
    frame = roundtrip(data)
    assert frame.fields["arp.op"] == 3 and frame.fields["arp.tha"] == 1


def test_non_ethernet_ipv4_arp_is_opaque() -> None:
    body = struct.pack("!HHBBH", 6, 0x0800, 6, 4, 1) + bytes(20)
    frame = roundtrip(eth(BCAST, MAC1, 0x0806, None) + body)
    assert "arp.op" not in frame.fields and frame.payload == body


# ------------------------------------------------------------------------------------- IPv4


def test_ipv4_header_checksum_known_vector() -> None:
    """The classic example header 4500 0073 0000 4000 4011 *b861* c0a8 0001 c0a8 00c7."""
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert internet_checksum(header) == 0xB861
    fields = {
        "eth.src": 1,
        "eth.dst": 2,
        "eth.type": 0x0800,
        "ip.proto": 17,
        "ip.ttl": 64,
        "ip4.src": 0xC0A80001,
        "ip4.dst": 0xC0A800C7,
        "udp.src": 53,
        "udp.dst": 5353,
    }
    data = build_frame(fields, bytes(0x73 - 28), extras=HeaderExtras(ip4_flags=0b010))
    assert data[14:34] == bytes.fromhex("45000073000040004011b861c0a80001c0a800c7")
    assert check_frame(data) == ["ip4-header", "udp"]


@pytest.mark.parametrize("vlan", VLANS)
def test_ipv4_fields(vlan: int | None) -> None:
    seg = with_csum(b"\x08\x00\x00\x00\x00\x07\x00\x09ping", 2)
    data = eth(MAC2, MAC1, 0x0800, vlan) + ip4(1, seg, tos=(46 << 2) | 2, ttl=17, ident=0x1234)
    frame = roundtrip(data)
    f = frame.fields
    assert (f["ip.dscp"], f["ip.ecn"], f["ip.ttl"], f["ip.proto"], f["ip.frag"]) == (
        46,
        2,
        17,
        1,
        0,
    )
    assert (f["ip4.src"], f["ip4.dst"]) == (0x0A000001, 0x0A000002)
    assert frame.extras.ip4_id == 0x1234
    assert frame.payload == b"\x00\x07\x00\x09ping"


def test_ipv4_options_df_and_padding_roundtrip() -> None:
    seg = b"\x00\x01\x00\x02\x00\x0b\x00\x00abc"
    seg = with_csum(seg, 6, pseudo4(17, seg))
    options = b"\x94\x04\x00\x00"  # Router Alert
    head = struct.pack("!BBHHHBBH4s4s", 0x46, 0, 24 + len(seg), 7, 0x4000, 1, 17, 0, IP1, IP2)
    data = eth(MAC2, MAC1, 0x0800, None) + with_csum(head + options, 10) + seg + bytes(5)
    frame = roundtrip(data)
    assert frame.extras.ip4_options == options
    assert frame.extras.ip4_flags == 0b010 and frame.extras.ip4_id == 7
    assert frame.extras.trailer == bytes(5)
    assert frame.fields["udp.dst"] == 2 and frame.payload == b"abc"
    assert check_frame(data) == ["ip4-header", "udp"]


@pytest.mark.parametrize(("frag", "ip_frag"), [(0x2000, 1), (0x2003, 3), (0x0003, 3)])
def test_ipv4_fragments_leave_l4_unparsed(frag: int, ip_frag: int) -> None:
    seg = b"\x00\x01\x00\x02 not a UDP header of this fragment"
    data = eth(MAC2, MAC1, 0x0800, None) + ip4(17, seg, frag=frag)
    frame = roundtrip(data)
    assert frame.fields["ip.frag"] == ip_frag
    assert "udp.src" not in frame.fields and frame.payload == seg


def test_ipv4_unknown_protocol_is_opaque() -> None:
    data = eth(MAC2, MAC1, 0x0800, None) + ip4(47, b"gre stuff")
    frame = roundtrip(data)
    assert frame.fields["ip.proto"] == 47 and frame.payload == b"gre stuff"


# ------------------------------------------------------------------------------- ICMP/UDP/TCP


@pytest.mark.parametrize("vlan", VLANS)
def test_icmp_echo_reply_mutation(vlan: int | None) -> None:
    seg = with_csum(b"\x08\x00\x00\x00\x00\x01\x00\x05hello", 2)
    request = eth(MAC2, MAC1, 0x0800, vlan) + ip4(1, seg)
    frame = roundtrip(request)
    f = frame.fields
    assert (f["icmp4.type"], f["icmp4.code"]) == (8, 0)
    f.update(
        {
            "eth.src": 2,
            "eth.dst": 1,
            "ip4.src": f["ip4.dst"],
            "ip4.dst": f["ip4.src"],
            "icmp4.type": 0,
        }
    )
    reply = build_frame(frame)
    reply_seg = with_csum(b"\x00\x00\x00\x00\x00\x01\x00\x05hello", 2)
    assert reply == eth(MAC1, MAC2, 0x0800, vlan) + ip4(1, reply_seg, src=IP2, dst=IP1)
    assert check_frame(reply) == ["ip4-header", "icmp4"]


@pytest.mark.parametrize("vlan", VLANS)
def test_udp_roundtrip_and_checksum(vlan: int | None) -> None:
    seg = struct.pack("!HHHH", 1234, 53, 8 + 7, 0) + b"payload"
    data = eth(MAC2, MAC1, 0x0800, vlan) + ip4(17, with_csum(seg, 6, pseudo4(17, seg)))
    frame = roundtrip(data)
    assert (frame.fields["udp.src"], frame.fields["udp.dst"]) == (1234, 53)
    assert frame.payload == b"payload"
    frame.fields["udp.dst"] = 5353
    changed = build_frame(frame.fields, b"a longer payload")
    assert check_frame(changed) == ["ip4-header", "udp"]
    assert parse_frame(changed).payload == b"a longer payload"


def test_udp_zero_checksum_is_kept() -> None:
    seg = struct.pack("!HHHH", 1, 2, 9, 0) + b"x"
    frame = roundtrip(eth(MAC2, MAC1, 0x0800, None) + ip4(17, seg))
    assert frame.extras.udp_zero_checksum


def test_udp_computed_zero_checksum_is_sent_as_ffff() -> None:
    fields = {
        "eth.src": 1,
        "eth.dst": 2,
        "eth.type": 0x0800,
        "ip.proto": 17,
        "ip4.src": 0x0A000001,
        "ip4.dst": 0x0A000002,
        "udp.src": 1,
        "udp.dst": 2,
    }
    first = build_frame(fields, b"\x00\x00")
    csum = first[40:42]
    # Adding the old checksum as a payload word makes the one's complement sum all ones.
    data = build_frame(fields, csum)
    assert data[40:42] == b"\xff\xff"
    assert check_frame(data) == ["ip4-header", "udp"]
    assert not parse_frame(data).extras.udp_zero_checksum


@pytest.mark.parametrize("vlan", VLANS)
def test_tcp_roundtrip_flags_options_checksum(vlan: int | None) -> None:
    options = b"\x02\x04\x05\xb4\x01\x01\x04\x02"  # MSS 1460, NOP, NOP, SACK permitted
    head = struct.pack("!HHIIHHHH", 40000, 80, 1000, 2000, (7 << 12) | 0x1D2, 512, 0, 3)
    seg = head + options + b"GET /"
    data = eth(MAC2, MAC1, 0x0800, vlan) + ip4(6, with_csum(seg, 16, pseudo4(6, seg)))
    frame = roundtrip(data)
    assert frame.fields["tcp.flags"] == 0x1D2  # NS + CWR... all 12 low bits
    assert (frame.fields["tcp.src"], frame.fields["tcp.dst"]) == (40000, 80)
    x = frame.extras
    assert (x.tcp_seq, x.tcp_ack, x.tcp_window, x.tcp_urgent) == (1000, 2000, 512, 3)
    assert x.tcp_options == options and frame.payload == b"GET /"
    assert check_frame(data) == ["ip4-header", "tcp"]


# ------------------------------------------------------------------------------------- IPv6


@pytest.mark.parametrize("vlan", VLANS)
def test_ipv6_udp_roundtrip(vlan: int | None) -> None:
    seg = struct.pack("!HHHH", 546, 547, 8 + 4, 0) + b"dhcp"
    seg = with_csum(seg, 6, pseudo6(17, seg))
    data = eth(MAC2, MAC1, 0x86DD, vlan) + ip6(17, seg, hop_limit=3, tclass=0xB9, label=0xABCDE)
    frame = roundtrip(data)
    f = frame.fields
    assert (f["ip.proto"], f["ip.ttl"], f["ip.dscp"], f["ip.ecn"]) == (17, 3, 0xB9 >> 2, 1)
    assert f["ip6.label"] == 0xABCDE and f["ip.frag"] == 0
    assert f["ip6.src"] == int.from_bytes(IP6_1) and f["ip6.dst"] == int.from_bytes(IP6_2)
    assert check_frame(data) == ["udp"]


def test_ipv6_extension_header_is_opaque() -> None:
    hop_by_hop = b"\x3a\x00\x05\x02\x00\x00\x01\x00" + b"\x80\x00\x00\x00\x00\x00\x00\x00"
    data = eth(MAC2, MAC1, 0x86DD, None) + ip6(0, hop_by_hop) + bytes(3)
    frame = roundtrip(data)
    assert frame.fields["ip.proto"] == 0 and frame.payload == hop_by_hop
    assert frame.extras.trailer == bytes(3)


@pytest.mark.parametrize("vlan", VLANS)
def test_icmp6_echo(vlan: int | None) -> None:
    seg = b"\x80\x00\x00\x00\x00\x01\x00\x02data"
    data = eth(MAC2, MAC1, 0x86DD, vlan) + ip6(58, with_csum(seg, 2, pseudo6(58, seg)))
    frame = roundtrip(data)
    assert (frame.fields["icmp6.type"], frame.fields["icmp6.code"]) == (128, 0)
    assert frame.payload == b"\x00\x01\x00\x02data"
    assert "nd.target" not in frame.fields


def nd_message(icmp_type: int, flags: int, target: bytes, options: bytes) -> bytes:
    seg = struct.pack("!BBHI", icmp_type, 0, 0, flags) + target + options
    return with_csum(seg, 2, pseudo6(58, seg))


@pytest.mark.parametrize("vlan", VLANS)
def test_neighbor_solicitation(vlan: int | None) -> None:
    seg = nd_message(135, 0, IP6_2, b"\x01\x01" + MAC1)
    data = eth(MAC2, MAC1, 0x86DD, vlan) + ip6(58, seg, hop_limit=255)
    frame = roundtrip(data)
    f = frame.fields
    assert (f["icmp6.type"], f["ip.ttl"]) == (135, 255)
    assert (f["nd.target"], f["nd.sll"], f["nd.tll"]) == (int.from_bytes(IP6_2), 1, 0)
    assert frame.payload == b""


def test_neighbor_advertisement_from_solicitation() -> None:
    """What OVN's nd_na does to the fields: type 136, TLL set, SLL cleared."""
    ns = eth(MAC2, MAC1, 0x86DD, None) + ip6(58, nd_message(135, 0, IP6_2, b"\x01\x01" + MAC1), 255)
    f = parse_frame(ns).fields
    f.update({"icmp6.type": 136, "nd.sll": 0, "nd.tll": 2, "eth.src": 2, "eth.dst": 1})
    f.update({"ip6.src": f["ip6.dst"], "ip6.dst": f["ip6.src"]})
    na = build_frame(f, extras=HeaderExtras(nd_reserved=0x60000000))
    assert check_frame(na) == ["icmp6"]
    back = parse_frame(na, verify_checksums=True)
    assert (back.fields["nd.tll"], back.fields["nd.sll"]) == (2, 0)
    assert back.extras.nd_reserved == 0x60000000 and back.extras.nd_options == (2,)
    assert na.endswith(b"\x02\x01" + MAC2)


def test_nd_unknown_options_keep_their_place() -> None:
    nonce = b"\x0e\x01" + b"\x11\x22\x33\x44\x55\x66"
    mtu = b"\x05\x01\x00\x00\x00\x00\x05\xdc"
    seg = nd_message(136, 0xE0000000, IP6_1, nonce + b"\x02\x01" + MAC1 + mtu)
    frame = roundtrip(eth(MAC2, MAC1, 0x86DD, None) + ip6(58, seg, 255))
    assert frame.extras.nd_options == (nonce, 2, mtu)
    assert frame.fields["nd.tll"] == 1


def test_nd_with_nonzero_code_is_plain_icmp6() -> None:
    seg = struct.pack("!BBHI", 135, 1, 0, 0) + IP6_2
    seg = with_csum(seg, 2, pseudo6(58, seg))
    frame = roundtrip(eth(MAC2, MAC1, 0x86DD, None) + ip6(58, seg, 255))
    assert "nd.target" not in frame.fields and len(frame.payload) == 20


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (b"\x01\x00" + bytes(6), "length 0"),
        (b"\x01\x02" + bytes(6), "truncated"),
        (b"\x01", "truncated"),
        (b"\x01\x01" + MAC1 + b"\x01\x01" + MAC2, "duplicate"),
    ],
)
def test_nd_bad_options(options: bytes, message: str) -> None:
    data = eth(MAC2, MAC1, 0x86DD, None) + ip6(58, nd_message(135, 0, IP6_2, options), 255)
    with pytest.raises(PacketError, match=message):
        parse_frame(data)


# --------------------------------------------------------------------------- malformed input


def valid_frames() -> list[bytes]:
    udp = struct.pack("!HHHH", 1, 2, 10, 0) + b"hi"
    tcp = struct.pack("!HHIIHHHH", 1, 2, 0, 0, 5 << 12 | 2, 0, 0, 0)
    return [
        eth(BCAST, MAC1, 0x0806, 10) + arp_body(1, MAC1, IP1, bytes(6), IP2),
        eth(MAC2, MAC1, 0x0800, None) + ip4(1, with_csum(b"\x08\x00\x00\x00\x00\x01\x00\x01", 2)),
        eth(MAC2, MAC1, 0x0800, 7) + ip4(17, udp),
        eth(MAC2, MAC1, 0x0800, None) + ip4(6, with_csum(tcp, 16, pseudo4(6, tcp))),
        eth(MAC2, MAC1, 0x86DD, None) + ip6(58, nd_message(135, 0, IP6_2, b"\x01\x01" + MAC1)),
    ]


@pytest.mark.parametrize("data", valid_frames())
def test_every_truncation_raises_packet_error(data: bytes) -> None:
    roundtrip(data)
    for n in range(len(data)):
        with pytest.raises(PacketError):
            parse_frame(data[:n])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00" * 13, "truncated Ethernet header"),
        (eth(MAC2, MAC1, 0x8100, None) + b"\x00", "truncated 802.1Q tag"),
        (eth(MAC2, MAC1, 0x0800, None) + b"\x65" + bytes(19), "version 6"),
        (eth(MAC2, MAC1, 0x0800, None) + b"\x44" + bytes(19), "header length 16"),
        (eth(MAC2, MAC1, 0x0800, None) + b"\x45\x00\x00\x10" + bytes(16), "total length 16"),
        (eth(MAC2, MAC1, 0x0800, None) + b"\x46\x00\x00\x30" + bytes(18), "truncated IPv4"),
        (eth(MAC2, MAC1, 0x86DD, None) + b"\x40" + bytes(39), "version 4"),
        (eth(MAC2, MAC1, 0x0800, None) + ip4(6, bytes(12) + b"\x40" + bytes(7)), "TCP header len"),
        (eth(MAC2, MAC1, 0x0800, None) + ip4(6, bytes(12) + b"\x60" + bytes(7)), "options"),
        (
            eth(MAC2, MAC1, 0x0800, None) + ip4(17, b"\x00\x01\x00\x02\x00\x09\x00\x00"),
            "UDP length",
        ),
        (
            eth(MAC2, MAC1, 0x0800, None) + ip4(17, b"\x00\x01\x00\x02\x00\x07\x00\x00"),
            "UDP length",
        ),
    ],
)
def test_malformed(data: bytes, message: str) -> None:
    with pytest.raises(PacketError, match=message):
        parse_frame(data)


def test_packet_error_is_a_value_error() -> None:
    assert issubclass(PacketError, ValueError)


def test_arp_has_no_checksum_to_verify() -> None:
    data = valid_frames()[0]
    parse_frame(data[:-1] + bytes([data[-1] ^ 1]), verify_checksums=True)


@pytest.mark.parametrize("index", [1, 2, 3, 4])
def test_verify_checksums_rejects_corruption(index: int) -> None:
    data = valid_frames()[index]
    if index == 2:  # UDP sent without a checksum: give it one first
        data = build_frame(parse_frame(data).fields, parse_frame(data).payload)
    bad = data[:-1] + bytes([data[-1] ^ 0x40])
    parse_frame(bad)  # not checked by default, as in OVS
    with pytest.raises(PacketError, match="checksum"):
        parse_frame(bad, verify_checksums=True)


def test_verify_checksums_rejects_bad_ipv4_header() -> None:
    data = bytearray(valid_frames()[1])
    data[14 + 8] ^= 1  # TTL
    with pytest.raises(PacketError, match="IPv4 header checksum"):
        parse_frame(bytes(data), verify_checksums=True)


# ---------------------------------------------------------------------------------- building


BASE = {"eth.src": 1, "eth.dst": 2, "eth.type": 0x0800, "ip.proto": 17, "ip4.src": 1, "ip4.dst": 2}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"eth.dst": 2, "eth.type": 0x0800}, "without eth.src"),
        ({**BASE, "ip4.src": 1 << 32}, "ip4.src"),
        ({**BASE, "ip.ttl": -1}, "ip.ttl"),
        ({**BASE, "udp.src": 70000}, "udp.src"),
        ({**BASE, "eth.src": "00:00:00:00:00:01"}, "eth.src"),
        ({k: v for k, v in BASE.items() if k != "ip4.dst"}, "without ip4.dst"),
    ],
)
def test_build_rejects_bad_fields(fields: dict[str, int], message: str) -> None:
    with pytest.raises(PacketError, match=message):
        build_frame(fields)


@pytest.mark.parametrize(
    "extras",
    [
        HeaderExtras(ip4_options=b"\x01"),
        HeaderExtras(ip4_options=bytes(44)),
        HeaderExtras(ip4_id=1 << 16),
        HeaderExtras(ip4_frag_offset=1 << 13),
    ],
)
def test_build_rejects_bad_extras(extras: HeaderExtras) -> None:
    with pytest.raises(PacketError):
        build_frame(BASE, extras=extras)


def test_build_rejects_oversized_datagram() -> None:
    with pytest.raises(PacketError, match="too long"):
        build_frame({**BASE, "udp.src": 1, "udp.dst": 2}, bytes(65536))


def test_build_ignores_unrelated_fields() -> None:
    extra = {"reg0": 5, "ct_label": 1 << 100, "arp.op": 1, "nd.target": 3, "tcp.src": 4}
    assert build_frame({**BASE, **extra, "udp.src": 1}) == build_frame({**BASE, "udp.src": 1})


def test_build_frame_of_frame_takes_no_payload() -> None:
    frame = parse_frame(valid_frames()[0])
    with pytest.raises(TypeError):
        build_frame(frame, b"more")


def test_build_defaults_ttl_64() -> None:
    data = build_frame({**BASE, "ip.proto": 47})
    assert data[14 + 8] == 64 and check_frame(data) == ["ip4-header"]


def test_field_names_and_widths_match_the_symbol_table() -> None:
    from pyovn.datapath.packet import FIELD_WIDTHS
    from pyovn.logical.fields import DEFAULT_SYMTAB

    storage = DEFAULT_SYMTAB.storage_fields()
    assert {name: storage.get(name) for name in FIELD_WIDTHS} == FIELD_WIDTHS
