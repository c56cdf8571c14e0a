"""Match expressions: parse, type-check, format, round trips, errors with positions."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from pyovn.logical.errors import ExprError, LexError
from pyovn.logical.expr import (
    And,
    Bare,
    BoolConst,
    ChassisResident,
    Cmp,
    Not,
    Or,
    RelOp,
    format_expr,
    symbols_used,
)
from pyovn.logical.expr_parser import parse_expr
from pyovn.logical.values import FieldRef, IntConst, IntFormat, StrConst

from .strategies import exprs

# Canonical texts, as northd writes them: format(parse(t)) == t.
CANONICAL = [
    'inport == "lp1" && eth.src == {00:00:00:00:00:01}',
    "eth.mcast",
    'outport == "_MC_flood"',
    'arp.tpa == 10.0.0.5 && arp.op == 1 && inport == "vm1"',
    "eth.src[40]",
    "vlan.present",
    "ip4.dst == 10.0.0.0/24",
    "tcp.dst >= 1000 && tcp.dst <= 2000",
    "!(ip4.src == 1.2.3.4)",
    "1",
    "0",
    "eth.bcast",
    "!vlan.present",
    'inport == "lp1" && eth.src == {00:00:00:00:00:01, 00:00:00:00:00:02}',
    "ip4 && ip4.src == {10.0.0.1, 10.0.0.2} && ip4.dst == 10.0.0.3",
    "ip6.dst == ff02::1:ff00:0/104 && nd_ns",
    "nd_ns && ip6.dst == {fe80::1, ff02::1:ff00:1} && nd.target == fe80::1",
    'inport == "lrp1" && arp.spa == 10.0.0.0/24 && arp.op == 1 && arp.tpa == 10.0.0.1',
    "ip.ttl == {0, 1} && !ip.later_frag && (ip4.mcast || ip6.mcast)",
    "ip && ip4.src == 10.0.0.0/24 && (!ct.trk || !ct.rpl)",
    "ct.est && !ct.rel && !ct.new && ct_mark.natted",
    "ct.rel && !ct.est && !ct.new",
    "reg0[0] == 1",
    "reg9[6] == 1 && ct.new && ip && ip4.dst == 10.0.0.10 && tcp && tcp.dst == 80",
    "reg8[0..15] == 0 && reg8[16..31] == 3",
    'outport == "lrp1" && reg0 == 10.0.0.5',
    'outport == "lrp1" && xxreg0 == fe80::5',
    "udp.src == 68 && udp.dst == 67 && reg0[3] == 1",
    'inport == "ext" && eth.src == 00:00:00:00:00:01 && !is_chassis_resident("ext")',
    'outport == "lrp" && is_chassis_resident("cr-lrp")',
    "ip4.src == $as_ip4 && inport == @pg1",
    "eth.dst == 00:00:00:00:00:00 && xxreg0 == 2001:db8::1",
    "nd_na && nd.tll == 0",
    "nd_ns && (ip6.src == 0 || nd.sll == 0)",
    "reg9[2] == 1 || reg9[3] == 0",
    "ip4.src == 127.0.0.0/8 || ip4.dst == 127.0.0.0/8",
    "icmp4.type == 8 && icmp4.code == 0",
    "eth.type == 0x800 && ip.proto == 6 && tcp.flags == 0x2/0x12",
    "vlan.vid == 100 && vlan.pcp == 3",
    "eth.dst == 01:00:00:00:00:00/01:00:00:00:00:00",
    "ip4.dst == 10.1.0.0/255.255.0.255",
    "ip6.src == fe80::/10",
    "!(tcp.dst == {80, 443})",
    "!!ct.est",
    "flags.loopback == 0 && flags.use_snat_zone == 1",
    "ct_label.blocked == 0",
    "ct_mark.ecmp_reply_port == 5",
    "ip4.mcast || ip6.mcast",
    "(ip4 || ip6) && ip.proto == 6",
    "ip.ttl == {}",
    "ip4.src != {}",
    "xreg0[30..33] == 0x5",
    "rarp && rarp.op == 3",
    'inport == {"lp1", "lp2", @pg}',
    "vlan.present == 0",
    "eth.mcast != 1",
]


@pytest.mark.parametrize("text", CANONICAL)
def test_canonical_text_round_trips(text: str) -> None:
    expr = parse_expr(text)
    assert format_expr(expr) == text
    assert parse_expr(format_expr(expr)) == expr


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("80 == tcp.dst", "tcp.dst == 80"),
        ("1000 <= tcp.dst", "tcp.dst >= 1000"),
        ("1024 <= tcp.src <= 49151", "tcp.src >= 1024 && tcp.src <= 49151"),
        ("2000 > tcp.src >= 1000", "tcp.src < 2000 && tcp.src >= 1000"),
        ("eth.type == 0x0800", "eth.type == 0x800"),
        ("ip4.dst == 10.0.0.0/255.255.255.0", "ip4.dst == 10.0.0.0/24"),
        ("ip4.dst==10.0.0.1&&ip4", "ip4.dst == 10.0.0.1 && ip4"),
        ("((ip4))", "ip4"),
        ("ip4 && (tcp && tcp.dst == 22)", "ip4 && tcp && tcp.dst == 22"),
        ("ip4 || (ip6 || arp)", "ip4 || ip6 || arp"),
        ("(1)", "1"),
        ("eth.src == {00:00:00:00:00:01 00:00:00:00:00:02,}",
         "eth.src == {00:00:00:00:00:01, 00:00:00:00:00:02}"),
        ("ip4 // comment\n && /* x */ tcp", "ip4 && tcp"),
        ("eth.src == 0x000000000001", "eth.src == 0x1"),
        ("ip6.dst == FE80:0:0::1", "ip6.dst == fe80::1"),
        ("eth.src == AA:BB:CC:DD:EE:FF", "eth.src == aa:bb:cc:dd:ee:ff"),
        ("(1 <= tcp.src <= 5) || udp", "(tcp.src >= 1 && tcp.src <= 5) || udp"),
        ("!(!(ct.est))", "!!ct.est"),
        ("!(1 <= tcp.src <= 5)", "!(tcp.src >= 1 && tcp.src <= 5)"),
    ],
)  # fmt: skip
def test_non_canonical_text_formats_canonically(text: str, canonical: str) -> None:
    expr = parse_expr(text)
    assert format_expr(expr) == canonical
    assert parse_expr(canonical) == expr


def test_ast_shapes() -> None:
    e = parse_expr('inport == "lp1" && eth.src[40] && !(tcp.dst < 5)')
    assert e == And(
        (
            Cmp(FieldRef("inport"), RelOp.EQ, (StrConst("lp1"),)),
            Bare(FieldRef("eth.src", 40, 40)),
            Not(Cmp(FieldRef("tcp.dst"), RelOp.LT, (IntConst(5),))),
        )
    )
    assert parse_expr("ip4 || 0") == Or((Bare(FieldRef("ip4")), BoolConst(False)))
    assert parse_expr('!is_chassis_resident("p")') == Not(ChassisResident("p"))
    assert parse_expr("eth.type == 0x800") == Cmp(
        FieldRef("eth.type"), RelOp.EQ, (IntConst(0x800, None, IntFormat.HEXADECIMAL),)
    )
    cmp = parse_expr("eth.src == {1}")
    assert isinstance(cmp, Cmp) and cmp.braced
    assert parse_expr("eth.src == {1}") != parse_expr("eth.src == 1")


def test_positions_are_recorded_but_not_compared() -> None:
    a = parse_expr("   tcp.dst == 80")
    b = parse_expr("tcp.dst == 80")
    assert a == b and isinstance(a, Cmp) and a.pos == 3 and b.pos == 0


def test_symbols_used() -> None:
    e = parse_expr('inport == "x" && (ip4.src == 1.2.3.4 || !vlan.present) && 1')
    assert symbols_used(e) == {"inport", "ip4.src", "vlan.present"}


@pytest.mark.parametrize(
    ("text", "pos", "words"),
    [
        ("foo == 1", 0, "Unknown field `foo'"),
        ("ip4 && bar", 7, "Unknown field `bar'"),
        ("tcp.dst == 70000", 11, "17-bit constant is not compatible with 16-bit field"),
        ("eth.src[48]", 8, "out of range"),
        ("reg0[5..3] == 1", 5, "Invalid bit range"),
        ("eth.type[0] == 1", 8, "nominal field"),
        ("ip4[0]", 3, "predicate"),
        ("inport[0] == 1", 6, "string field"),
        ("inport == 5", 10, "needs a string"),
        ("tcp.dst == \"x\"", 11, "needs an integer"),
        ("reg0", 0, "Explicit `!= 0' is required"),
        ("inport", 0, "must be compared to a string"),
        ("ip4 && tcp || udp", 11, "must be parenthesized"),
        ("ip4 || tcp && udp", 11, "must be parenthesized"),
        ("!tcp.dst == 1", 1, "Missing parentheses around operand of !"),
        ("eth.type < 0x800", 0, "nominal field `eth.type'"),
        ("inport < \"a\"", 0, "nominal field `inport'"),
        ("ip4.src < 10.0.0.0/8", 10, "set or mask"),
        ("tcp.dst < {5, 6}", 10, "set or mask"),
        ("ip4.src < $as", 10, "address set"),
        ("eth.type == 0x800/0xff00", 12, "masked constant with nominal field"),
        ("ip4 == 2", 7, "compared with == or != to 0 or 1"),
        ("ip4 < 1", 6, "compared with == or != to 0 or 1"),
        ("inport != \"lp1\"", 0, "Nominal field `inport' may only be tested for equality"),
        ("!(inport == \"lp1\")", 2, "Nominal field `inport'"),
        ("eth.type != 0x800", 0, "Nominal field `eth.type'"),
        ("!ip4", 1, "Nominal predicate `ip4' may only be tested positively"),
        ("ip4 == 0", 0, "Nominal predicate `ip4'"),
        ("!(tcp && tcp.dst == 80)", 2, "Nominal predicate `tcp'"),
        ("tcp.dst == ip4.src", 11, "Can't compare two fields"),
        ("1 == 2", 2, "needs a field"),
        ("5", 0, "must be compared to a field"),
        ("{1, 2}", 0, "must be compared to a field"),
        ("(ip4", 4, "expecting `)'"),
        ("ip4)", 3, "expecting `&&', `||' or end of input"),
        ("ip4 &&", 6, "expecting field or constant"),
        ("eth.src == {1, ip4}", 15, "expecting constant or `}'"),
        ("1 < tcp.dst > 5", 12, "Range expressions"),
        ("is_chassis_resident(lp1)", 20, "quoted string"),
        ("", 0, "expecting field or constant"),
    ],
)  # fmt: skip
def test_errors_name_position(text: str, pos: int, words: str) -> None:
    with pytest.raises(ExprError) as info:
        parse_expr(text)
    assert words in str(info.value)
    assert info.value.pos == pos, str(info.value)


def test_allowed_negations() -> None:
    parse_expr('!(inport != "lp1")')
    parse_expr("!(eth.type != 0x800)")
    parse_expr("!(ip4 == 0)")
    parse_expr("!!ip4")
    parse_expr("!vlan.present && !eth.mcast && !(tcp.dst < 5)")


def test_lex_errors_propagate() -> None:
    with pytest.raises(LexError):
        parse_expr("ip4 & tcp")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(exprs())
def test_random_ast_round_trip(expr) -> None:
    text = format_expr(expr)
    parsed = parse_expr(text)
    assert parsed == expr, text
    assert format_expr(parsed) == text
