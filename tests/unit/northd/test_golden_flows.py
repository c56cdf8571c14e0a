"""Golden logical flows of a small topology, computed by the engine (no sockets).

The expected text is in golden/*.txt, printed by stage name; on a difference the test shows
a unified diff. To accept a change on purpose: ``PYOVN_REGEN_GOLDEN=1 pytest tests/unit/northd``
and review the diff of the golden files. tests/functional/test_northd_golden.py checks that
the same text comes out of a real Southbound database.
"""

from __future__ import annotations

from pathlib import Path

from pyovn.northd.graph import build_graph
from pyovn.northd.nodes.northd_data import ExistingKeys
from tests.support.northd import (
    GOLDEN_TOPOLOGY,
    FakeNb,
    apply_edit,
    check_golden,
    lines_from_engine,
    render_flows,
)

GOLDEN = Path(__file__).parent / "golden"


def new_graph(nb: FakeNb):
    graph = build_graph(nb.rows, ExistingKeys)
    nb.listeners.append(graph.nb.on_events)
    return graph


def build(nb: FakeNb, edits, after_each=None) -> None:
    for edit in edits:
        txn = nb.txn()
        assert apply_edit(edit, txn, nb.rows), edit
        txn.commit()
        if after_each is not None:
            after_each()


def test_golden_flows_full_recompute() -> None:
    nb = FakeNb()
    build(nb, GOLDEN_TOPOLOGY)
    graph = new_graph(nb)
    graph.engine.run(force_recompute=True)
    text = render_flows(lines_from_engine(graph.lflow, graph.northd, nb.rows))
    check_golden(GOLDEN / "two_switches_flows.txt", text)


def test_golden_flows_built_incrementally() -> None:
    nb = FakeNb()
    graph = new_graph(nb)
    graph.engine.run(force_recompute=True)
    build(nb, GOLDEN_TOPOLOGY, after_each=graph.engine.run)
    assert graph.northd.stats.recompute == 1 and graph.lflow.stats.recompute == 1
    assert graph.northd.stats.compute == len(GOLDEN_TOPOLOGY)
    text = render_flows(lines_from_engine(graph.lflow, graph.northd, nb.rows))
    check_golden(GOLDEN / "two_switches_flows.txt", text)


def test_golden_flows_after_changes() -> None:
    """Disable a VM, drop a container, give a port "unknown": the golden of the result."""
    nb = FakeNb()
    graph = new_graph(nb)
    graph.engine.run(force_recompute=True)
    changes = (
        ("set", "vm1", "enabled", False),
        ("del_lsp", "c3"),
        ("set", "vm4", "addresses", ["00:00:00:00:01:04 10.0.0.14", "unknown"]),
        ("del_lsp", "gw"),
        ("set", "c2", "port_security", []),
    )
    build(nb, (*GOLDEN_TOPOLOGY, *changes), after_each=graph.engine.run)
    text = render_flows(lines_from_engine(graph.lflow, graph.northd, nb.rows))
    check_golden(GOLDEN / "two_switches_changed_flows.txt", text)
    fresh = new_graph(nb)
    fresh.engine.run(force_recompute=True)
    assert render_flows(lines_from_engine(fresh.lflow, fresh.northd, nb.rows)) == text
