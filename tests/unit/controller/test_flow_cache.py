"""The controller's caches: compiled logical flows are reused until their row changes or a
port name they looked up gets another key; physical flows are reused per port; and only
changes that can alter the flow table make the controller recompute it."""

from __future__ import annotations

from pyovn.controller.changes import affects_flows as _affects_flows
from pyovn.controller.flows import LflowCache
from pyovn.controller.physical import LocalPort, PhysicalState, physical_flows
from pyovn.ovsdb.client.replica import RowEvent, RowView
from pyovn.ovsdb.types import Uuid


def lflow(uuid: str, match: str, actions: str = "next;") -> RowView:
    return RowView(
        "Logical_Flow",
        Uuid(uuid),
        {"match": match, "actions": actions, "pipeline": "ingress", "table_id": 0,
         "priority": 50},
    )  # fmt: skip


U1 = "00000000-0000-4000-8000-000000000001"
U2 = "00000000-0000-4000-8000-000000000002"


def test_a_new_port_recompiles_only_the_flows_that_name_it() -> None:
    cache = LflowCache()
    rows = [lflow(U1, 'inport == "vm1"'), lflow(U2, "eth.dst == 00:00:00:00:00:01")]
    dp_of = {U1: [7], U2: [7]}
    first = cache.flows(rows, dp_of, {7: {"vm1": 1}})
    assert cache.stats.compiled == 2 and len(first) == 2
    cache.flows(rows, dp_of, {7: {"vm1": 1, "vm2": 2}})  # vm2 joins the switch
    assert cache.stats.compiled == 2
    cache.flows(rows, dp_of, {7: {"vm1": 5, "vm2": 2}})  # vm1's key changed
    assert cache.stats.compiled == 3


def test_a_port_that_appears_makes_its_flow_match() -> None:
    cache = LflowCache()
    rows = [lflow(U1, 'inport == "vm9"')]
    assert cache.flows(rows, {U1: [7]}, {7: {}}) == []
    assert len(cache.flows(rows, {U1: [7]}, {7: {"vm9": 3}})) == 1


def test_an_edited_row_is_compiled_again() -> None:
    cache = LflowCache()
    cache.flows([lflow(U1, "eth.type == 0x800")], {U1: [7]}, {7: {}})
    cache.flows([lflow(U1, "eth.type == 0x800")], {U1: [7]}, {7: {}})  # equal text
    assert cache.stats.compiled == 1
    cache.flows([lflow(U1, "eth.type == 0x806")], {U1: [7]}, {7: {}})
    assert cache.stats.compiled == 2


def test_physical_memo_gives_back_the_same_objects() -> None:
    memo: dict = {}
    a, b = LocalPort("vm1", 7, 1, 3), LocalPort("c1", 7, 2, 3, tag=10)
    one = physical_flows(PhysicalState(local=[a, b]), memo)
    two = physical_flows(PhysicalState(local=[a, b]), memo)
    assert all(x is y for x, y in zip(one, two, strict=True))
    three = physical_flows(PhysicalState(local=[a]), memo)
    assert len(three) < len(one) and b not in memo
    assert physical_flows(PhysicalState(local=[a, b])) == one  # without a memo: equal


def row(table: str, **cols: object) -> RowView:
    return RowView(table, Uuid(U1), dict(cols))


def test_which_changes_touch_the_flow_table() -> None:
    pb = row("Port_Binding", logical_port="vm1", up=False, chassis=None)
    up = row("Port_Binding", logical_port="vm1", up=True, chassis=None)
    claimed = row("Port_Binding", logical_port="vm1", up=False, chassis="x")
    assert not _affects_flows(RowEvent("Port_Binding", Uuid(U1), pb, up))
    assert _affects_flows(RowEvent("Port_Binding", Uuid(U1), pb, claimed))
    assert _affects_flows(RowEvent("Port_Binding", Uuid(U1), None, pb))
    # this chassis' own claim and release: no chassis and this one bind (or not) alike
    mine = row("Port_Binding", logical_port="vm1", up=True, chassis=frozenset({"me"}))
    theirs = row("Port_Binding", logical_port="vm1", up=True, chassis=frozenset({"x"}))
    assert not _affects_flows(RowEvent("Port_Binding", Uuid(U1), pb, mine), "me")
    assert not _affects_flows(RowEvent("Port_Binding", Uuid(U1), mine, pb), "me")
    assert _affects_flows(RowEvent("Port_Binding", Uuid(U1), pb, mine))  # (not known as ours)
    assert _affects_flows(RowEvent("Port_Binding", Uuid(U1), mine, theirs), "me")
    assert _affects_flows(RowEvent("Port_Binding", Uuid(U1), pb, theirs), "me")
    moved = row("Port_Binding", logical_port="vm1", up=True, chassis=frozenset({"me"}), tag=3)
    assert _affects_flows(RowEvent("Port_Binding", Uuid(U1), pb, moved), "me")
    i1 = row("Interface", name="p", external_ids={"iface-id": "vm1"}, ofport=3)
    i2 = row("Interface", name="p", external_ids={"iface-id": "vm1", "ovn-installed": "true"},
             ofport=3)  # fmt: skip
    i3 = row("Interface", name="p", external_ids={"iface-id": "vm2"}, ofport=3)
    assert not _affects_flows(RowEvent("Interface", Uuid(U1), i1, i2))
    assert _affects_flows(RowEvent("Interface", Uuid(U1), i1, i3))
    cp = row("Chassis_Private", nb_cfg=1)
    assert not _affects_flows(RowEvent("Chassis_Private", Uuid(U1), cp, cp))
