"""Normalization to match sets: hand-computed cases and a property test against a direct
evaluator on random packets."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pyovn.logical.errors import ExprError
from pyovn.logical.expr import Cmp, FieldRef, Not, RelOp
from pyovn.logical.expr_parser import parse_expr
from pyovn.logical.fields import DEFAULT_SYMTAB
from pyovn.logical.matchset import MatchSet
from pyovn.logical.normalize import compile_match, normalize
from pyovn.logical.values import IntConst, StrConst

from .evaluator import Evaluator
from .strategies import (
    ADDRESS_SETS,
    PORT_GROUPS,
    RESIDENT_PORTS,
    constants_in,
    exprs,
    packets,
    relevant_storage,
)

M48 = (1 << 48) - 1
M32 = 0xFFFFFFFF
M16 = 0xFFFF
M8 = 0xFF
IP4 = {"eth.type": (0x800, M16)}
IP6 = {"eth.type": (0x86DD, M16)}


def ms(fields=None, resident=None) -> MatchSet:
    return MatchSet.of(fields or {}, resident or {})


def flows(text: str, **kw) -> set[MatchSet]:
    result = compile_match(text, **kw)
    assert len(set(result)) == len(result), "duplicates"
    return set(result)


def test_port_and_mac_set() -> None:
    assert flows('inport == "lp1" && eth.src == {00:00:00:00:00:01}') == {
        ms({"inport": "lp1", "eth.src": (1, M48)})
    }
    assert flows('inport == "lp1" && eth.src == {00:00:00:00:00:01, 00:00:00:00:00:02}') == {
        ms({"inport": "lp1", "eth.src": (1, M48)}),
        ms({"inport": "lp1", "eth.src": (2, M48)}),
    }


def test_simple_predicates_and_bits() -> None:
    assert flows("eth.mcast") == {ms({"eth.dst": (1 << 40, 1 << 40)})}
    assert flows("eth.src[40]") == {ms({"eth.src": (1 << 40, 1 << 40)})}
    assert flows("vlan.present") == {ms({"vlan.tci": (0x1000, 0x1000)})}
    assert flows("!vlan.present") == {ms({"vlan.tci": (0, 0x1000)})}
    assert flows("eth.bcast") == {ms({"eth.dst": (M48, M48)})}
    assert flows('outport == "_MC_flood"') == {ms({"outport": "_MC_flood"})}
    assert flows("ip4") == {ms(IP4)}
    assert flows("ip") == {ms(IP4), ms(IP6)}


def test_arp_request_match() -> None:
    assert flows('arp.tpa == 10.0.0.5 && arp.op == 1 && inport == "vm1"') == {
        ms({"eth.type": (0x806, M16), "arp.tpa": (0x0A000005, M32), "arp.op": (1, M16),
            "inport": "vm1"})
    }  # fmt: skip


def test_prefix_adds_prerequisite() -> None:
    assert flows("ip4.dst == 10.0.0.0/24") == {ms({**IP4, "ip4.dst": (0x0A000000, 0xFFFFFF00)})}


def test_l4_prerequisites_cover_both_ip_versions() -> None:
    assert flows("tcp.dst == 80") == {
        ms({**IP4, "ip.proto": (6, M8), "tcp.dst": (80, M16)}),
        ms({**IP6, "ip.proto": (6, M8), "tcp.dst": (80, M16)}),
    }
    assert flows("ip4 && udp.dst == 67") == {
        ms({**IP4, "ip.proto": (17, M8), "udp.dst": (67, M16)})
    }


def test_range_is_one_interval() -> None:
    blocks = [(1000, 0xFFF8), (1008, 0xFFF0), (1024, 0xFE00), (1536, 0xFF00),
              (1792, 0xFF80), (1920, 0xFFC0), (1984, 0xFFF0), (2000, 0xFFFF)]  # fmt: skip
    expected = {
        ms({**l3, "ip.proto": (6, M8), "tcp.dst": block}) for l3 in (IP4, IP6) for block in blocks
    }
    assert flows("tcp.dst >= 1000 && tcp.dst <= 2000") == expected
    assert flows("1000 <= tcp.dst <= 2000") == expected
    assert flows("tcp.dst <= 2000 && !(tcp.dst < 1000)") == expected


def test_not_equal_splits_per_bit() -> None:
    value = 0x01020304
    expected = {ms({**IP4, "ip4.src": ((~value) & (1 << b), 1 << b)}) for b in range(32)}
    assert flows("!(ip4.src == 1.2.3.4)") == expected
    assert flows("ip4.src != 1.2.3.4") == expected
    # Masked: only the masked bits.
    assert flows("reg0 != 0x5/0x7") == {
        ms({"reg0": (0, 4)}),
        ms({"reg0": (2, 2)}),
        ms({"reg0": (0, 1)}),
    }


def test_not_equal_set_is_a_disjoint_complement() -> None:
    assert flows("reg0[0..3] != {1, 2, 3}") == {
        ms({"reg0": (0, 0xF)}),
        ms({"reg0": (4, 0xC)}),
        ms({"reg0": (8, 0x8)}),
    }
    assert flows("reg0 != {}") == {ms()}
    assert flows("reg0 == {}") == set()


def test_contradictions_give_no_flows() -> None:
    assert flows("eth.type == 0x800 && eth.type == 0x806") == set()
    assert flows("ip4 && ip6") == set()
    assert flows("tcp.dst == 80 && udp.dst == 53") == set()
    assert flows("ip4.src == 10.0.0.0/8 && ip4.src == 11.0.0.1") == set()
    assert flows('inport == "a" && inport == "b"') == set()
    assert flows("tcp.dst < 0") == set()
    assert flows("tcp.dst > 5 && tcp.dst < 3") == set()
    assert flows("0") == set()
    assert flows('is_chassis_resident("p") && !is_chassis_resident("p")') == set()


def test_true_and_tautologies() -> None:
    assert flows("1") == {ms()}
    assert flows("!0") == {ms()}
    # Complementary match sets are not merged (only redundant ones are dropped).
    assert flows("vlan.present || !vlan.present") == {
        ms({"vlan.tci": (0x1000, 0x1000)}),
        ms({"vlan.tci": (0, 0x1000)}),
    }
    assert flows("tcp.dst >= 0") == {ms({**IP4, "ip.proto": (6, M8)}),
                                     ms({**IP6, "ip.proto": (6, M8)})}  # fmt: skip


def test_redundant_match_sets_are_dropped() -> None:
    assert flows("ip4 || ip4.src == 1.2.3.4") == {ms(IP4)}
    assert flows("ct.est || (ct.est && ct.rpl)") == {ms({"ct_state": (0x22, 0x22)})}


def test_subfields_and_overlays_map_to_storage() -> None:
    assert flows("vlan.vid == 5") == {ms({"vlan.tci": (0x1005, 0x1FFF)})}
    assert flows("ct.est && !ct.rel") == {ms({"ct_state": (0x22, 0x26)})}
    assert flows("flags.loopback == 1") == {ms({"flags": (1, 1)})}
    assert flows("xxreg0 == 0x1000000020000000300000004") == {
        ms({"reg0": (1, M32), "reg1": (2, M32), "reg2": (3, M32), "reg3": (4, M32)})
    }
    assert flows("xreg0[30..33] == 0xf") == {ms({"reg1": (0xC0000000, 0xC0000000), "reg0": (3, 3)})}
    assert flows("rarp.op == 3") == {ms({"eth.type": (0x8035, M16), "arp.op": (3, M16)})}


def test_nd_expansion() -> None:
    base = {**IP6, "ip.proto": (58, M8), "icmp6.code": (0, M8), "ip.ttl": (255, M8)}
    assert flows("nd") == {
        ms({**base, "icmp6.type": (135, M8)}),
        ms({**base, "icmp6.type": (136, M8)}),
    }
    assert flows("nd_ns && nd.target == ::1") == {
        ms({**base, "icmp6.type": (135, M8), "nd.target": (1, (1 << 128) - 1)})
    }
    assert flows("nd.sll == 0 && nd_na") == set()  # nd.sll requires nd_ns


def test_first_frag() -> None:
    assert flows("ip4 && ip.first_frag") == {ms({**IP4, "ip.frag": (1, 3)})}
    assert flows("ip4 && !ip.first_frag") == {
        ms({**IP4, "ip.frag": (0, 1)}),
        ms({**IP4, "ip.frag": (2, 2)}),
    }


def test_chassis_resident_is_symbolic() -> None:
    assert flows('inport == "x" && !is_chassis_resident("cr-x")') == {
        ms({"inport": "x"}, {"cr-x": False})
    }
    (only,) = compile_match('is_chassis_resident("cr-x")')
    assert only.resident == (("cr-x", True),)
    assert only.matches({}, resident_ports={"cr-x"}) and not only.matches({})


def test_address_sets_and_port_groups() -> None:
    sets = {"as1": ["10.0.0.1", "10.0.0.0/30"], "macs": ["00:00:00:00:00:01"]}
    groups = {"pg1": ["lp1", "lp2"], "none": []}
    # 10.0.0.1 is inside 10.0.0.0/30: the narrower set is redundant.
    assert flows("ip4.src == $as1", address_sets=sets) == {
        ms({**IP4, "ip4.src": (0x0A000000, 0xFFFFFFFC)})
    }
    assert flows("eth.src == $macs", address_sets=sets) == {ms({"eth.src": (1, M48)})}
    assert flows("inport == @pg1", port_groups=groups) == {
        ms({"inport": "lp1"}),
        ms({"inport": "lp2"}),
    }
    assert flows("inport == @none", port_groups=groups) == set()
    with pytest.raises(ExprError, match="Unknown address set `\\$nope'"):
        compile_match("ip4.src == $nope")
    with pytest.raises(ExprError, match="Unknown port group `@nope'"):
        compile_match("outport == @nope")
    with pytest.raises(ExprError, match="not compatible"):
        compile_match("ip4.src == $big", address_sets={"big": ["aa:00:00:00:00:01"]})
    with pytest.raises(ExprError, match="Bad entry"):
        compile_match("ip4.src == $bad", address_sets={"bad": ["zz"]})


def test_flow_limit() -> None:
    text = "ip6.src != ::1 && ip6.dst != ::2"
    with pytest.raises(ExprError, match="more than 10000 flows"):
        compile_match(text)
    assert len(compile_match("ip4.src != 1.2.3.4 && tcp.dst != 5")) == 32 * 16 * 1
    with pytest.raises(ExprError, match="more than 100 flows"):
        compile_match("ip4.src != 1.2.3.4 && tcp.dst != 5", max_flows=100)


def test_hand_built_ast_with_negative_nominal_test_is_rejected() -> None:
    bad = Not(Cmp(FieldRef("inport"), RelOp.EQ, (StrConst("x"),)))
    with pytest.raises(ExprError, match="Nominal field `inport'"):
        normalize(bad)
    bad2 = Cmp(FieldRef("ip4"), RelOp.EQ, (IntConst(0),))
    with pytest.raises(ExprError, match="Nominal predicate `ip4'"):
        normalize(bad2)


def test_matchset_mapping_and_format() -> None:
    (m,) = compile_match('inport == "lp1" && ip4.src == 10.0.0.0/8')
    assert dict(m) == {
        "inport": "lp1",
        "eth.type": (0x800, M16),
        "ip4.src": (0x0A000000, 0xFF000000),
    }
    assert m["inport"] == "lp1" and "ip4.src" in m and len(m) == 3
    assert m.format(DEFAULT_SYMTAB.storage_fields()) == (
        'eth.type=0x800,inport="lp1",ip4.src=0xa000000/0xff000000'
    )
    assert m.format().startswith("eth.type=0x800/0xffff")
    assert str(MatchSet()) == "1"
    assert m.matches({"inport": "lp1", "eth.type": 0x800, "ip4.src": 0x0A010203})
    assert not m.matches({"inport": "lp2", "eth.type": 0x800, "ip4.src": 0x0A010203})
    with pytest.raises(KeyError):
        m["eth.src"]


# Realistic matches whose normalized flows must agree with direct evaluation.
REALISTIC = [
    'inport == "lp1" && eth.src == {00:00:00:00:00:01}',
    "eth.mcast",
    "!eth.mcast",
    'outport == "_MC_flood"',
    'arp.tpa == 10.0.0.5 && arp.op == 1 && inport == "vm1"',
    "eth.src[40]",
    "vlan.present",
    "vlan.vid == 5 || !vlan.present",
    "ip4.dst == 10.0.0.0/24",
    "tcp.dst >= 1000 && tcp.dst <= 2000",
    "!(tcp.dst >= 1000 && tcp.dst <= 2000)",
    "!(ip4.src == 1.2.3.4)",
    "ip.ttl == {0, 1} && !ip.later_frag && (ip4.mcast || ip6.mcast)",
    "ip && ip4.src == 10.0.0.0/24 && (!ct.trk || !ct.rpl)",
    "ct.est && !ct.rel && !ct.new && ct_mark.natted",
    "reg9[6] == 1 && ct.new && ip && ip4.dst == 10.0.0.10 && tcp && tcp.dst == 80",
    "reg8[0..15] == 0 && reg8[16..31] == 3",
    'inport == "ext" && !is_chassis_resident("cr-lrp1")',
    "ip4.src == $as1 || inport == @pg1",
    "nd_ns && (ip6.src == 0 || nd.sll == 0)",
    "nd || arp",
    "ip.first_frag || !ip.is_frag",
    "tcp.src < 1024 || udp.src > 49151",
    "reg0[0..3] != {1, 2, 3}",
    "xreg0[30..33] > 5 && xreg0[30..33] != 7",
    "!(tcp.dst == {80, 443}) && tcp",
    "icmp4 || icmp6",
    "eth.ucast && !eth.bcast",
]


SMALL = [
    "reg0[0..5] >= 10 && reg0[0..5] <= 20",
    "reg0[0..5] <= 20 && reg0[0..5] > 10 && reg0[0..5] != 15",
    "!(reg0[0..5] < 7) || reg0[0..5] == 0x3/0x3",
    "reg0[0..5] != {1, 2, 3, 0x20/0x30}",
    "!(reg0[0..5] == {1, 2, 3}) && reg0[0..5] < 40",
    "reg0[0..5] != 42 && !(reg0[0..5] > 50)",
    "xreg0[31..36] > 9 && xreg0[31..36] < 50",
    "(reg0[0..5] < 5 || reg0[0..5] >= 60) && !(reg0[0..5] == 2)",
]


@pytest.mark.parametrize("text", SMALL)
def test_small_fields_agree_exhaustively(text: str) -> None:
    expr = parse_expr(text)
    result = normalize(expr)
    evaluate = Evaluator()
    for x in range(64):
        if "xreg0" in text:
            # xreg0 is reg0 (high half) : reg1, so xreg0[31..36] is reg1[31] then reg0[0..4].
            packet = {"reg1": (x & 1) << 31 | 0x1234, "reg0": x >> 1 | 0xAB00}
        else:
            packet = {"reg0": x | 0xABCD00}  # other bits set too: they must not matter
        assert any(m.matches(packet) for m in result) == evaluate(expr, packet), x


def _check_agreement(expr, packet, resident) -> None:
    evaluate = Evaluator(address_sets=ADDRESS_SETS, port_groups=PORT_GROUPS, resident=resident)
    want = evaluate(expr, packet)
    got = any(
        m.matches(packet, resident)
        for m in normalize(expr, address_sets=ADDRESS_SETS, port_groups=PORT_GROUPS)
    )
    assert got == want


_resident = st.sets(st.sampled_from(RESIDENT_PORTS)).map(frozenset)


@pytest.mark.parametrize("text", REALISTIC)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_realistic_flows_agree_with_direct_evaluation(text: str, data) -> None:
    expr = parse_expr(text)
    aim = frozenset(constants_in(expr) | {0x0A00000A, 0x0A000001})
    packet = data.draw(packets(aim, relevant_storage(expr)))
    _check_agreement(expr, packet, data.draw(_resident))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=exprs(), data=st.data())
def test_random_flows_agree_with_direct_evaluation(expr, data) -> None:
    try:
        result = normalize(expr, address_sets=ADDRESS_SETS, port_groups=PORT_GROUPS)
    except ExprError as err:
        assume("more than" not in str(err))
        raise
    evaluate_ = Evaluator(address_sets=ADDRESS_SETS, port_groups=PORT_GROUPS)
    aim = frozenset(constants_in(expr))
    fields = relevant_storage(expr)
    for _ in range(5):
        packet = data.draw(packets(aim, fields))
        resident = data.draw(_resident)
        evaluate_.resident = resident
        assert any(m.matches(packet, resident) for m in result) == evaluate_(expr, packet)
