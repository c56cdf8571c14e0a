"""ovn-sbctl's show, lflow-list, count-flows, chassis and binding commands on an in-memory
Southbound replica; the expected texts follow ovn-sbctl's layout byte for byte."""

from __future__ import annotations

import pytest

from pyovn.cli import sbctl
from pyovn.cli.ctl.values import CtlError

from .memdb import MemDb

TOOL = sbctl.TOOL
DP1 = "619352f2-159c-4a12-bc31-eb2046d76129"
DP2 = "b3b6e6e6-ed47-419d-a215-b42ba3029242"
F1 = "5e3c0816-0000-4000-8000-000000000001"
F2 = "81ad1159-0000-4000-8000-000000000002"
F3 = "a0000003-0000-4000-8000-000000000003"
F4 = "b0000004-0000-4000-8000-000000000004"


def flow(
    mem: MemDb,
    uuid: str,
    dp: str | None,
    group: str | None,
    pipeline: str,
    table: int,
    stage: str,
    priority: int,
    match: str,
    actions: str,
) -> None:
    mem.add(
        "Logical_Flow",
        uuid,
        logical_datapath=frozenset({dp}) if dp else frozenset(),
        logical_dp_group=frozenset({group}) if group else frozenset(),
        pipeline=pipeline,
        table_id=table,
        priority=priority,
        match=match,
        actions=actions,
        external_ids={"stage-name": stage},
    )


@pytest.fixture
def sb() -> MemDb:
    mem = MemDb("sb")
    mem.add("SB_Global")
    mem.add("Datapath_Binding", DP1, tunnel_key=1, external_ids={"name": "sw1"})
    mem.add("Datapath_Binding", DP2, tunnel_key=2, external_ids={"name": "sw0", "name2": "net0"})
    group = mem.add("Logical_DP_Group", datapaths=frozenset({DP1, DP2}))
    flow(mem, F1, None, group, "ingress", 0, "ls_in_check_port_sec", 100, "eth.src[40]", "drop;")
    flow(
        mem,
        F2,
        DP1,
        None,
        "ingress",
        0,
        "ls_in_check_port_sec",
        100,
        'inport == "b"',
        "reg0[15] = 1; next;",
    )
    flow(mem, F3, DP1, None, "egress", 10, "ls_out_apply_port_sec", 0, "1", "output;")
    flow(mem, F4, DP1, None, "ingress", 2, "ls_in_lookup_fdb", 50, "1", "next;")
    return mem


def test_lflow_list(sb: MemDb) -> None:
    assert sb.run(TOOL, "lflow-list").out == (
        f'Datapath: "sw0" aka "net0" ({DP2})  Pipeline: ingress\n'
        "  table=0 (ls_in_check_port_sec), priority=100  , match=(eth.src[40]), action=(drop;)\n"
        f'Datapath: "sw1" ({DP1})  Pipeline: ingress\n'
        "  table=0 (ls_in_check_port_sec), priority=100  , match=(eth.src[40]), action=(drop;)\n"
        '  table=0 (ls_in_check_port_sec), priority=100  , match=(inport == "b"), '
        "action=(reg0[15] = 1; next;)\n"
        "  table=2 (ls_in_lookup_fdb   ), priority=50   , match=(1), action=(next;)\n"
        f'Datapath: "sw1" ({DP1})  Pipeline: egress\n'
        "  table=10(ls_out_apply_port_sec), priority=0    , match=(1), action=(output;)\n"
    )


def test_lflow_list_selection(sb: MemDb) -> None:
    by_name = sb.run(TOOL, "lflow-list", "net0").out
    assert by_name.splitlines()[0] == f'Datapath: "sw0" aka "net0" ({DP2})  Pipeline: ingress'
    assert len(by_name.splitlines()) == 2
    assert sb.run(TOOL, "lflow-list", DP2[:4]).out == by_name
    assert sb.run(TOOL, "dump-flows", "sw0").out == by_name
    only = sb.run(TOOL, "--uuid", "lflow-list", "sw1", "0x81ad1159").out
    assert only == (
        f'Datapath: "sw1" ({DP1})  Pipeline: ingress\n'
        "  uuid=0x81ad1159, table=0 (ls_in_check_port_sec), priority=100  , "
        'match=(inport == "b"), action=(reg0[15] = 1; next;)\n'
    )
    # a first argument that names no datapath is a flow UUID prefix
    assert sb.run(TOOL, "lflow-list", "5e3c").out.count("Datapath:") == 2
    with pytest.raises(CtlError, match=r"^nosuch is not a UUID or the beginning of a UUID$"):
        sb.run(TOOL, "lflow-list", "nosuch")


def test_count_flows(sb: MemDb) -> None:
    assert sb.run(TOOL, "count-flows", "sw1").out == (
        f'Datapath: "sw1" ({DP1})  Pipeline: ingress\n'
        "  table=0 (ls_in_check_port_sec) lflows=2\n"
        "  table=2 (ls_in_lookup_fdb   ) lflows=1\n"
        f'Total number of logical flows in the datapath "sw1" ({DP1}) Pipeline: ingress = 3\n'
        "\n"
        f'Datapath: "sw1" ({DP1})  Pipeline: egress\n'
        "  table=10(ls_out_apply_port_sec) lflows=1\n"
        f'Total number of logical flows in the datapath "sw1" ({DP1}) Pipeline: egress = 1\n'
        "\n"
        "Total number of logical flows = 4\n"
    )


