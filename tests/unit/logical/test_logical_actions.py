"""Actions: one registry, parse/format round trips, typed instances, errors with positions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyovn.logical.actions import (
    REGISTRY,
    Action,
    ActionRegistry,
    Arp,
    Clone,
    CtCommit,
    CtDnat,
    CtNext,
    DecTtl,
    Drop,
    Exchange,
    GetArp,
    GetFdb,
    Load,
    LookupArp,
    Move,
    NdNa,
    Next,
    Output,
    PutArp,
    format_actions,
    parse_actions,
)
from pyovn.logical.errors import ActionError, LexError
from pyovn.logical.fields import DEFAULT_SYMTAB
from pyovn.logical.values import FieldRef, IntConst, IntFormat, StrConst

ARP_RESPONDER = (
    "eth.dst = eth.src; eth.src = 00:00:00:00:00:01; arp.op = 2; arp.tha = arp.sha; "
    "arp.sha = 00:00:00:00:00:01; arp.tpa = arp.spa; arp.spa = 10.0.0.1; outport = inport; "
    "flags.loopback = 1; output;"
)

CANONICAL = [
    ARP_RESPONDER,
    "",
    "next;",
    "next(3);",
    "next(pipeline=egress, table=0);",
    "next(pipeline=ingress, table=12);",
    "output;",
    "drop;",
    'outport = "lp1"; output;',
    'inport = "lp2"; next;',
    'outport = "_MC_flood"; output;',
    "eth.dst = 01:02:03:04:05:06; next;",
    "reg0 = ip4.dst; next;",
    "reg0[0] = 1; reg0[0..15] = 0x10; reg0[16..31] = reg1[0..15];",
    "vlan.pcp = 4/4;",
    "eth.src <-> eth.dst; ip4.src <-> ip4.dst;",
    "outport <-> inport;",
    "xxreg0 = ip6.dst; xxreg1 = fe80::1;",
    "ip.ttl--; next;",
    "ct_next;",
    "ct_clear; next;",
    "ct_commit;",
    "ct_commit { };",
    "ct_commit { ct_mark.blocked = 1; };",
    "ct_commit { ct_mark = 0x5/0xff; ct_label.label = 7; }; next;",
    "ct_commit_nat;",
    "ct_dnat;",
    "ct_dnat(10.0.0.5);",
    "ct_snat(fe80::1);",
    "ct_dnat_in_czone(192.168.0.1); ct_snat_in_czone;",
    'clone { outport = "lp1"; output; }; next;',
    "clone { };",
    "arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.spa = reg1; arp.tpa = reg0; arp.op = 1; output; };",
    "nd_ns { nd.target = xxreg0; output; };",
    "nd_na { eth.src = 00:00:00:00:00:01; ip6.src = fe80::1; nd.target = fe80::1; "
    "nd.tll = 00:00:00:00:00:01; outport = inport; flags.loopback = 1; output; };",
    "nd_na_router { eth.src = 00:00:00:00:00:01; output; };",
    "icmp4 { eth.dst <-> eth.src; ip4.dst <-> ip4.src; ip.ttl = 255; icmp4.type = 0; output; };",
    "icmp4_error { icmp4.type = 3; icmp4.code = 4; next(pipeline=ingress, table=0); };",
    "icmp6 { icmp6.type = 1; output; }; icmp6_error { output; };",
    "reject { outport <-> inport; next(pipeline=egress, table=5); };",
    "clone { arp { output; }; next; };",
    "put_arp(inport, arp.spa, arp.sha); next;",
    "get_arp(outport, reg0); next;",
    "put_nd(inport, nd.target, nd.tll);",
    "get_nd(outport, xxreg0); next;",
    "put_fdb(inport, eth.src); next;",
    "reg0[11] = lookup_fdb(inport, eth.src); next;",
    "outport = get_fdb(eth.dst); next;",
    "reg9[2] = lookup_arp(inport, arp.spa, arp.sha); next;",
    "reg9[3] = lookup_arp_ip(inport, arp.tpa);",
    "reg9[2] = lookup_nd(inport, ip6.src, eth.src);",
    "reg9[4] = lookup_nd_ip(inport, nd.target);",
    "reg9[1] = check_pkt_larger(1514); next;",
    "reg0[15] = check_in_port_sec(); next;",
    "reg0[14] = check_out_port_sec();",
    "reg0[6] = chk_lb_hairpin(); reg0[12] = chk_lb_hairpin_reply(); next;",
    "reg0[4] = dns_lookup(); next;",
]


@pytest.mark.parametrize("text", CANONICAL)
def test_canonical_round_trip(text: str) -> None:
    actions = parse_actions(text)
    assert format_actions(actions) == text
    assert parse_actions(format_actions(actions)) == actions


def test_arp_responder_structure() -> None:
    mac = IntConst(1, None, IntFormat.ETHERNET)
    assert parse_actions(ARP_RESPONDER) == (
        Move(FieldRef("eth.dst"), FieldRef("eth.src")),
        Load(FieldRef("eth.src"), mac),
        Load(FieldRef("arp.op"), IntConst(2)),
        Move(FieldRef("arp.tha"), FieldRef("arp.sha")),
        Load(FieldRef("arp.sha"), mac),
        Move(FieldRef("arp.tpa"), FieldRef("arp.spa")),
        Load(FieldRef("arp.spa"), IntConst(0x0A000001, None, IntFormat.IPV4)),
        Move(FieldRef("outport"), FieldRef("inport")),
        Load(FieldRef("flags.loopback"), IntConst(1)),
        Output(),
    )


def test_typed_instances() -> None:
    (nxt,) = parse_actions("next(pipeline=egress, table=3);")
    assert nxt == Next(table=3, pipeline="egress")
    assert parse_actions("next;") == (Next(),)
    assert parse_actions('outport = "lp1";') == (Load(FieldRef("outport"), StrConst("lp1")),)
    assert parse_actions("reg0[0..15] <-> reg1[16..31];") == (
        Exchange(FieldRef("reg0", 0, 15), FieldRef("reg1", 16, 31)),
    )
    (arp,) = parse_actions("arp { output; };")
    assert arp == Arp((Output(),))
    assert parse_actions("ct_commit;") == (CtCommit(),)
    assert parse_actions("ct_commit { };") == (CtCommit(()),)
    assert parse_actions("ct_dnat(1.2.3.4);") == (
        CtDnat(IntConst(0x01020304, None, IntFormat.IPV4)),
    )
    assert parse_actions("put_arp(inport, arp.spa, arp.sha);") == (
        PutArp((FieldRef("inport"), FieldRef("arp.spa"), FieldRef("arp.sha"))),
    )
    assert parse_actions("get_arp(outport, reg0);") == (
        GetArp((FieldRef("outport"), FieldRef("reg0"))),
    )
    assert parse_actions("reg0[3] = lookup_arp(inport, arp.spa, arp.sha);") == (
        LookupArp(
            FieldRef("reg0", 3, 3),
            (FieldRef("inport"), FieldRef("arp.spa"), FieldRef("arp.sha")),
        ),
    )
    assert parse_actions("outport = get_fdb(eth.dst);") == (
        GetFdb(FieldRef("outport"), (FieldRef("eth.dst"),)),
    )
    assert parse_actions("ip.ttl--;") == (DecTtl(),)
    assert parse_actions("drop;") == (Drop(),)
    assert parse_actions("ct_next;") == (CtNext(),)
    assert isinstance(parse_actions("nd_na { };")[0], NdNa)
    assert isinstance(parse_actions("clone { };")[0], Clone)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("next(table=5);", "next(5);"),
        ("next(table=2, pipeline=egress);", "next(pipeline=egress, table=2);"),
        ("  output ;  ", "output;"),
        ("drop; // nothing else\n", "drop;"),
        ("/* a */ next ; /* b */", "next;"),
        ("reg0 = 0x00ff;", "reg0 = 0xff;"),
        ("arp{output;};", "arp { output; };"),
        ("ct_commit{ct_mark.blocked=1;};", "ct_commit { ct_mark.blocked = 1; };"),
        ("put_arp(inport,arp.spa,arp.sha);", "put_arp(inport, arp.spa, arp.sha);"),
        ("reg0=10.0.0.1;", "reg0 = 10.0.0.1;"),
        ("ip4.dst = 10.0.0.0/255.255.255.0;", "ip4.dst = 10.0.0.0/24;"),
    ],
)
def test_non_canonical_formats_canonically(text: str, canonical: str) -> None:
    actions = parse_actions(text)
    assert format_actions(actions) == canonical
    assert parse_actions(canonical) == actions


@pytest.mark.parametrize(
    ("text", "pos", "words"),
    [
        ("foo;", 0, "Unknown action `foo'"),
        ("next; bar(1);", 6, "Unknown action `bar'"),
        ("output", 6, "expecting `;'"),
        ("output; next", 12, "expecting `;'"),
        ("next(", 5, "expecting `pipeline' or `table'"),
        ("next(300);", 5, "Table number must be"),
        ("next(0x3);", 5, "Table number must be"),
        ("next(pipeline=sideways, table=1);", 14, "`ingress' or `egress'"),
        ("next(pipeline=egress);", 20, "requires table=N"),
        ("next(table=1, table=2);", 14, "repeated argument `table'"),
        ("eth.type = 0x800;", 0, "not modifiable"),
        ("ip.proto = 6;", 0, "not modifiable"),
        ("ct_mark = 1;", 0, "not modifiable"),
        ("ct.est = 1;", 0, "not modifiable"),
        ("ip4 = 1;", 0, "Predicate `ip4' may not be assigned"),
        ("reg0 = eth.src;", 7, "Can't assign 48-bit `eth.src' to 32-bit `reg0'"),
        ("reg0 = inport;", 7, "Can't mix string field and integer field"),
        ("outport = 5;", 10, "needs a string constant"),
        ("reg0 = \"x\";", 7, "needs an integer constant"),
        ("reg0[0] = 2;", 10, "2-bit constant is not compatible with 1-bit field"),
        ("eth.src = 1.2.3.4.5;", 10, "Invalid numeric constant"),
        ("ip.ttl = 5/5;", 9, "masked constant with nominal field"),
        ("reg0 = ip4;", 7, "Predicate `ip4' is not a field"),
        ("reg0 = ;", 7, "expecting constant or field"),
        ("reg0 -> reg1;", 5, "expecting `=', `<->' or `--'"),
        ("reg0--;", 0, "only supported on ip.ttl"),
        ("eth.src <-> ct_mark;", 12, "not modifiable"),
        ("eth.src <-> reg0;", 12, "Can't assign 32-bit"),
        ("reg0[0] = frob(inport);", 10, "Unknown function `frob'"),
        ("reg0 = lookup_arp(inport, arp.spa, arp.sha);", 0, "1-bit field"),
        ("reg0[0] = get_fdb(eth.src);", 0, "logical port field"),
        ("put_arp(inport, arp.sha, arp.spa);", 16, "argument 2 must be a 32-bit field"),
        ("put_arp(reg0, arp.spa, arp.sha);", 8, "argument 1 must be a logical port field"),
        ("put_arp(inport, arp.spa);", 23, "put_arp takes 3 arguments"),
        ("get_arp(outport, reg0, reg1);", 21, "get_arp takes 2 arguments"),
        ("reg0[0] = check_pkt_larger(reg1);", 27, "expecting integer constant"),
        ("arp { output; }", 15, "expecting `;'"),
        ("arp output;", 4, "expecting `{'"),
        ("arp { frob; };", 6, "Unknown action `frob'"),
        ("ct_commit { reg0 = 1; };", 12, "Only ct_mark and ct_label may be set here"),
        ("ct_commit { next; };", 12, "Only assignments to ct_mark and ct_label"),
        ("ct_commit { ct_mark <-> reg0; };", 20, "expecting `='"),
        ("ct_commit(ct_mark=1);", 9, "instead of parentheses"),
        ("ct_dnat(reg0);", 8, "expecting IPv4 or IPv6 address"),
        ("ct_dnat(80);", 8, "expecting IPv4 or IPv6 address"),
        ("ct_next(1);", 7, "expecting `;'"),
        ("1;", 0, "expecting action"),
        ("reg0[40] = 1;", 5, "out of range"),
    ],
)  # fmt: skip
def test_errors_name_position(text: str, pos: int, words: str) -> None:
    with pytest.raises((ActionError, LexError)) as info:
        parse_actions(text)
    assert words in str(info.value)
    assert info.value.pos == pos, str(info.value)


def test_registry_has_one_class_per_kind() -> None:
    kinds = REGISTRY.kinds
    expected = "next output drop load move exchange arp nd_na clone ct_next ct_commit put_arp"
    for name in [*expected.split(), "get_arp", "lookup_arp", "dec_ttl"]:
        assert name in kinds
    assert len(set(kinds.values())) == len(kinds)
    for kind, cls in kinds.items():
        assert cls.kind == kind and issubclass(cls, Action)
    assert REGISTRY.by_keyword("next") is Next
    assert REGISTRY.by_function("lookup_arp") is LookupArp
    assert REGISTRY.by_syntax("field = field") is Move
    assert REGISTRY.by_keyword("nope") is None


def test_compile_and_execute_default_to_not_implemented() -> None:
    @dataclass(frozen=True)
    class Frob(Action):
        kind = "frob"
        keyword = "frob"

    with pytest.raises(NotImplementedError, match="frob"):
        Frob().compile(None)
    with pytest.raises(NotImplementedError, match="frob"):
        Frob().execute(None)


def test_registry_rejects_bad_registrations() -> None:
    registry = ActionRegistry()

    @dataclass(frozen=True)
    class Frob(Action):
        kind = "frob"
        keyword = "frob"

        def format(self) -> str:
            return "frob;"

    registry.register(Frob)
    assert registry.by_keyword("frob") is Frob
    with pytest.raises(ValueError):
        registry.register(Frob)

    @dataclass(frozen=True)
    class NoForm(Action):
        kind = "noform"

    with pytest.raises(ValueError):
        registry.register(NoForm)


def test_prerequisites() -> None:
    s = DEFAULT_SYMTAB

    def prereqs(text: str) -> tuple[str, ...]:
        (action,) = parse_actions(text)
        return action.prerequisites(s)

    assert prereqs("tcp.dst = 80;") == ("tcp",)
    assert prereqs("eth.dst = eth.src;") == ()
    assert prereqs("vlan.vid = 5;") == ("vlan.present",)
    assert prereqs("reg0 = ip4.src;") == ("ip4",)
    assert prereqs("ip4.src <-> ip4.dst;") == ("ip4",)
    assert prereqs("arp { output; };") == ("ip4",)
    assert prereqs("nd_na { output; };") == ("nd_ns",)
    assert prereqs("clone { tcp.dst = 1; };") == ()
    assert prereqs("ip.ttl--;") == ("ip",)
    assert prereqs("put_arp(inport, arp.spa, arp.sha);") == ("arp",)
    assert prereqs("reg0[0] = lookup_nd(inport, ip6.src, eth.src);") == ("ip6",)
    assert prereqs("output;") == ()


def test_str_is_format() -> None:
    (action,) = parse_actions("next(2);")
    assert str(action) == "next(2);"


# Random action lists round trip.
_WRITABLE = [
    (FieldRef("eth.src"), 48), (FieldRef("eth.dst"), 48), (FieldRef("reg0"), 32),
    (FieldRef("reg1", 0, 15), 16), (FieldRef("tcp.dst"), 16), (FieldRef("ip4.dst"), 32),
    (FieldRef("flags.loopback"), 1), (FieldRef("vlan.pcp"), 3), (FieldRef("xxreg1"), 128),
    (FieldRef("arp.sha"), 48), (FieldRef("reg9", 16, 31), 16), (FieldRef("arp.spa"), 32),
]  # fmt: skip


@st.composite
def _loads(draw) -> Action:
    ref, width = draw(st.sampled_from(_WRITABLE))
    value = draw(st.integers(0, (1 << width) - 1))
    fmt = draw(st.sampled_from([IntFormat.DECIMAL, IntFormat.HEXADECIMAL]))
    if draw(st.booleans()):
        mask = draw(st.integers(1, (1 << width) - 1))
        return Load(ref, IntConst(value & mask, mask, fmt))
    return Load(ref, IntConst(value, None, fmt))


@st.composite
def _moves(draw) -> Action:
    dst, width = draw(st.sampled_from(_WRITABLE))
    src = draw(st.sampled_from([r for r, w in _WRITABLE if w == width]))
    return draw(st.sampled_from([Move(dst, src), Exchange(dst, src)]))


_simple = st.one_of(
    _loads(),
    _moves(),
    st.builds(Next, st.none() | st.integers(0, 254)),
    st.builds(Next, st.integers(0, 254), st.sampled_from(["ingress", "egress"])),
    st.sampled_from([Output(), Drop(), CtNext(), DecTtl(), CtCommit(), CtDnat()]),
    st.sampled_from(["lp1", "a b", 'q"uote', "ü"]).map(
        lambda n: Load(FieldRef("outport"), StrConst(n))
    ),
)
_actions = st.recursive(
    _simple,
    lambda inner: st.builds(
        lambda cls, acts: cls(tuple(acts)),
        st.sampled_from([Arp, Clone, NdNa]),
        st.lists(inner, max_size=3),
    ),
    max_leaves=6,
)


@settings(max_examples=200)
@given(st.lists(_actions, max_size=5).map(tuple))
def test_random_action_lists_round_trip(actions) -> None:
    text = format_actions(actions)
    assert parse_actions(text) == actions, text
