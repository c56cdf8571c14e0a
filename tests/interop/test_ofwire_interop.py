"""pyovn's OpenFlow 1.5 encoding of the flow IR (pyovn.datapath.ofwire) against Open vSwitch's
own parser: for every flow two simulated chassis install for VMs and containers-in-VMs,
``ovs-ofctl ofp-print`` of pyovn's flow_mod bytes must print the same flow as
``ovs-ofctl -O OpenFlow15 parse-flow`` prints for the flow's text (openflow.flow_text)."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
from pathlib import Path

import pytest

from pyovn.datapath.flows import Clone, Flow, Output, Tunnel
from pyovn.datapath.ofwire import OFPFC_DELETE_STRICT, bundled, flow_mod
from pyovn.datapath.openflow import UnsupportedFlow, flow_text
from pyovn.sandbox import Sandbox
from tests.support.servers import have
from tests.support.topo import Topo

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not have("ovs-ofctl"), reason="ovs-ofctl is not installed"),
]


async def _flows(tmp_path: Path) -> list[Flow]:
    sandbox = Sandbox(tmp_path / "run", 2)
    await sandbox.start()
    try:
        t = Topo(sandbox)
        for sw in ("mgmt", "apps"):
            await t.ls_add(sw)
        await t.lsp_add("mgmt", "vm1", "0a:00:00:00:00:01", "10.0.0.1")
        await t.lsp_add("mgmt", "vm2", "0a:00:00:00:00:02", "10.0.0.2")
        await t.lsp_add("apps", "vm3", "0a:00:00:00:00:03", "10.0.1.3")
        await t.lsp_add("apps", "c1", "0a:00:00:00:00:11", "10.0.1.11", parent="vm1", tag=10)
        await t.lsp_add("apps", "c2", "0a:00:00:00:00:12", "10.0.1.12", parent="vm1", tag=0)
        await t.lsp_add("mgmt", "open", "0a:00:00:00:00:21", port_security=False)
        await t.plug(0, "vm1", "vm1")
        await t.plug(1, "vm2", "vm2")
        await t.plug(1, "vm3", "vm3")
        for name in ("vm1", "vm2", "vm3", "c1", "c2"):
            await t.wait_up(name)
        await asyncio.sleep(0.5)
        flows: set[Flow] = set()
        for chassis in sandbox.chassis:
            flows |= chassis.controller.backend.switch.installed
        return sorted(flows, key=str)
    finally:
        await sandbox.close()


def _with_ports(flow: Flow) -> Flow:
    """The simulator's tunnels have no OpenFlow port: give them one."""

    def fix(actions: tuple) -> tuple:
        out = []
        for act in actions:
            if isinstance(act, Tunnel):
                act = dataclasses.replace(act, port=7)
            elif isinstance(act, Clone):
                act = Clone(fix(act.actions))
            out.append(act)
        return tuple(out)

    return dataclasses.replace(flow, actions=fix(flow.actions))


def _printed(stdout: str) -> str:
    lines = [x for x in stdout.splitlines() if "OFPT_FLOW_MOD" in x]
    assert lines, stdout
    return lines[0].split("): ", 1)[1]


def test_flow_mods_match_ovs_ofctl(tmp_path: Path) -> None:
    flows = [_with_ports(f) for f in asyncio.run(_flows(tmp_path))]
    assert len(flows) > 60
    kinds = {type(a).__name__ for f in flows for a in f.actions}
    assert {"Output", "PushVlan", "PopVlan", "Tunnel", "FromTunnel", "Clone", "Move"} <= kinds
    checked = 0
    for flow in flows:
        try:
            text = flow_text(flow)
        except UnsupportedFlow:
            continue
        cookie = int(text.split(",")[0].split("=")[1], 16)
        want = subprocess.run(
            ["ovs-ofctl", "-O", "OpenFlow15", "parse-flow", text], capture_output=True, text=True
        )
        assert want.returncode == 0, want.stderr
        got = subprocess.run(
            ["ovs-ofctl", "ofp-print", flow_mod(flow, cookie=cookie).hex()],
            capture_output=True,
            text=True,
        )
        assert _printed(got.stdout) == _printed(want.stdout), text
        checked += 1
    assert checked > 60


def test_delete_strict_carries_table_priority_and_match() -> None:
    flow = Flow.make(38, 100, {"metadata": 2, "outport": 3}, [Output(4)])
    out = subprocess.run(
        ["ovs-ofctl", "ofp-print", flow_mod(flow, OFPFC_DELETE_STRICT).hex()],
        capture_output=True,
        text=True,
    ).stdout
    assert "DEL_STRICT table:38 priority=100,reg15=0x3,metadata=0x2" in out


def test_bundle_messages_parse_in_ovs_ofctl() -> None:
    """The atomic bundle the backend sends its changes in, as Open vSwitch reads it."""
    flow = Flow.make(38, 100, {"metadata": 2, "outport": 3}, [Output(4)])
    msgs = bundled([flow_mod(flow, xid=77)], 9, 5, 6)
    printed = [
        subprocess.run(["ovs-ofctl", "ofp-print", m.hex()], capture_output=True, text=True).stdout
        for m in msgs
    ]
    assert "bundle_id=0x9 type=OPEN_REQUEST flags=atomic ordered" in printed[0]
    assert "OFPT_BUNDLE_ADD_MESSAGE (OF1.5) (xid=0x4d)" in printed[1]
    assert "OFPT_FLOW_MOD (OF1.5) (xid=0x4d): ADD table:38 priority=100,reg15=0x3" in printed[1]
    assert "bundle_id=0x9 type=COMMIT_REQUEST flags=atomic ordered" in printed[2]
