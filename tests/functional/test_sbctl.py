"""`pyovn sbctl` as a subprocess against `pyovn ovsdb-server` serving a Southbound file."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ServerProcess, env_without_pyovn_logs, pyovn_server

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[ServerProcess]:
    with pyovn_server(tmp_path, "sb", name="sb") as server:
        yield server


def run(server: ServerProcess, *args: str, rc: int = 0) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "pyovn.cli.main", "sbctl", f"--db={server.remote}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_without_pyovn_logs(),
    )
    assert proc.returncode == rc, (args, proc.stdout, proc.stderr)
    return proc.stdout if rc == 0 else proc.stderr


def populate(sb: ServerProcess) -> str:
    """Two datapaths, a datapath group, three flows, two port bindings; returns sw1's UUID."""
    out = run(
        sb,
        "--id=@dp1",
        "create",
        "datapath_binding",
        "tunnel_key=1",
        "external_ids:name=sw1",
        "--",
        "--id=@dp0",
        "create",
        "datapath_binding",
        "tunnel_key=2",
        "external_ids:name=sw0",
        "external_ids:name2=net0",
        "--",
        "--id=@g",
        "create",
        "logical_dp_group",
        "datapaths=[@dp0,@dp1]",
        "--",
        "create",
        "logical_flow",
        "logical_dp_group=@g",
        "pipeline=ingress",
        "table_id=0",
        "priority=100",
        'match="eth.src[40]"',
        'actions="drop;"',
        "external_ids:stage-name=ls_in_check_port_sec",
        "--",
        "create",
        "logical_flow",
        "logical_datapath=@dp1",
        "pipeline=egress",
        "table_id=10",
        "priority=0",
        "match=1",
        'actions="output;"',
        "external_ids:stage-name=ls_out_apply_port_sec",
        "--",
        "create",
        "logical_flow",
        "logical_datapath=@dp1",
        "pipeline=ingress",
        "table_id=0",
        "priority=100",
        'match="inport == \\"b\\""',
        'actions="reg0[15] = 1; next;"',
        "external_ids:stage-name=ls_in_check_port_sec",
        "--",
        "create",
        "port_binding",
        "logical_port=vm1",
        "datapath=@dp1",
        "tunnel_key=1",
        "--",
        "create",
        "port_binding",
        "logical_port=c1",
        "datapath=@dp1",
        "tunnel_key=2",
        "parent_port=vm1",
        "tag=5",
    )
    return out.splitlines()[0]


def test_lflow_list_and_count(sb: ServerProcess) -> None:
    sw1 = populate(sb)
    sw0 = run(sb, "get", "datapath_binding", "net0", "_uuid").strip()
    assert run(sb, "lflow-list") == (
        f'Datapath: "sw0" aka "net0" ({sw0})  Pipeline: ingress\n'
        "  table=0 (ls_in_check_port_sec), priority=100  , match=(eth.src[40]), action=(drop;)\n"
        f'Datapath: "sw1" ({sw1})  Pipeline: ingress\n'
        "  table=0 (ls_in_check_port_sec), priority=100  , match=(eth.src[40]), action=(drop;)\n"
        '  table=0 (ls_in_check_port_sec), priority=100  , match=(inport == "b"), '
        "action=(reg0[15] = 1; next;)\n"
        f'Datapath: "sw1" ({sw1})  Pipeline: egress\n'
        "  table=10(ls_out_apply_port_sec), priority=0    , match=(1), action=(output;)\n"
    )
    only_sw0 = run(sb, "lflow-list", "sw0")
    assert only_sw0.count("\n") == 2 and "net0" in only_sw0
    with_uuid = run(sb, "--uuid", "dump-flows", sw1)
    prefix = re.search(r"uuid=0x([0-9a-f]{8}), table=10", with_uuid)
    assert prefix is not None
    assert run(sb, "lflow-list", prefix[1]).count("table=") == 1
    assert run(sb, "count-flows").splitlines()[-1] == "Total number of logical flows = 4"
    assert "not a UUID" in run(sb, "lflow-list", "nosuch", rc=1)


def test_show_chassis_and_bindings(sb: ServerProcess) -> None:
    populate(sb)
    run(
        sb,
        "chassis-add",
        "ch1",
        "geneve",
        "192.168.0.1",
        "--",
        "chassis-add",
        "ch0",
        "geneve,vxlan",
        "192.168.0.2",
        "--",
        "set",
        "chassis",
        "ch1",
        "hostname=host1",
        "--",
        "lsp-bind",
        "vm1",
        "ch1",
        "--",
        "lsp-bind",
        "c1",
        "ch1",
    )
    show = run(sb, "show")
    blocks = show.split("Chassis ")
    assert blocks[0] == "" and blocks[1].startswith("ch0\n") and blocks[2].startswith("ch1\n")
    assert blocks[2] == (
        "ch1\n"
        "    hostname: host1\n"
        "    Encap geneve\n"
        '        ip: "192.168.0.1"\n'
        '        options: {csum="true"}\n'
        "    Port_Binding c1\n"
        "    Port_Binding vm1\n"
    )
    assert sorted(re.findall(r"Encap (\w+)", blocks[1])) == ["geneve", "vxlan"]
    assert "already been binded to chassis (ch1)" in run(sb, "lsp-bind", "vm1", "ch0", rc=1)
    names = [line.split(" (")[1] for line in run(sb, "chassis-list").splitlines()]
    assert names == ["ch0)", "ch1)"]
    run(sb, "lsp-unbind", "c1", "--", "chassis-del", "ch0")
    assert run(sb, "--bare", "--columns=chassis", "find", "port_binding", "logical_port=c1") == "\n"
    assert run(sb, "--bare", "--columns=type", "list", "encap") == "geneve\n"
    assert "cannot create a chassis named ch1" in run(
        sb, "chassis-add", "ch1", "geneve", "1.1.1.1", rc=1
    )


def test_list_find_get(sb: ServerProcess) -> None:
    populate(sb)
    assert run(sb, "--bare", "--columns=logical_port", "find", "port_binding", "tag=5") == "c1\n"
    assert run(sb, "get", "port_binding", "c1", "parent_port", "tag") == "vm1\n5\n"
    assert UUID_RE.fullmatch(run(sb, "get", "sb_global", ".", "_uuid").strip())
    out = run(sb, "--columns=logical_port,tunnel_key", "list", "port_binding", "vm1")
    assert out == "logical_port        : vm1\ntunnel_key          : 1\n"
    assert "--wait" in run(sb, "--wait=sb", "show", rc=2)
