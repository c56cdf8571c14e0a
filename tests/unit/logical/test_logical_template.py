"""Parse-once templates (pyovn.logical.template) give exactly what a normal parse gives.

* generated per-port flows (names, MACs, IPv4s, including values that collide with each
  other, with other literals of the text and with the sentinels), random match expressions
  re-instantiated with new literals, and every flow pyovn northd produces for the golden
  topology: the templated result equals the normal one, errors included;
* ``compile_lflow`` gives the same output with templates as without, caches cleared;
* one case per safety rule: equal values share a slot, a slot value equal to another literal
  is parsed normally, texts with ``!=``/``<``/``!`` are not templated, a template that gives a
  different result for a verified instance is disabled, errors come out unchanged, bit-level
  interplay and residency order make a template unusable.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyovn.controller import lflow as lflow_mod
from pyovn.controller.lflow import compile_lflow
from pyovn.logical import template as tmod
from pyovn.logical.actions import parse_actions
from pyovn.logical.errors import LogicalSyntaxError
from pyovn.logical.expr import format_expr
from pyovn.logical.matchset import MatchSet
from pyovn.logical.normalize import clear_caches, compile_match
from pyovn.logical.template import TemplateCache, analyse_match, scan
from tests.support.northd import FlowKey
from tests.unit.logical.test_logical_cache import _northd_flows

from .strategies import exprs


def _outcome(fn: Callable[[str], Any], text: str) -> str:
    try:
        return repr(fn(text))
    except (LogicalSyntaxError, ValueError) as err:
        return f"{type(err).__name__}: {err}"


def _match_cache(**kw: Any) -> TemplateCache[Any]:
    return TemplateCache(compile_match, analyse_match, **kw)


def _actions_cache(**kw: Any) -> TemplateCache[Any]:
    return TemplateCache(parse_actions, **kw)


def _check(cache: TemplateCache[Any], normal: Callable[[str], Any], texts: list[str]) -> None:
    for text in texts:
        assert _outcome(cache, text) == _outcome(normal, text), text


# ---------------------------------------------------------------------------- values

# Values chosen to collide: zero, one, broadcast/multicast, top bit, the sentinels.
_MAC_VALUES = [0, 1, 2, 0x0A0000000296, 0xFFFFFFFFFFFF, 1 << 40, 1 << 47, 0xFF5A17000000]
_IP_VALUES = [0, 1, 2, 0x0A000001, 0xAC100096, 0xFFFFFFFF, 1 << 31, 0xFF5A1700, 0xFF5A1701]
_NAMES = ["c1", "c2", "vm1", "a", "", "inport", "__pyovn_slot0__", "__pyovn_slot1__", "é"]


def _mac_text(value: int, upper: bool) -> str:
    raw = f"{value:012X}" if upper else f"{value:012x}"
    return ":".join(raw[i : i + 2] for i in range(0, 12, 2))


def _ip_text(value: int) -> str:
    return ".".join(str((value >> s) & 255) for s in (24, 16, 8, 0))


macs = st.builds(
    _mac_text,
    st.one_of(st.sampled_from(_MAC_VALUES), st.integers(0, (1 << 48) - 1)),
    st.booleans(),
)
ips = st.one_of(st.sampled_from(_IP_VALUES), st.integers(0, (1 << 32) - 1)).map(_ip_text)
names = st.one_of(st.sampled_from(_NAMES), st.from_regex(r"[a-z][a-z0-9_-]{0,6}", fullmatch=True))

# Per-port flow shapes (northd's and variants): {p} port, {q} another port, {m}/{n} MACs,
# {i}/{j} IPv4 addresses.
MATCH_SHAPES = [
    'inport == "{p}" && eth.src == {{{m}}}',
    'outport == "{p}" && eth.dst == {{{m}}}',
    "arp.tpa == {i} && arp.op == 1",
    'arp.tpa == {i} && arp.op == 1 && inport == "{p}"',
    "eth.dst == {m}",
    'inport == "{p}" && eth.src == {{{m}, {n}}}',
    'inport == "{p}" && (arp.spa == {i} || ip4.src == {{{i}, {j}}})',
    'inport == "{p}" && ip4.src == {i} && ip4.dst == 10.0.0.0/8',
    "ip4.dst == {{{i}, 10.0.0.1, 0xac100096}} && ip4",
    'is_chassis_resident("{p}") && outport == "{q}"',
    'is_chassis_resident("{p}") && is_chassis_resident("{q}")',
    "eth.dst == {m} && eth.dst[40] == 0",
    "eth.dst == {m} && eth.mcast",
    "reg0 == {i} && xxreg0[96..127] == {j}",
    "eth.dst[8..47] == {i} && ip4.src == {i}",
    "xxreg0 == {m} && eth.src == {m}",
    "arp.tpa == {i} && rarp.tpa == {j}",
    "eth.src == {m} && arp.sha == {n} && arp.tha == {m}",
    "eth.src == {m} && eth.src == {n}",
    'inport == "{p}" && inport == "{q}"',
    "arp.op == {i}",
    "ip4.src == {i} && ip4.src == 0.0.0.1",
    "eth.dst == {m} && eth.dst == 00:00:00:00:00:01",
    "ip4.src[0..15] == {i}",
    "{i}",
    "eth.src == {m} &&",
    '(inport == "{p}" || outport == "{p}") && eth.type == 0x806',
    "vlan.tci == {i}",
]
ACTION_SHAPES = [
    "next;",
    'outport = "{p}"; output;',
    "eth.dst = eth.src; eth.src = {m}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; "
    "arp.sha = {m}; arp.tpa = arp.spa; arp.spa = {i}; outport = inport; flags.loopback = 1; "
    "output;",
    "eth.src = {m}; eth.dst = {n}; ip4.src = {i}; ip4.dst = {j}; next;",
    "ct_dnat({i}); ct_snat({j});",
    'clone {{ outport = "{p}"; output; }}; outport = "{q}"; output;',
    "reg0 = {i}; reg1 = {j}; xxreg0 = {m};",
    "arp.op = {i};",
    "ip.ttl = {i};",
    "eth.src = {m}/ff:ff:ff:00:00:00; next;",
    "next({i});",
    'outport = "{p}" output;',
    "reg0[0..15] = {i};",
    "eth.src = {m}; // {n}\n eth.dst = {n};",
]


def _fill(shape: str, draw: Callable[[Any], Any]) -> str:
    return shape.format(
        p=draw(names), q=draw(names), m=draw(macs), n=draw(macs), i=draw(ips), j=draw(ips)
    )


# verify=0: the sentinel parse and the analysis alone must already be exact (the verified
# instances are a second line of defence, and would hide a hole in the first).


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from([0, 2]))
def test_generated_per_port_matches_equal_the_normal_parse(
    data: st.DataObject, verify: int
) -> None:
    cache = _match_cache(verify=verify)
    for shape in MATCH_SHAPES:
        texts = [_fill(shape, data.draw) for _ in range(6)]
        _check(cache, compile_match, texts)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from([0, 2]))
def test_generated_per_port_actions_equal_the_normal_parse(
    data: st.DataObject, verify: int
) -> None:
    cache = _actions_cache(verify=verify)
    for shape in ACTION_SHAPES:
        texts = [_fill(shape, data.draw) for _ in range(6)]
        _check(cache, parse_actions, texts)


def test_the_templates_are_used() -> None:
    cache, rng = _match_cache(), random.Random(3)
    shape = MATCH_SHAPES[3]
    for n in range(20):
        text = shape.format(p=f"c{n}", i=f"172.16.{rng.randrange(256)}.{n}")
        assert cache(text) == compile_match(text)
    assert cache.stats.created == 1 and cache.stats.verified == 2
    assert cache.stats.templated == 18 and cache.stats.disabled == 0


# ---------------------------------------------------------------------------- random exprs


def _reinstantiate(text: str, rng: random.Random) -> str | None:
    """``text`` with every slot literal replaced by another value of its class (sometimes the
    value of another slot or of a literal elsewhere), or None if it has no slot."""
    scanned = scan(text)
    if scanned is None or not scanned[1]:
        return None
    key, raws, classes = scanned
    pool = {"s": list(_NAMES), "m": [], "i": []}
    for c, raw in zip(classes, raws, strict=True):
        pool[c].append(raw)
    fresh = []
    for c in classes:
        if c == "s":
            fresh.append('"' + rng.choice(pool["s"] + [f"p{rng.randrange(4)}"]) + '"')
        elif c == "m":
            value = rng.choice([*_MAC_VALUES, rng.getrandbits(48)])
            fresh.append(rng.choice([*pool["m"], _mac_text(value, rng.random() < 0.3)]))
        else:
            value = rng.choice([*_IP_VALUES, rng.getrandbits(32)])
            fresh.append(rng.choice([*pool["i"], _ip_text(value)]))
    return tmod._PLACEHOLDER_RE.sub(lambda m: fresh[int(m.group(2))], key)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=exprs(), seed=st.integers(0, 2**32))
def test_random_matches_reinstantiated_equal_the_normal_parse(expr: Any, seed: int) -> None:
    rng = random.Random(seed)
    text = format_expr(expr)
    # no ordering, negation, sets or groups: the templates apply (and the texts still vary)
    positive = text.replace("!=", "==").replace("!", "").replace("$as1", "10.0.0.1")
    for source in (text, positive.replace("@pg1", '"lp1"').replace("@empty", '"lp2"')):
        cache = _match_cache(verify=seed % 3)
        texts = [source] + [t for _ in range(6) if (t := _reinstantiate(source, rng))]
        _check(cache, compile_match, texts)


_PIECES = [
    " ", "\n", "//", "/*", "*/", "/", "<->", "->", "<", "!", "==", "=", "&&", "||", "..", ".",
    ":", "::", ",", ";", "(", ")", "{", "}", "[", "]", "0", "1", "12", "0x1f", "10.0.0.1",
    "0a:00:00:00:00:01", "AB:cd:00:00:00:02", "fe80::1", "ip4", "eth.src", "eth.dst", "reg0",
    "ip4.src", "arp.tpa", "inport", "outport", "next", "output", "x", '"lp1"', '"a\\"b"', '"',
    "$as", "@pg", "/24", "/0xff", "é", "\t",
]  # fmt: skip


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join), st.integers(0, 2**32))
def test_random_texts_reinstantiated_equal_the_normal_parse(text: str, seed: int) -> None:
    """Literals in every kind of neighbourhood (inside names, numbers, masks, strings,
    comments): the key gives the text back, and parses agree, errors included."""
    scanned = scan(text)
    if scanned is not None:
        key, raws, classes = scanned
        back = [raw if c != "s" else f'"{raw}"' for c, raw in zip(classes, raws, strict=True)]
        assert tmod._PLACEHOLDER_RE.sub(lambda m: back[int(m.group(2))], key) == text
    rng = random.Random(seed)
    texts = [text] + [t for _ in range(4) if (t := _reinstantiate(text, rng))]
    _check(_match_cache(verify=0), compile_match, texts)
    _check(_actions_cache(verify=0), parse_actions, texts)


_INT_FIELDS = [
    "eth.src", "eth.dst", "ip4.src", "ip4.dst", "arp.tpa", "arp.spa", "arp.sha", "reg0",
    "xxreg0", "vlan.tci", "arp.op", "eth.dst[40]", "ip4.src[0..15]", "eth.dst[8..47]",
    "xxreg0[96..127]", "rarp.tpa",
]  # fmt: skip
_LITERALS = [
    "{m}", "{n}", "{i}", "{j}", "{m}", "{i}", "0x800", "1", "0", "10.0.0.0/8", "{i}/24",
    "{m}/ff:ff:ff:ff:ff:00", "00:00:00:00:00:01", "0.0.0.1", "255.90.23.0", "{m}/1",
]  # fmt: skip


@st.composite
def _match_shapes(draw: st.DrawFn) -> str:
    """Random per-port-like matches (with {m} {n} {i} {j} {p} {q} holes)."""
    leaves = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["int", "int", "int", "port", "resident", "pred"]))
        if kind == "int":
            lits = draw(st.lists(st.sampled_from(_LITERALS), min_size=1, max_size=3))
            value = lits[0] if len(lits) == 1 else "{{" + ", ".join(lits) + "}}"
            leaves.append(f"{draw(st.sampled_from(_INT_FIELDS))} == {value}")
        elif kind == "port":
            port = draw(st.sampled_from(['"{p}"', '"{q}"', '"lp1"', '{{"{p}", "{q}"}}']))
            field = draw(st.sampled_from(["inport", "outport"]))
            leaves.append(f"{field} == {port}")
        elif kind == "resident":
            port = draw(st.sampled_from(['"{p}"', '"{q}"']))
            leaves.append(f"is_chassis_resident({port})")
        else:
            leaves.append(draw(st.sampled_from(["ip4", "arp", "eth.mcast", "1", "0"])))
    if len(leaves) > 2 and draw(st.booleans()):
        leaves = [f"({leaves[0]} || {leaves[1]})", *leaves[2:]]
    return " && ".join(leaves)


@st.composite
def _action_shapes(draw: st.DrawFn) -> str:
    out = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["load", "load", "port", "misc", "comment"]))
        if kind == "load":
            field = draw(st.sampled_from(_INT_FIELDS))
            out.append(f"{field} = {draw(st.sampled_from(_LITERALS))};")
        elif kind == "port":
            field = draw(st.sampled_from(["inport", "outport"]))
            out.append(f"{field} = " + '"{p}";')
        elif kind == "misc":
            out.append(draw(st.sampled_from(["next;", "output;", "ct_dnat({i});", "drop;"])))
        else:
            out.append("/* {m} {i} */")
    return " ".join(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.one_of(_match_shapes(), _action_shapes()), st.booleans())
def test_random_shapes_equal_the_normal_parse(
    data: st.DataObject, shape: str, squeeze: bool
) -> None:
    """Random flows of per-port shape, some squeezed (no blanks): templated with verify=0 (the
    sentinel parse and the analysis alone), they parse as normally, errors included."""
    if squeeze:
        shape = shape.replace(" ", "")
    texts = [_fill(shape, data.draw) for _ in range(5)]
    _check(_match_cache(verify=0), compile_match, texts)
    _check(_actions_cache(verify=0), parse_actions, texts)


# ---------------------------------------------------------------------------- northd flows


def _compile(flow: FlowKey, ports: dict[str, int]) -> str:
    pipeline, table, priority, match, actions = flow
    try:
        return repr(compile_lflow(pipeline, table, priority, match, actions, 1, ports))
    except (LogicalSyntaxError, ValueError, lflow_mod.CompileError) as err:
        return f"{type(err).__name__}: {err}"


def _clear_all() -> None:
    lflow_mod.parsed_match.cache_clear()
    lflow_mod.parsed_actions.cache_clear()
    clear_caches()
    tmod.clear_templates()


def test_every_northd_flow_compiles_the_same_with_templates() -> None:
    flows, ports = _northd_flows(new_ports=6)
    assert len(flows) > 80
    cache_m, cache_a = _match_cache(), _actions_cache()
    for _, _, _, match, actions in flows:
        assert _outcome(cache_m, match) == _outcome(compile_match, match), match
        assert _outcome(cache_a, actions) == _outcome(parse_actions, actions), actions
    assert cache_m.stats.templated > 20 and cache_a.stats.templated > 10
    assert cache_m.stats.disabled == cache_a.stats.disabled == 0
    tmod.set_enabled(False)
    try:
        plain = {}
        for flow in flows:
            _clear_all()
            plain[flow] = _compile(flow, ports)
    finally:
        tmod.set_enabled(True)
    for order in (flows, list(reversed(flows)), random.Random(5).sample(flows, len(flows))):
        _clear_all()
        for flow in order:
            assert _compile(flow, ports) == plain[flow], flow
        assert tmod.MATCHES.stats.templated > 0 and tmod.ACTIONS.stats.templated > 0


# ---------------------------------------------------------------------------- the rules


def test_scan_keys() -> None:
    assert scan('inport == "c1" && eth.src == {0a:00:00:00:00:01}') == (
        "inport == \x00s0\x00 && eth.src == {\x00m1\x00}",
        ["c1", "0a:00:00:00:00:01"],
        ["s", "m"],
    )
    # equal values share a slot; the key records which literals are equal
    one, two = scan('inport == "a" && outport == "a"'), scan('inport == "a" && outport == "b"')
    assert one is not None and one[0] == "inport == \x00s0\x00 && outport == \x00s0\x00"
    assert two is not None and two[0] == "inport == \x00s0\x00 && outport == \x00s1\x00"
    # masks, masked literals, escapes, comments, IPv6 and names stay literal text
    for text in (
        "ip4.src == 10.0.0.0/8",
        "ip4.src == 10.0.0.0/255.0.0.0",
        "eth.src == 0a:00:00:00:00:00/ff:ff:ff:00:00:00",
        'inport == "a\\"b"',
        'inport == "a\tb"',
        "/* 10.0.0.1 */ ip4 // 00:00:00:00:00:01",
        "ip6.src == ::ffff:10.0.0.1 || ip6.src == fe80::0a:00:00:00:00:01",
        "ip6.src == 0a:00:00:00:00:01::1",
        "reg0 == 10.0.0.1.2 || reg0 == 10.0.0.256 || reg0 == 010.0.0.1 || x10.0.0.1",
        "eth.src == 0a:0:00:00:00:01",
    ):
        assert scan(text) == (text, [], []), text
    # ordering, negation, address sets, port groups: no template
    for text in (
        "ip4.src != 10.0.0.1",
        "tcp.dst < 5",
        "tcp.dst >= 5",
        "!ip4",
        "ip4.src == $as",
        "inport == @pg",
    ):
        assert scan(text) is None, text
    # action operators that contain `>' are fine
    assert scan("eth.src <-> eth.dst; reg0 = 10.0.0.1;") is not None


def test_not_equal_is_not_templated() -> None:
    cache = _match_cache()
    texts = [f"ip4.src != 10.0.0.{n} && ip4.dst == 10.1.0.{n}" for n in range(6)]
    _check(cache, compile_match, texts)
    assert cache.templates == {} and cache.stats.normal == 6


def test_equal_values_in_two_slots() -> None:
    cache = _match_cache()
    texts = [
        'inport == "a" && outport == "b"',
        'inport == "c" && outport == "d"',
        'inport == "e" && outport == "f"',
        'inport == "g" && outport == "g"',  # a different key: one slot
        'inport == "h" && outport == "h"',
        'inport == "i" && outport == "i"',
        "eth.src == {00:00:00:00:00:01, 00:00:00:00:00:02}",
        "eth.src == {00:00:00:00:00:03, 00:00:00:00:00:04}",
        "eth.src == {00:00:00:00:00:05, 00:00:00:00:00:06}",
        "eth.src == {00:00:00:00:00:07, 00:00:00:00:00:07}",  # one slot: one match set
        "eth.src == {00:00:00:00:00:08, 00:00:00:00:00:08}",
        "eth.src == {00:00:00:00:00:09, 00:00:00:00:00:09}",
        "eth.src == {00:00:00:00:00:0a, 00:00:00:00:00:0A}",  # equal values, two slots
        "reg0 == 0.0.0.1 && xxreg0 == 00:00:00:00:00:01",  # an IPv4 equal to a MAC
    ]
    _check(cache, compile_match, texts)
    assert len(cache(texts[-2])) == 1
    assert cache.stats.templated > 0


def test_slot_value_equal_to_another_literal_is_parsed_normally() -> None:
    cache = _match_cache()
    shape = "ip4.dst == {{{}, 0xac100096}}"
    for n in (1, 2, 3, 4):
        text = shape.format(f"10.0.0.{n}")
        assert cache(text) == compile_match(text)
    templated = cache.stats.templated
    text = shape.format("172.16.0.150")  # equal to the hex literal: one match set, not two
    assert cache(text) == compile_match(text) and len(cache(text)) == 1
    assert cache.stats.templated == templated and cache.stats.normal >= 1
    # a value the rest of the match expands to (eth.type of arp) and a sentinel
    for text in ("arp.tpa == 0.0.8.6 && arp.op == 1", "arp.tpa == 255.90.23.0 && arp.op == 1"):
        for n in (1, 2, 3):
            cache(f"arp.tpa == 10.0.0.{n} && arp.op == 1")
        normal = cache.stats.normal
        assert cache(text) == compile_match(text)
        assert cache.stats.normal == normal + 1


def test_a_template_that_gives_a_different_result_is_disabled() -> None:
    calls: list[str] = []

    def odd_parse(text: str) -> tuple[MatchSet, ...]:
        calls.append(text)
        result = compile_match(text)
        if '"c2"' in text:  # the second instance: its real parse differs from the template's
            return (*result, MatchSet.of({"reg0": (1, 1)}))
        return result

    cache: TemplateCache[Any] = TemplateCache(odd_parse, analyse_match)
    texts = [f'inport == "c{n}" && eth.src == 00:00:00:00:00:0{n}' for n in range(1, 7)]
    for text in texts:
        assert cache(text) == odd_parse(text)
    tpl = next(iter(cache.templates.values()))
    assert tpl.state == -1 and cache.stats.disabled == 1 and cache.stats.templated == 0


def test_errors_are_the_same() -> None:
    for shape, normal, cache in (
        ("eth.src == {} &&", compile_match, _match_cache()),
        ("arp.op == {}", compile_match, _match_cache()),  # 32-bit IPv4 in a 16-bit field
        ("vlan.tci == {} && eth.src == 10.0.0.1", compile_match, _match_cache()),
        ("eth.src = {}; output", parse_actions, _actions_cache()),
        ("arp.op = {};", parse_actions, _actions_cache()),
        ("next({});", parse_actions, _actions_cache()),
    ):
        values = ["00:00:00:00:00:01", "0.0.0.1", "10.0.0.1", "ff:ff:ff:ff:ff:ff", "0.0.0.2"]
        texts = [shape.format(v) for v in values * 2]
        _check(cache, normal, texts)
        assert any("Error" in _outcome(cache, text) for text in texts), shape
    # a field too narrow for the sentinel but wide enough for small values: never templated
    cache = _match_cache()
    texts = [f"ip4.src[0..15] == 0.0.0.{n}" for n in range(1, 6)] + ["ip4.src[0..15] == 0.1.0.0"]
    _check(cache, compile_match, texts)
    assert cache.stats.templated == 0


def test_bit_level_interplay_disables_the_template() -> None:
    cache = _match_cache(verify=0)
    texts = [f"eth.dst == 0a:00:00:00:00:0{n} && eth.dst[40] == 0" for n in range(1, 6)]
    texts.append("eth.dst == 01:00:00:00:00:01 && eth.dst[40] == 0")  # multicast: no flow
    _check(cache, compile_match, texts)
    assert compile_match(texts[-1]) == ()
    assert cache.stats.templated == 0
    texts = [f"eth.dst == 0a:00:00:00:00:0{n} && eth.mcast" for n in range(1, 6)]
    _check(cache, compile_match, texts)
    assert cache.stats.templated == 0
    # the sentinel (ff:5a:...) is multicast: verified multicast instances pass, a unicast
    # one must still get no flow
    for shape in ("eth.dst == {} && eth.dst[40] == 1", "eth.dst == {} && eth.mcast"):
        texts = [shape.format(f"0{n}:00:00:00:00:01") for n in (1, 3, 5, 7, 8)]
        _check(cache, compile_match, texts)
        assert compile_match(texts[-1]) == ()
    assert cache.stats.templated == 0


def test_values_stored_shifted_or_split_disable_the_template() -> None:
    for shape, values in (
        ("eth.dst[8..47] == {0} && ip4.src == {0}", [f"10.0.0.{n}" for n in range(1, 6)]),
        ("xxreg0 == {0} && eth.src == {0}", [f"00:00:00:00:00:0{n}" for n in range(1, 6)]),
    ):
        cache = _match_cache(verify=0)
        _check(cache, compile_match, [shape.format(v) for v in values])
        assert cache.stats.templated == 0


def test_a_slot_missing_from_the_result_disables_the_template() -> None:
    def parse(text: str) -> tuple[Any, bool]:
        first, second = text.split(" && ")
        # the second port only decides a flag: its sentinel never shows in the result
        return compile_match(first), "_" in second

    cache: TemplateCache[Any] = TemplateCache(parse, verify=2)
    texts = [f'inport == "c{n}" && outport == "{p}"' for n, p in enumerate(["a_1", "a_2", "b"])]
    for text in texts:
        assert cache(text) == parse(text)
    assert cache.stats.templated == 0


def test_residency_order_disables_the_template() -> None:
    cache = _match_cache(verify=0)
    texts = [
        f'is_chassis_resident("{a}") && is_chassis_resident("{b}")'
        for a, b in (("a1", "b1"), ("a2", "b2"), ("a3", "b3"), ("z", "a"), ("m", "n"))
    ]
    _check(cache, compile_match, texts)
    assert cache.stats.templated == 0


def test_unsupported_structures_disable_the_template() -> None:
    cache: TemplateCache[Any] = TemplateCache(lambda text: [compile_match(text)])
    texts = [f'inport == "c{n}"' for n in range(5)]
    for text in texts:
        assert cache(text) == [compile_match(text)]
    assert cache.stats.templated == 0


def test_templates_are_bounded() -> None:
    cache = _match_cache(max_templates=3)
    for n in range(10):
        text = f'inport == "c{n}"' + " && eth.type == 0x800" * n
        assert cache(text) == compile_match(text)
    assert len(cache.templates) == 3


def test_disabled_cache_parses_normally() -> None:
    cache = _match_cache()
    cache.enabled = False
    assert cache('inport == "a"') == compile_match('inport == "a"')
    assert cache.templates == {} and cache.stats.normal == 1
