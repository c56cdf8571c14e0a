"""The SB side of northd without sockets: the hand-written Logical_Flow insert encoding, the
SB index, dirty-key bookkeeping, and a full build against an empty SB."""

from __future__ import annotations

from typing import Any

import pytest

from pyovn.northd.graph import build_graph
from pyovn.northd.model import LFlow
from pyovn.northd.nodes.northd_data import ExistingKeys
from pyovn.northd.stages import ARP_RSP, L2_LKUP, OUT_PORT_SEC_L2
from pyovn.northd.sync import Dirty, SbIndex, SbSync, flow_insert_op, flow_row, flow_row_key
from pyovn.ovsdb.client.replica import RowEvent, RowView
from pyovn.ovsdb.client.txn import NamedUuid, Txn
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.types import Uuid
from pyovn.schemas import schema_path
from tests.support.northd import GOLDEN_TOPOLOGY, FakeNb, apply_edit

SB = DatabaseSchema.from_file(schema_path("sb"))
DP = Uuid("00000000-0000-4000-8000-0000000000d1")


@pytest.mark.parametrize("dp", [NamedUuid("row7"), DP])
@pytest.mark.parametrize(
    "flow",
    [
        LFlow(
            "sw",
            L2_LKUP,
            50,
            "eth.dst == 00:00:00:00:00:01",
            'outport = "p"; output;',
            "abcdef0123",
        ),
        LFlow("sw", ARP_RSP, 0, "1", "next;", "x"),
        LFlow("sw", OUT_PORT_SEC_L2, 150, 'outport == "q\\"uote"', "drop;", ""),
    ],
)
def test_fast_flow_insert_is_the_generic_encoding(flow: LFlow, dp: Any) -> None:
    txn = Txn(SB)
    txn.insert("Logical_Flow", flow_row(flow, dp))
    generic = txn.ops[0]
    generic.pop("uuid-name")
    assert flow_insert_op(flow, dp) == generic


def row(table: str, uuid: str, **data: Any) -> RowView:
    return RowView(table, Uuid(uuid), data)


def test_index_follows_events() -> None:
    idx = SbIndex()
    dp = row(
        "Datapath_Binding", DP, external_ids={"logical-switch": "ls1", "name": "sw"}, tunnel_key=1
    )
    pb = row("Port_Binding", "00000000-0000-4000-8000-0000000000b1", logical_port="p1", datapath=DP)
    lf_data = dict(
        logical_datapath=frozenset({DP}),
        pipeline="ingress",
        table_id=2,
        priority=50,
        match="m",
        actions="a;",
    )
    lf = row("Logical_Flow", "00000000-0000-4000-8000-0000000000f1", **lf_data)
    # events in any order: datapaths are indexed first
    idx.on_events(
        [
            RowEvent("Logical_Flow", lf.uuid, None, lf),
            RowEvent("Port_Binding", pb.uuid, None, pb),
            RowEvent("Datapath_Binding", dp.uuid, None, dp),
        ]
    )
    assert idx.dp_by_ls == {"ls1": DP} and idx.ls_by_dp == {DP: "ls1"}
    assert idx.pb_by_name == {"p1": pb.uuid}
    assert idx.flows == {flow_row_key(lf): {lf.uuid}}
    renamed = row("Port_Binding", pb.uuid, logical_port="p2", datapath=DP)
    idx.on_events(
        [
            RowEvent("Port_Binding", pb.uuid, pb, renamed),
            RowEvent("Logical_Flow", lf.uuid, lf, None),
        ]
    )
    assert idx.pb_by_name == {"p2": pb.uuid}
    assert idx.flows == {}


def test_dirty() -> None:
    a = Dirty()
    assert not a
    a.absorb(Dirty(ports={"p"}))
    assert a and a.ports == {"p"} and not a.full
    a.absorb(Dirty(full=True))
    assert a.full


class RecordingTxn(Txn):
    def __init__(self) -> None:
        super().__init__(SB)


def test_full_build_on_an_empty_sb_inserts_everything_once() -> None:
    nb = FakeNb()
    for edit in GOLDEN_TOPOLOGY:
        txn = nb.txn()
        assert apply_edit(edit, txn, nb.rows)
        txn.commit()
    graph = build_graph(nb.rows, ExistingKeys)
    graph.engine.run(force_recompute=True)
    sync = SbSync(graph.northd, graph.lflow, SbIndex())
    txn = RecordingTxn()
    sync.build(txn, lambda table: {}, Dirty(full=True))
    inserts: dict[str, int] = {}
    for op in txn.ops:
        assert op["op"] == "insert", op
        inserts[op["table"]] = inserts.get(op["table"], 0) + 1
    assert inserts == {
        "Datapath_Binding": 2,
        "Port_Binding": len(graph.northd.ports),
        "Multicast_Group": 4,  # _MC_flood and _MC_unknown on both switches
        "Logical_Flow": len(graph.lflow.flows),
    }
