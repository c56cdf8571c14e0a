"""Every match and action string pyovn northd emits parses, formats back to the same text,
and compiles to the flow IR (the controller's path)."""

from __future__ import annotations

from pyovn.controller.lflow import compile_lflow
from pyovn.logical.actions import format_actions, parse_actions
from pyovn.logical.expr import format_expr
from pyovn.logical.expr_parser import parse_expr
from tests.support.northd import GOLDEN_TOPOLOGY, FakeNb, apply_edit, port_keys
from tests.unit.northd.test_golden_flows import new_graph


def test_every_emitted_flow_round_trips_and_compiles() -> None:
    nb = FakeNb()
    graph = new_graph(nb)
    for edit in GOLDEN_TOPOLOGY:
        txn = nb.txn()
        assert apply_edit(edit, txn, nb.rows), edit
        txn.commit()
    graph.engine.run(force_recompute=True)
    flows = list(graph.lflow.flows.values())
    assert len(flows) > 20
    ports = port_keys(graph)
    for flow in flows:
        expr = parse_expr(flow.match)
        assert parse_expr(format_expr(expr)) == expr, flow.match
        actions = parse_actions(flow.actions)
        assert parse_actions(format_actions(actions)) == actions, flow.actions
        compile_lflow(
            flow.stage.pipeline.value,
            flow.stage.table,
            flow.priority,
            flow.match,
            flow.actions,
            1,
            ports,
        )
