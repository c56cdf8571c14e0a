"""The symbol table: widths, levels, prerequisites, storage segments, validation."""

from __future__ import annotations

import pytest

from pyovn.logical.fields import (
    DEFAULT_SYMTAB,
    Field,
    Level,
    Overlay,
    Predicate,
    Segment,
    Subfield,
    SymbolTable,
)

S = DEFAULT_SYMTAB


@pytest.mark.parametrize(
    ("name", "width"),
    [
        ("eth.src", 48), ("eth.dst", 48), ("eth.type", 16), ("vlan.tci", 16), ("vlan.vid", 12),
        ("vlan.pcp", 3), ("inport", 0), ("outport", 0), ("ip4.src", 32), ("ip6.dst", 128),
        ("ip.proto", 8), ("ip.ttl", 8), ("arp.op", 16), ("arp.sha", 48), ("tcp.dst", 16),
        ("udp.src", 16), ("icmp4.type", 8), ("reg0", 32), ("reg9", 32), ("xreg0", 64),
        ("xreg4", 64), ("xxreg1", 128), ("flags.loopback", 1), ("ct.est", 1),
        ("nd.target", 128), ("ct_label", 128), ("ip4", 1), ("vlan.present", 1),
    ],
)  # fmt: skip
def test_widths(name: str, width: int) -> None:
    assert S.width(name) == width


def test_levels() -> None:
    assert S.level("eth.src") is Level.ORDINAL
    assert S.level("eth.type") is Level.NOMINAL
    assert S.level("inport") is Level.NOMINAL
    assert S.level("vlan.vid") is Level.ORDINAL
    assert S.level("ip4") is Level.NOMINAL  # refers to eth.type
    assert S.level("tcp") is Level.NOMINAL
    assert S.level("nd") is Level.NOMINAL
    assert S.level("eth.mcast") is Level.BOOLEAN
    assert S.level("vlan.present") is Level.BOOLEAN
    assert S.level("ip.first_frag") is Level.BOOLEAN
    assert S.level("xxreg0") is Level.ORDINAL


def test_prerequisites_include_parents() -> None:
    assert S.prerequisites("eth.src") == ()
    assert S.prerequisites("ip4.src") == ("ip4",)
    assert S.prerequisites("tcp.dst") == ("tcp",)
    assert S.prerequisites("vlan.vid") == ("vlan.present",)
    assert S.prerequisites("ct.est") == ("ct.trk",)
    assert S.prerequisites("ct.trk") == ()
    assert S.prerequisites("ip.proto") == ("ip",)
    assert S.prerequisites("nd.sll") == ("nd_ns",)
    table = S.extended(Subfield("tcp.dst.low", "tcp.dst", 0, 7, prereqs="ip4"))
    assert table.prerequisites("tcp.dst.low") == ("ip4", "tcp")


def test_writable() -> None:
    assert S.writable("eth.dst") and S.writable("outport") and S.writable("flags.loopback")
    assert S.writable("xxreg0") and S.writable("vlan.vid")
    assert not S.writable("eth.type") and not S.writable("ip.proto")
    assert not S.writable("ct_state") and not S.writable("ct.est") and not S.writable("ip4")
    assert not S.writable("ct_mark")  # only inside ct_commit { }


def test_segments() -> None:
    assert S.segments("eth.src") == (Segment("eth.src", 0, 0, 48),)
    assert S.segments("eth.src", 40, 40) == (Segment("eth.src", 40, 0, 1),)
    assert S.segments("vlan.vid") == (Segment("vlan.tci", 0, 0, 12),)
    assert S.segments("vlan.pcp", 2, 2) == (Segment("vlan.tci", 15, 0, 1),)
    assert S.segments("ct.est") == (Segment("ct_state", 1, 0, 1),)
    assert S.segments("rarp.sha") == (Segment("arp.sha", 0, 0, 48),)
    # xreg0 = reg0 (most significant) : reg1.
    assert S.segments("xreg0") == (Segment("reg1", 0, 0, 32), Segment("reg0", 0, 32, 32))
    assert S.segments("xreg0", 30, 33) == (Segment("reg1", 30, 0, 2), Segment("reg0", 0, 2, 2))
    assert S.segments("xxreg1", 96, 127) == (Segment("reg4", 0, 0, 32),)
    with pytest.raises(ValueError):
        S.segments("ip4")


def test_storage_fields_shape_a_packet() -> None:
    shape = S.storage_fields()
    assert shape["eth.src"] == 48 and shape["inport"] == 0 and shape["reg3"] == 32
    assert "vlan.vid" not in shape and "xreg0" not in shape and "rarp.op" not in shape


def test_every_symbol_is_consistent() -> None:
    for sym in S:
        assert S.get(sym.name) is sym and sym.name in S
        if not isinstance(sym, Predicate):
            assert sum(seg.nbits for seg in S.segments(sym.name)) == S.width(sym.name)


@pytest.mark.parametrize(
    "rows",
    [
        (Field("a", 8), Field("a", 8)),
        (Subfield("b", "nope", 0, 1),),
        (Field("a", 8), Subfield("b", "a", 4, 8)),
        (Field("a", 16), Overlay("w", ("a",))),
        (Field("a", 8), Field("b", 16, storage="a")),
    ],
)
def test_table_validation(rows: tuple) -> None:
    with pytest.raises(ValueError):
        SymbolTable(rows)


def test_recursive_predicate_is_rejected() -> None:
    table = SymbolTable((Predicate("p", "q"), Predicate("q", "p")))
    with pytest.raises(ValueError, match="itself"):
        table.level("p")


def test_extended_adds_symbols() -> None:
    table = S.extended(Field("my.meta", 8), Predicate("my.pred", "my.meta[0]"))
    assert table.width("my.meta") == 8 and table.level("my.pred") is Level.BOOLEAN
    assert "my.meta" not in S