def test_show(sb: MemDb) -> None:
    e1 = sb.add(
        "Encap",
        "10000000-0000-4000-8000-000000000001",
        type="geneve",
        ip="192.168.0.1",
        chassis_name="ch1",
        options={"csum": "true"},
    )
    e2 = sb.add(
        "Encap",
        "20000000-0000-4000-8000-000000000002",
        type="vxlan",
        ip="192.168.0.2",
        chassis_name="ch2",
    )
    e3 = sb.add(
        "Encap",
        "30000000-0000-4000-8000-000000000003",
        type="geneve",
        ip="192.168.0.2",
        chassis_name="ch2",
        options={"csum": "true"},
    )
    ch1 = sb.add("Chassis", name="ch1", hostname="host1", encaps=frozenset({e1}))
    ch2 = sb.add("Chassis", name="ch2", encaps=frozenset({e2, e3}), other_config={"a": "b"})
    sb.add("Port_Binding", logical_port="vm1", datapath=DP1, tunnel_key=1, chassis=frozenset({ch1}))
    sb.add("Port_Binding", logical_port="b", datapath=DP1, tunnel_key=2, chassis=frozenset({ch2}))
    sb.add("Port_Binding", logical_port="a", datapath=DP1, tunnel_key=3, chassis=frozenset({ch2}))
    sb.add("Port_Binding", logical_port="free", datapath=DP1, tunnel_key=4)
    assert sb.run(TOOL, "show").out == (
        "Chassis ch1\n"
        "    hostname: host1\n"
        "    Encap geneve\n"
        '        ip: "192.168.0.1"\n'
        '        options: {csum="true"}\n'
        "    Port_Binding vm1\n"
        "Chassis ch2\n"
        "    Encap vxlan\n"
        '        ip: "192.168.0.2"\n'
        "    Encap geneve\n"
        '        ip: "192.168.0.2"\n'
        '        options: {csum="true"}\n'
        "    Port_Binding a\n"
        "    Port_Binding b\n"
    )
    assert sb.run(TOOL, "chassis-list").out == f"{ch1} (ch1)\n{ch2} (ch2)\n"


def test_chassis_add_and_del(sb: MemDb) -> None:
    res = sb.run(TOOL, "chassis-add", "ch9", "geneve,vxlan", "10.0.0.9")
    inserts = [op for op in res.ops if op["op"] == "insert"]
    assert [op["table"] for op in inserts] == ["Encap", "Encap", "Chassis"]
    assert inserts[0]["row"] == {
        "chassis_name": "ch9",
        "ip": "10.0.0.9",
        "options": ["map", [["csum", "true"]]],
        "type": "geneve",
    }
    sb.add("Chassis", name="ch9")
    with pytest.raises(CtlError) as exc:
        sb.run(TOOL, "chassis-add", "ch9", "geneve", "10.0.0.9")
    assert str(exc.value) == (
        "cannot create a chassis named ch9 because a chassis named ch9 already exists"
    )
    assert not sb.run(
        TOOL, "--may-exist", "chassis-add", "ch9", "geneve", "1.1.1.1"
    ).db.has_writes()
    with pytest.raises(CtlError, match=r"^no chassis named nope$"):
        sb.run(TOOL, "chassis-del", "nope")
    assert sb.run(TOOL, "chassis-del", "ch9").op_names()[-1] == "delete"


def test_lsp_bind_unbind(sb: MemDb) -> None:
    ch1 = sb.add("Chassis", name="ch1")
    sb.add("Chassis", name="ch2")
    sb.add("Port_Binding", logical_port="p1", datapath=DP1, tunnel_key=1, chassis=frozenset({ch1}))
    sb.add("Port_Binding", logical_port="p2", datapath=DP1, tunnel_key=2)
    with pytest.raises(
        CtlError, match=r"^lport \(p1\) has already been binded to chassis \(ch1\)$"
    ):
        sb.run(TOOL, "lsp-bind", "p1", "ch2")
    with pytest.raises(CtlError, match=r"^no port named nope$"):
        sb.run(TOOL, "lsp-bind", "nope", "ch2")
    res = sb.run(TOOL, "lsp-bind", "p2", "ch2", "--", "lsp-unbind", "p1")
    updates = [op["row"] for op in res.ops if op["op"] == "update"]
    assert updates[0]["chassis"][0] == "set" and updates[1] == {"chassis": ["set", []]}


def test_generic_commands_use_sb_names(sb: MemDb) -> None:
    out = sb.run(TOOL, "--bare", "--columns=tunnel_key", "list", "datapath_binding", "net0").out
    assert out == "2\n"
    sb.add("Chassis", name="ch1")
    assert sb.run(TOOL, "get", "chassis", "ch1", "name").out == "ch1\n"
    assert sb.run(TOOL, "get", "sb_global", ".", "nb_cfg").out == "0\n"
