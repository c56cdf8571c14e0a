"""Logical flows -> flow IR, through the action registry's compile()."""

from __future__ import annotations

import pytest

from pyovn.controller.lflow import SWAP, CompileError, compile_lflow
from pyovn.datapath.flows import (
    INPORT,
    METADATA,
    OUTPORT,
    T_LOG_EGRESS,
    T_LOG_INGRESS,
    T_LOG_TO_PHY,
    T_REMOTE_OUTPUT,
    Drop,
    Move,
    Resubmit,
    SetField,
)

PORTS = {"vm1": 1, "vm2": 2, "_MC_flood": 32768}


def one(*args: object) -> object:
    flows = compile_lflow(*args)  # type: ignore[arg-type]
    assert len(flows) == 1
    return flows[0]


def test_next_and_output_follow_the_pipeline() -> None:
    f = one("ingress", 0, 50, 'inport == "vm1"', "next;", 7, PORTS)
    assert f.table == T_LOG_INGRESS and f.actions == (Resubmit(T_LOG_INGRESS + 1),)
    assert (METADATA, 7, -1) in f.match and (INPORT, 1, -1) in f.match
    f = one("ingress", 2, 50, "eth.dst == 00:00:00:00:00:02", 'outport = "vm2"; output;', 7, PORTS)
    assert f.actions == (SetField(OUTPORT, 2), Resubmit(T_REMOTE_OUTPUT))
    f = one("egress", 0, 50, 'outport == "vm2"', "output;", 7, PORTS)
    assert f.table == T_LOG_EGRESS and f.actions == (Resubmit(T_LOG_TO_PHY),)
    f = one("ingress", 0, 100, "vlan.present", "drop;", 7, PORTS)
    assert f.actions == (Drop(),)
    assert ("vlan.tci", 0x1000, 0x1000) in f.match


def test_arp_responder_compiles_to_moves_and_loads() -> None:
    actions = (
        "eth.dst = eth.src; eth.src = 00:00:00:00:00:01; arp.op = 2; /* ARP reply */ "
        "arp.tha = arp.sha; arp.sha = 00:00:00:00:00:01; arp.tpa = arp.spa; "
        "arp.spa = 10.0.0.1; outport = inport; flags.loopback = 1; output;"
    )
    f = one("ingress", 1, 50, "arp.tpa == 10.0.0.1 && arp.op == 1", actions, 7, PORTS)
    assert Move("eth.src", 0, "eth.dst", 0, 48) in f.actions
    assert SetField("arp.op", 2, 0xFFFF) in f.actions
    assert SetField("arp.spa", 0x0A000001, 0xFFFFFFFF) in f.actions
    assert Move(INPORT, 0, OUTPORT, 0, 32) in f.actions
    assert SetField("flags", 1, 1) in f.actions
    assert f.actions[-1] == Resubmit(T_REMOTE_OUTPUT)
    assert ("eth.type", 0x806, 0xFFFF) in f.match  # the prerequisite of arp.*


def test_sets_give_one_flow_each_and_unknown_ports_drop_out() -> None:
    flows = compile_lflow("ingress", 0, 50, 'inport == {"vm1", "vm2", "gone"}', "next;", 7, PORTS)
    assert sorted(dict((n, v) for n, v, _ in f.match)[INPORT] for f in flows) == [1, 2]
    with pytest.raises(CompileError, match="gone"):
        compile_lflow("ingress", 2, 50, "1", 'outport = "gone"; output;', 7, PORTS)


def test_exchange_goes_through_the_scratch_field() -> None:
    f = one("ingress", 1, 50, "1", "eth.src <-> eth.dst; next;", 7, PORTS)
    assert f.actions[:3] == (
        Move("eth.src", 0, SWAP, 0, 48),
        Move("eth.dst", 0, "eth.src", 0, 48),
        Move(SWAP, 0, "eth.dst", 0, 48),
    )


def test_actions_without_a_compiler_are_reported() -> None:
    with pytest.raises(CompileError, match="ct_commit"):
        compile_lflow("ingress", 0, 50, "1", "ct_commit; next;", 7, PORTS)
