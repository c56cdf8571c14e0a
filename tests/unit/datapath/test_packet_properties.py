"""Property tests: build -> parse gives the fields back, parse -> build gives the bytes back,
checksums always verify (by pyovn and by the independent oracle), and no input makes the
parser fail with anything but PacketError."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pyovn.datapath.packet import HeaderExtras, PacketError, build_frame, parse_frame

from .packet_oracle import check_frame

Case = tuple[dict[str, int], bytes, HeaderExtras]


def bits(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, (1 << n) - 1)


payloads = st.binary(max_size=64)
options = st.integers(0, 10).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n))
SPECIAL_TYPES = {0x0800, 0x86DD, 0x0806, 0x8035, 0x8100}


@st.composite
def ethernet(draw: st.DrawFn, eth_type: int) -> dict[str, int]:
    present = draw(st.booleans())
    return {
        "eth.src": draw(bits(48)),
        "eth.dst": draw(bits(48)),
        "eth.type": eth_type,
        "vlan.tci": draw(bits(16)) | 0x1000 if present else 0,
    }


@st.composite
def opaque(draw: st.DrawFn) -> Case:
    eth_type = draw(bits(16).filter(lambda t: t not in SPECIAL_TYPES))
    return draw(ethernet(eth_type)), draw(payloads), HeaderExtras()


@st.composite
def arp(draw: st.DrawFn) -> Case:
    fields = draw(ethernet(draw(st.sampled_from([0x0806, 0x8035]))))
    for name, width in (("op", 16), ("sha", 48), ("spa", 32), ("tha", 48), ("tpa", 32)):
        fields[f"arp.{name}"] = draw(bits(width))
    return fields, draw(payloads), HeaderExtras()


@st.composite
def l4(draw: st.DrawFn, fields: dict[str, int], v6: bool) -> tuple[bytes, HeaderExtras]:
    """Fill in an L4 protocol; returns the payload and the L4 part of the extras."""
    kind = draw(st.sampled_from(["icmp", "udp", "tcp", "other"] + (["nd"] if v6 else [])))
    if kind == "icmp" and not v6:
        fields.update({"ip.proto": 1, "icmp4.type": draw(bits(8)), "icmp4.code": draw(bits(8))})
    elif kind == "icmp":
        icmp_type, code = draw(bits(8)), draw(bits(8))
        if icmp_type in (135, 136) and code == 0:
            code = 1
        fields.update({"ip.proto": 58, "icmp6.type": icmp_type, "icmp6.code": code})
    elif kind == "nd":
        fields.update(
            {
                "ip.proto": 58,
                "icmp6.type": draw(st.sampled_from([135, 136])),
                "icmp6.code": 0,
                "nd.target": draw(bits(128)),
                "nd.sll": draw(st.sampled_from([0, draw(bits(48))])),
                "nd.tll": draw(st.sampled_from([0, draw(bits(48))])),
            }
        )
        return b"", HeaderExtras(nd_reserved=draw(bits(32)))
    elif kind == "udp":
        fields.update({"ip.proto": 17, "udp.src": draw(bits(16)), "udp.dst": draw(bits(16))})
        return draw(payloads), HeaderExtras(udp_zero_checksum=draw(st.booleans()))
    elif kind == "tcp":
        fields.update(
            {
                "ip.proto": 6,
                "tcp.src": draw(bits(16)),
                "tcp.dst": draw(bits(16)),
                "tcp.flags": draw(bits(12)),
            }
        )
        extras = HeaderExtras(
            tcp_seq=draw(bits(32)),
            tcp_ack=draw(bits(32)),
            tcp_window=draw(bits(16)),
            tcp_urgent=draw(bits(16)),
            tcp_options=draw(options),
        )
        return draw(payloads), extras
    else:
        fields["ip.proto"] = draw(bits(8).filter(lambda p: p not in (1, 6, 17, 58)))
    return draw(payloads), HeaderExtras()


def ip_common(draw: st.DrawFn, fields: dict[str, int]) -> None:
    fields.update({"ip.dscp": draw(bits(6)), "ip.ecn": draw(bits(2)), "ip.ttl": draw(bits(8))})


@st.composite
def ipv4(draw: st.DrawFn) -> Case:
    fields = draw(ethernet(0x0800))
    ip_common(draw, fields)
    fields.update({"ip4.src": draw(bits(32)), "ip4.dst": draw(bits(32))})
    fragment = draw(st.sampled_from([None, (1, 0), (1, 5), (0, 9)]))
    extras = HeaderExtras(
        ip4_id=draw(bits(16)),
        ip4_flags=draw(st.sampled_from([0, 2, 4, 6])),
        ip4_options=draw(options),
        trailer=draw(st.binary(max_size=8)),
    )
    if fragment is not None:
        fields["ip.proto"] = draw(bits(8))
        fields["ip.frag"] = 1 | (2 if fragment[1] else 0)
        mf, offset = fragment
        return (
            fields,
            draw(payloads),
            replace(extras, ip4_flags=extras.ip4_flags | mf, ip4_frag_offset=offset),
        )
    payload, l4_extras = draw(l4(fields, v6=False))
    return (
        fields,
        payload,
        replace(
            l4_extras,
            ip4_id=extras.ip4_id,
            ip4_flags=extras.ip4_flags,
            ip4_options=extras.ip4_options,
            trailer=extras.trailer,
        ),
    )


@st.composite
def ipv6(draw: st.DrawFn) -> Case:
    fields = draw(ethernet(0x86DD))
    ip_common(draw, fields)
    fields.update(
        {"ip6.src": draw(bits(128)), "ip6.dst": draw(bits(128)), "ip6.label": draw(bits(20))}
    )
    payload, extras = draw(l4(fields, v6=True))
    return fields, payload, replace(extras, trailer=draw(st.binary(max_size=8)))


cases = st.one_of(opaque(), arp(), ipv4(), ipv6())


@settings(max_examples=250)
@given(cases)
def test_build_then_parse_gives_the_fields_back(case: Case) -> None:
    fields, payload, extras = case
    data = build_frame(fields, payload, extras=extras)
    frame = parse_frame(data, verify_checksums=True)
    assert {k: frame.fields[k] for k in fields} == fields
    assert frame.payload == payload
    if "nd.target" in fields:
        assert replace(frame.extras, nd_options=()) == extras
    else:
        assert frame.extras == extras
    assert build_frame(frame) == data
    check_frame(data)


@settings(max_examples=200)
@given(cases, st.data())
def test_corrupted_frames_fail_cleanly_and_rebuild_stably(case: Case, data: st.DataObject) -> None:
    fields, payload, extras = case
    raw = bytearray(build_frame(fields, payload, extras=extras))
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "grow"]))
        if action == "flip" and raw:
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del raw[data.draw(st.integers(0, len(raw))) :]
        else:
            raw += data.draw(st.binary(min_size=1, max_size=8))
    try:
        frame = parse_frame(bytes(raw))
    except PacketError:
        return
    once = build_frame(frame)
    assert build_frame(parse_frame(once, verify_checksums=True)) == once


@given(st.binary(max_size=128))
def test_random_bytes_fail_only_with_packet_error(raw: bytes) -> None:
    try:
        frame = parse_frame(raw)
    except PacketError:
        return
    build_frame(frame)
