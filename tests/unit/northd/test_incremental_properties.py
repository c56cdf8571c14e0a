"""Property: NB edits applied incrementally through the engine give exactly what a full
recompute from scratch gives (no sockets; tests/functional/test_northd_properties.py checks
the same through a running Northd and real databases)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from pyovn.northd.graph import NorthdGraph, build_graph
from pyovn.northd.keys import DATAPATH_KEYS, PORT_KEYS
from pyovn.northd.nodes.northd_data import ExistingKeys
from tests.support.northd import FakeNb, apply_edit, find
from tests.unit.northd.strategies import SEED, batches


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    """Missing parents are logged at every retag; keep failure reports readable."""
    caplog.set_level(logging.ERROR, logger="pyovn.northd")


SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def new_graph(nb: FakeNb) -> NorthdGraph:
    graph = build_graph(nb.rows, ExistingKeys)
    nb.listeners.append(graph.nb.on_events)
    return graph


def write_back_tags(nb: FakeNb, graph: NorthdGraph) -> bool:
    """What Northd writes to NB after a round: the tag of each container port."""
    txn = nb.txn()
    for uuid, row in nb.rows("Logical_Switch_Port").items():
        port = graph.northd.ports.get(uuid)
        if port is None:
            continue
        want = graph.northd.tag(port.name).tag if port.parent is not None else None
        if row.one("tag") != want:
            txn.update("Logical_Switch_Port", uuid, {"tag": want})
    if not txn.ops:
        return False
    txn.commit()
    return True


def run_round(nb: FakeNb, graph: NorthdGraph) -> None:
    graph.engine.run()
    for _ in range(5):
        if not write_back_tags(nb, graph):
            return
        graph.engine.run()
    raise AssertionError("tags did not settle")


def keys_ok(graph: NorthdGraph) -> None:
    data = graph.northd
    dp = [data.dp_keys.get(u) for u in data.switches]
    assert None not in dp and len(set(dp)) == len(dp)
    assert all(DATAPATH_KEYS[0] <= k <= DATAPATH_KEYS[1] for k in dp)  # type: ignore[operator]
    assert set(data.dp_keys.by_owner) == set(data.switches)
    for sw in data.switches:
        keys = [data.port_key(p) for p in data.switch_ports(sw)]
        assert None not in keys and len(set(keys)) == len(keys), (sw, keys)
        assert all(PORT_KEYS[0] <= k <= PORT_KEYS[1] for k in keys)  # type: ignore[operator]
        assert set(data.port_keys[sw].by_owner) == {p.uuid for p in data.switch_ports(sw)}


def state(graph: NorthdGraph) -> dict[str, Any]:
    data, lflow = graph.northd, graph.lflow
    return {
        "switches": dict(data.switches),
        "ports": dict(data.ports),
        "by_name": {n: p.uuid for n, p in data.port_by_name.items()},
        "tags": {n: t for n, t in data.tags.items() if n in data.port_by_name},
        "children": {p: set(k) for p, k in data.children.items() if k},
        "flows": dict(lflow.flows),
        "count": dict(lflow.count),
        "owners": {o: sorted(f.key for f in fl) for o, fl in lflow.by_owner.items()},
        "unknown": {s: set(p) for s, p in lflow.unknown_ports.items() if p},
    }


def apply_batch(nb: FakeNb, batch: list[tuple[Any, ...]]) -> int:
    """Apply the edits that apply, one transaction each; how many did."""
    applied = 0
    for edit in batch:
        txn = nb.txn()
        if apply_edit(edit, txn, nb.rows):
            txn.commit()
            applied += 1
    return applied


def check_against_fresh(nb: FakeNb, graph: NorthdGraph) -> None:
    fresh = new_graph(nb)
    fresh.engine.run(force_recompute=True)
    assert not write_back_tags(nb, fresh), "a fresh recompute wants other tags"
    keys_ok(graph)
    keys_ok(fresh)
    got, want = state(graph), state(fresh)
    for section in want:
        assert got[section] == want[section], section


@SETTINGS
@given(batches)
def test_incremental_equals_recompute(batches: list[list[tuple[Any, ...]]]) -> None:
    nb = FakeNb()
    graph = new_graph(nb)
    graph.engine.run(force_recompute=True)
    apply_batch(nb, list(SEED))
    run_round(nb, graph)
    applied = 0
    for batch in batches:
        if apply_batch(nb, batch):
            applied += 1
        run_round(nb, graph)
        check_against_fresh(nb, graph)
    # every change was handled incrementally
    assert graph.northd.stats.recompute == 1
    assert graph.lflow.stats.recompute == 1
    assert graph.northd.stats.compute >= applied + 1


def test_swapping_two_names_in_one_transaction() -> None:
    """Port A takes B's name and B takes A's in the same NB transaction."""
    nb = FakeNb()
    graph = new_graph(nb)
    graph.engine.run(force_recompute=True)
    apply_batch(nb, list(SEED))
    run_round(nb, graph)
    p0, p1 = find(nb.rows, "Logical_Switch_Port", "p0"), find(nb.rows, "Logical_Switch_Port", "p1")
    apply_batch(nb, [("swap", "p0", "p1")])
    run_round(nb, graph)
    assert graph.northd.port_by_name["p0"].uuid == p1.uuid  # type: ignore[union-attr]
    assert graph.northd.port_by_name["p1"].uuid == p0.uuid  # type: ignore[union-attr]
    check_against_fresh(nb, graph)


def test_a_port_moving_in_does_not_take_a_sibling_tag() -> None:
    """A child that changes parent keeps no claim on the tag it had under the old parent,
    even when it sorts first: the new parent's child holding that tag keeps it."""
    nb = FakeNb()
    graph = new_graph(nb)
    graph.engine.run(force_recompute=True)
    apply_batch(
        nb,
        [
            ("add_ls", "sw0"),
            ("add_lsp", "sw0", "vm1", ()),
            ("add_lsp", "sw0", "vm2", ()),
            ("add_lsp", "sw0", "z", (("parent_name", "vm2"), ("tag_request", 0))),
            ("add_lsp", "sw0", "a", (("parent_name", "vm1"), ("tag_request", 0))),
        ],
    )
    run_round(nb, graph)
    assert graph.northd.tag("z").tag == 1 and graph.northd.tag("a").tag == 1
    apply_batch(nb, [("set", "a", "parent_name", "vm2")])
    run_round(nb, graph)
    assert graph.northd.tag("z").tag == 1
    assert graph.northd.tag("a").tag == 2
    check_against_fresh(nb, graph)
