"""Action.execute semantics, one action kind at a time, on a recording context."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from pyovn.logical.actions import Action, parse_actions
from pyovn.logical.fields import DEFAULT_SYMTAB, SymbolTable
from pyovn.logical.values import FieldRef
from pyovn.trace.context import ActionContext, Frame
from pyovn.trace.packet import FieldValue, Packet
from pyovn.trace.sbview import Datapath
from pyovn.trace.tree import Kind, Node


class Recorder:
    """An ExecContext that records control flow and runs nested blocks in a child."""

    def __init__(self, packet: Packet) -> None:
        self.packet = packet
        self.calls: list[tuple[Any, ...]] = []
        self.children: list[tuple[str, Recorder]] = []

    @property
    def symtab(self) -> SymbolTable:
        return self.packet.symtab

    pipeline = "ingress"
    table = 3

    def read(self, ref: FieldRef) -> FieldValue:
        return self.packet.read(ref)

    def write(self, ref: FieldRef, value: FieldValue, shown: str | None = None) -> None:
        self.packet.write(ref, value)
        if shown:
            self.calls.append(("shown", shown))

    def next(self, table: int | None = None, pipeline: str | None = None) -> None:
        self.calls.append(("next", table, pipeline))

    def output(self) -> None:
        self.calls.append(("output",))

    def drop(self) -> None:
        self.calls.append(("drop",))

    def nested(self, name: str, packet: Packet, actions: Sequence[Action]) -> None:
        child = Recorder(packet)
        self.children.append((name, child))
        for action in actions:
            action.execute(child)

    def ct_next(self) -> None:
        self.calls.append(("ct_next",))

    def error(self, text: str) -> None:
        self.calls.append(("error", text))


def run(text: str, **fields: FieldValue) -> Recorder:
    storage = DEFAULT_SYMTAB.storage_fields()
    packet = Packet({k if k in storage else k.replace("_", "."): v for k, v in fields.items()})
    ctx = Recorder(packet)
    for action in parse_actions(text):
        action.execute(ctx)
    return ctx


def get(ctx: Recorder, name: str) -> FieldValue:
    return ctx.packet.read(FieldRef(name))


# ---------------------------------------------------------------------------- control flow


@pytest.mark.parametrize(
    ("text", "call"),
    [
        ("next;", ("next", None, None)),
        ("next(5);", ("next", 5, None)),
        ("next(pipeline=egress, table=2);", ("next", 2, "egress")),
        ("output;", ("output",)),
        ("drop;", ("drop",)),
        ("ct_next;", ("ct_next",)),
    ],
)
def test_control_flow_calls_the_context(text: str, call: tuple[Any, ...]) -> None:
    assert run(text).calls == [call]


# ---------------------------------------------------------------------------- assignments


def test_load_constants_of_each_notation() -> None:
    ctx = run(
        "eth.dst = 00:00:00:00:00:02; ip4.dst = 10.0.0.2; arp.op = 2; reg3 = 0xff;",
        eth_type=0x800,
    )
    assert get(ctx, "eth.dst") == 2
    assert get(ctx, "ip4.dst") == 0x0A000002
    assert get(ctx, "arp.op") == 2
    assert get(ctx, "reg3") == 0xFF


def test_load_port_name_into_string_field() -> None:
    ctx = run('outport = "vm2"; inport = "x";', inport="vm1")
    assert ctx.packet.outport == "vm2"
    assert ctx.packet.inport == "x"


def test_load_masked_constant_sets_only_masked_bits() -> None:
    ctx = run("reg0 = 0x0a000000/0xff000000;", reg0=0x12345678)
    assert get(ctx, "reg0") == 0x0A345678


def test_load_subfields_and_overlays() -> None:
    ctx = run("reg0[1..3] = 5; xreg0[0..7] = 255; vlan.tci[0..11] = 10;", reg0=0xFFFF0000)
    assert get(ctx, "reg0") == 0xFFFF000A
    assert get(ctx, "reg1") == 0xFF  # xreg0 is reg0:reg1, reg1 the low half
    assert ctx.packet["vlan.tci"] == 10


def test_load_one_flag_bit_keeps_the_others() -> None:
    ctx = run("flags.loopback = 1;", flags=0x8000)
    assert ctx.packet["flags"] == 0x8001


def test_load_shares_storage_between_rarp_and_arp() -> None:
    ctx = run("rarp.op = 3;", eth_type=0x8035)
    assert ctx.packet["arp.op"] == 3


def test_move_copies_whole_fields_and_subfields() -> None:
    ctx = run("eth.dst = eth.src; reg1[0..15] = tcp.dst;", eth_src=0xAABB, tcp_dst=443)
    assert get(ctx, "eth.dst") == 0xAABB
    assert get(ctx, "eth.src") == 0xAABB
    assert get(ctx, "reg1") == 443


def test_move_port_names() -> None:
    ctx = run("outport = inport;", inport="vm1")
    assert ctx.packet.outport == "vm1"


def test_exchange_swaps_integers_and_ports() -> None:
    ctx = run(
        "eth.src <-> eth.dst; inport <-> outport; reg0[0..7] <-> reg1[8..15];",
        eth_src=1,
        eth_dst=2,
        inport="a",
        outport="b",
        reg0=0x12,
        reg1=0x3400,
    )
    assert (get(ctx, "eth.src"), get(ctx, "eth.dst")) == (2, 1)
    assert (ctx.packet.inport, ctx.packet.outport) == ("b", "a")
    assert (ctx.packet["reg0"], ctx.packet["reg1"]) == (0x34, 0x1200)


def test_dec_ttl_decrements_and_reports_underflow() -> None:
    ctx = run("ip.ttl--;", eth_type=0x800, ip_ttl=64)
    assert ctx.packet["ip.ttl"] == 63
    assert ctx.calls == [("shown", "ip.ttl--")]
    ctx = run("ip.ttl--;", eth_type=0x800, ip_ttl=0)
    assert ctx.packet["ip.ttl"] == 0
    assert ctx.calls == [("error", "TTL underflow")]


# ---------------------------------------------------------------------------- nested blocks


def test_clone_runs_on_a_copy() -> None:
    ctx = run('clone { eth.dst = 00:00:00:00:00:09; outport = "p2"; output; }; next;', eth_dst=1)
    ((name, child),) = ctx.children
    assert name == "clone"
    assert child.calls == [("output",)]
    assert child.packet.outport == "p2" and child.packet["eth.dst"] == 9
    assert ctx.packet["eth.dst"] == 1 and ctx.packet.outport == ""
    assert ctx.calls == [("next", None, None)]


def test_arp_builds_a_request_from_the_ip_packet() -> None:
    ctx = run(
        "arp { output; };",
        eth_type=0x800,
        eth_src=0x0A,
        eth_dst=0x0B,
        ip_proto=6,
        ip_ttl=64,
        ip4_src=0x0A000001,
        ip4_dst=0x0A000002,
        tcp_dst=80,
        outport="p1",
    )
    ((name, child),) = ctx.children
    p = child.packet
    assert name == "arp"
    assert p["eth.type"] == 0x806 and p["eth.dst"] == 0xFFFF_FFFF_FFFF and p["eth.src"] == 0x0A
    assert (p["arp.op"], p["arp.sha"], p["arp.tha"]) == (1, 0x0A, 0)
    assert (p["arp.spa"], p["arp.tpa"]) == (0x0A000001, 0x0A000002)
    assert p["ip4.src"] == p["ip.ttl"] == p["ip.proto"] == p["tcp.dst"] == 0
    assert p.outport == "p1"
    assert child.calls == [("output",)]
    assert ctx.packet["eth.type"] == 0x800  # the original is untouched


# ---------------------------------------------------------------------------- stateful


def test_ct_clear_forgets_connection_state() -> None:
    ctx = run("ct_clear;", ct_state=0x22, ct_mark=5)
    assert ctx.packet["ct_state"] == ctx.packet["ct_mark"] == 0


@pytest.mark.parametrize(
    "text",
    [
        "ct_commit;",
        "ct_commit { ct_mark = 1; };",
        "put_arp(inport, arp.spa, arp.sha);",
        "put_nd(inport, ip6.src, eth.src);",
        "put_fdb(inport, eth.src);",
    ],
)
def test_learning_and_commit_are_no_ops(text: str) -> None:
    before = Packet({"eth.type": 0x806, "inport": "vm1"})
    ctx = Recorder(before.copy())
    for action in parse_actions(text):
        action.execute(ctx)
    assert dict(ctx.packet) == dict(before) and ctx.calls == []


def test_actions_without_a_simulation_say_so() -> None:
    (action,) = parse_actions("get_arp(outport, reg0);")
    with pytest.raises(NotImplementedError):
        action.execute(Recorder(Packet()))


# ---------------------------------------------------------------------------- ActionContext


def _frame(packet: Packet) -> Frame:
    return Frame(Datapath("dp-uuid", "sw0"), "ingress", 0, packet, Node(Kind.TABLE, "t"))


def test_action_context_records_packet_changes_for_the_minimal_form() -> None:
    frame = _frame(Packet({"eth.type": 0x806, "eth.src": 1, "eth.dst": 2}))
    ctx = ActionContext(tracer=None, frame=frame)  # type: ignore[arg-type]
    for action in parse_actions(
        "eth.dst <-> eth.src; arp.tpa = 10.0.0.1; outport = inport; reg0 = 1; flags.loopback = 1;"
        " pkt.mark = 7;"
    ):
        action.execute(ctx)
    shown = [n.text for n in frame.node.subs if n.kind is Kind.MODIFY]
    assert shown == [
        "eth.dst = 00:00:00:00:00:01",
        "eth.src = 00:00:00:00:00:02",
        "arp.tpa = 10.0.0.1",
        "pkt.mark = 7",
    ]


def test_symtab_default() -> None:
    assert Packet().symtab is DEFAULT_SYMTAB
