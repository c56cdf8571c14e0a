"""required_inport / pipeline_port: the port a logical flow's match requires, from the
text alone. A chassis leaves out the ingress (egress) flows that require a VIF bound
elsewhere as inport (outport), so it must never name a port the match does not require."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from pyovn.controller.lflow import CompileError, compile_lflow, pipeline_port, required_inport
from pyovn.logical.errors import LogicalSyntaxError
from tests.unit.logical.test_logical_cache import _northd_flows


@pytest.mark.parametrize(
    ("match", "port"),
    [
        ('inport == "c1"', "c1"),
        ('inport == "c1" && eth.src == 00:00:00:00:00:01', "c1"),
        ('arp.tpa == 10.0.0.5 && arp.op == 1 && inport == "c153"', "c153"),
        ('eth.src == 0a:00:00:00:00:01 && inport=="x y"', "x y"),
        ('inport == "a" || eth.src == 0a:00:00:00:00:01', None),
        ('(inport == "a" && ip4) && udp', None),
        ('!(inport == "a")', None),
        ('inport == {"a", "b"}', None),
        ('outport == "a"', None),
        ('inport == "a" && (ip4 || ip6)', None),
        ('xinport == "a"', None),
        ('inport == "a\\"b"', None),
        ("1", None),
    ],
)
def test_required_inport(match: str, port: str | None) -> None:
    assert required_inport(match) == port


@pytest.mark.parametrize(
    ("pipeline", "match", "port"),
    [
        ("ingress", 'inport == "c1" && outport == "c2"', "c1"),
        ("egress", 'inport == "c1" && outport == "c2"', "c2"),
        ("egress", 'outport == "c2" && eth.dst == {0a:00:00:00:00:01}', "c2"),
        ("egress", 'outport == "c2" || ip4', None),
        ("egress", 'inport == "c1"', None),
        ("egress", 'xoutport == "c2"', None),
        ("ingress", 'outport == "c2"', None),
        ("other", 'inport == "c1"', None),
    ],
)
def test_pipeline_port(pipeline: str, match: str, port: str | None) -> None:
    assert pipeline_port(pipeline, match) == port


def _every_flow_requires(pipeline: str, match: str, ports: dict[str, int], port: str) -> bool:
    """Every switch flow the match compiles to matches the port's key exactly, in the
    field of the pipeline (ingress: inport, egress: outport)."""
    flows = compile_lflow(pipeline, 0, 50, match, "next;", 1, ports)
    want = ("inport" if pipeline == "ingress" else "outport", ports[port], -1)
    return all(want in f.match for f in flows)


def test_northd_flows_need_the_port_they_name() -> None:
    """For every flow pyovn's northd writes: when the text names a required port, every
    switch flow it compiles to matches that port's key."""
    flows, ports = _northd_flows()
    named = 0
    egress = 0
    for pipeline, _table, _priority, match, _actions in flows:
        port = pipeline_port(pipeline, match)
        if port is None:
            continue
        named += 1
        egress += pipeline == "egress"
        assert _every_flow_requires(pipeline, match, ports, port), match
    assert named > 10 and egress > 3


_TERMS = st.sampled_from(
    ['inport == "p1"', 'inport == "p2"', "ip4", "eth.src == 0a:00:00:00:00:01", "udp",
     'outport == "p2"', 'inport == {"p1", "p2"}', "arp.op == 1", 'outport == "p1"']
)  # fmt: skip


@st.composite
def _matches(draw: st.DrawFn) -> str:
    def expr(depth: int) -> str:
        kinds = ["term", "and", "or", "not", "paren"] if depth < 3 else ["term"]
        kind = draw(st.sampled_from(kinds))
        if kind == "term":
            return draw(_TERMS)
        if kind == "and":
            return f"{expr(depth + 1)} && {expr(depth + 1)}"
        if kind == "or":
            return f"{expr(depth + 1)} || {expr(depth + 1)}"
        if kind == "not":
            return f"!({expr(depth + 1)})"
        return f"({expr(depth + 1)})"

    return expr(0)


@settings(max_examples=600, deadline=None)
@given(_matches())
@example('inport == "p1" || ip4')
@example('(inport == "p1" || ip4) && udp')
def test_random_matches_need_the_port_they_name(match: str) -> None:
    ports = {"p1": 1, "p2": 2}
    try:
        compile_lflow("ingress", 0, 50, match, "next;", 1, ports)
    except (LogicalSyntaxError, CompileError):
        assume(False)  # not a match the controller compiles (a negated nominal field)
    for pipeline in ("ingress", "egress"):
        port = pipeline_port(pipeline, match)
        if port is not None:
            assert _every_flow_requires(pipeline, match, ports, port), (pipeline, match)
