"""End to end in one process over real sockets: NB/SB servers, northd, two chassis with the
simulated datapath joined by Geneve over UDP; VMs and containers inside a VM."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from pyovn.datapath.craft import arp_request, icmp4_echo
from pyovn.datapath.packet import parse_frame
from pyovn.sandbox import Sandbox
from tests.support.topo import Topo, until

VM1 = ("0a:00:00:00:00:01", "10.0.0.1")
VM2 = ("0a:00:00:00:00:02", "10.0.0.2")
VM3 = ("0a:00:00:00:00:03", "10.0.0.3")
C1 = ("0a:00:00:00:00:11", "10.0.0.11")  # in vm1, on sw0 (vm1 itself is on sw-mgmt)
C2 = ("0a:00:00:00:00:12", "10.0.1.12")  # in vm1, on sw1
C3 = ("0a:00:00:00:00:13", "10.0.0.13")  # in vm1, on sw0
VM4 = ("0a:00:00:00:00:04", "10.0.1.4")  # on sw1, chassis 2


def run(tmp_path: Path, scenario: Callable[[Topo], Awaitable[None]], n: int = 2) -> None:
    async def main() -> None:
        sandbox = Sandbox(tmp_path / "run", n)
        await sandbox.start()
        try:
            await asyncio.wait_for(scenario(Topo(sandbox)), 60)
        finally:
            await sandbox.close()

    asyncio.run(main())


async def build(t: Topo) -> None:
    """sw-mgmt: vm1 (hv1). sw0: vm2 (hv2), c1 and c3 in vm1. sw1: vm4 (hv2), c2 in vm1."""
    for sw in ("sw-mgmt", "sw0", "sw1"):
        await t.ls_add(sw)
    await t.lsp_add("sw-mgmt", "vm1", *VM1)
    await t.lsp_add("sw0", "vm2", *VM2)
    await t.lsp_add("sw1", "vm4", *VM4)
    await t.lsp_add("sw0", "c1", *C1, parent="vm1", tag=10)
    await t.lsp_add("sw1", "c2", *C2, parent="vm1", tag=20)
    await t.lsp_add("sw0", "c3", *C3, parent="vm1", tag=0)
    await t.plug(0, "vm1", "vm1")
    await t.plug(1, "vm2", "vm2")
    await t.plug(1, "vm4", "vm4")
    for name in ("vm1", "vm2", "vm4", "c1", "c2", "c3"):
        await t.wait_up(name)
    vm1 = t.host(0, "vm1")
    vm1.add_identity(*VM1)
    vm1.add_identity(*C1, vlan=10)
    vm1.add_identity(*C2, vlan=20)
    vm1.add_identity(*C3, vlan=t.tag("c3"))
    t.host(1, "vm2").add_identity(*VM2)
    t.host(1, "vm4").add_identity(*VM4)


def test_frames_flow_between_vms_and_containers(tmp_path: Path) -> None:
    async def scenario(t: Topo) -> None:
        await build(t)
        assert t.bound_on("c1") == "hv1" and t.bound_on("vm2") == "hv2"
        vm1, vm2, vm4 = t.host(0, "vm1"), t.host(1, "vm2"), t.host(1, "vm4")
        await vm2.ping(C1[1])  # VM -> container across chassis
        await vm1.ping(VM2[1], vlan=10)  # container -> VM across chassis
        await vm1.ping(VM4[1], vlan=20)  # container on another switch than its VM
        await vm1.ping(C3[1], vlan=10)  # container -> container in the same VM
        await vm4.ping(C2[1])
        with pytest.raises(TimeoutError):  # vm1 (sw-mgmt) and vm2 (sw0) share no switch
            await vm1.ping(VM2[1], timeout=0.3)

    run(tmp_path, scenario)


def test_vlan_handling_and_port_security(tmp_path: Path) -> None:
    async def scenario(t: Topo) -> None:
        await build(t)
        backend = t.chassis(0).controller.backend
        # an untagged frame from vm1 stays on vm1's switch: never reaches c1's switch (sw0)
        res = backend.inject("vm1", icmp4_echo(VM1[0], VM2[0], VM1[1], VM2[1]))
        assert res.dropped
        # the same frame tagged 10 is c1's, and crosses to vm2 over the tunnel
        res = backend.inject("vm1", icmp4_echo(C1[0], VM2[0], C1[1], VM2[1], vlan=10))
        assert [t_.chassis for t_, *_ in res.tunnels] == ["hv2"]
        # a tag no container owns is dropped at the first table
        res = backend.inject("vm1", icmp4_echo(C1[0], VM2[0], C1[1], VM2[1], vlan=99), trace=True)
        assert res.dropped and res.steps[0].flow is None
        # port security: c1 spoofing c3's MAC on its own tag is dropped
        res = backend.inject("vm1", icmp4_echo(C3[0], VM2[0], C1[1], VM2[1], vlan=10))
        assert res.dropped

    run(tmp_path, scenario)


def test_broadcast_arp_reaches_exactly_the_switch_ports(tmp_path: Path) -> None:
    async def scenario(t: Topo) -> None:
        await build(t)
        await t.lsp_add("sw0", "vm5", "0a:00:00:00:00:05", "10.0.0.5")
        await t.plug(1, "vm5", "vm5")
        await t.wait_up("vm5")
        hv2 = t.chassis(1).controller.backend
        for port in hv2.switch.ports.values():
            port.rx.clear()
        got: list[tuple[str, int | None]] = []
        for name in ("vm1",):
            t.host(0, name).on_frame = None  # type: ignore[assignment]
        hv1 = t.chassis(0).controller.backend
        seen = hv1.switch.by_name["vm1"]
        seen.on_frame = lambda f: got.append(("vm1", _vlan(f)))
        # vm2 (sw0, hv2) asks for an address nobody has: flood to sw0's ports only
        hv2.switch.by_name["vm2"].on_frame = None
        hv2.switch.by_name["vm5"].on_frame = lambda f: got.append(("vm5", _vlan(f)))
        hv2.switch.by_name["vm4"].on_frame = lambda f: got.append(("vm4", _vlan(f)))
        hv2.inject("vm2", arp_request(VM2[0], VM2[1], "10.0.0.99"))
        await until(lambda: len(got) >= 3, 5)
        await asyncio.sleep(0.2)
        # sw0 members besides vm2: c1 (tag 10) and c3 (its tag) via vm1's VIF, and vm5
        assert sorted(got) == sorted([("vm1", 10), ("vm1", t.tag("c3")), ("vm5", None)])

    run(tmp_path, scenario)


def _vlan(frame: bytes) -> int | None:
    tci = parse_frame(frame).fields.get("vlan.tci", 0)
    return tci & 0xFFF if tci & 0x1000 else None


def test_binding_follows_interfaces_and_parents(tmp_path: Path) -> None:
    async def scenario(t: Topo) -> None:
        await t.ls_add("sw0")
        await t.lsp_add("sw0", "vm1", *VM1)
        await t.lsp_add("sw0", "c1", *C1, parent="vm1", tag=10)
        await asyncio.sleep(0.2)
        # a container is not bound before its parent
        assert not t.up("c1") and t.bound_on("c1") is None
        await t.plug(0, "vm1", "vm1")
        await t.wait_up("vm1")
        await t.wait_up("c1")
        assert t.bound_on("vm1") == "hv1" and t.bound_on("c1") == "hv1"
        ovs = t.chassis(0).ovs
        await until(lambda: ovs.find_one("Interface", name="vm1")["external_ids"].get(
            "ovn-installed") == "true")
        # the VM migrates: unplugged from hv1, plugged on hv2; the container follows
        await t.unplug(0, "vm1")
        await t.wait_up("vm1", up=False)
        await t.plug(1, "vm1", "vm1")
        await until(lambda: t.bound_on("vm1") == "hv2" and t.bound_on("c1") == "hv2")
        await t.wait_up("c1")
        # the interface goes away: port and container are released
        await t.unplug(1, "vm1")
        await until(lambda: t.bound_on("vm1") is None and t.bound_on("c1") is None)
        await t.wait_up("vm1", up=False)  # northd reflects the release into NB
        await t.wait_up("c1", up=False)

    run(tmp_path, scenario)


def test_two_chassis_racing_for_one_port(tmp_path: Path) -> None:
    async def scenario(t: Topo) -> None:
        await t.ls_add("sw0")
        await t.lsp_add("sw0", "vm1", *VM1)
        # both hypervisors claim to have vm1's interface at once: one wins and keeps it
        await asyncio.gather(t.plug(0, "vm1", "vm1"), t.plug(1, "vm1", "vm1"))
        await t.wait_up("vm1")
        first = t.bound_on("vm1")
        assert first in ("hv1", "hv2")
        for _ in range(10):
            await asyncio.sleep(0.05)
            assert t.bound_on("vm1") == first  # no flapping
        # requested-chassis settles it explicitly
        other = "hv2" if first == "hv1" else "hv1"
        await t.lsp_set("vm1", options={"requested-chassis": other})
        await until(lambda: t.bound_on("vm1") == other)

    run(tmp_path, scenario)


def test_ingress_flows_only_where_the_port_is_bound(tmp_path: Path) -> None:
    """A chassis leaves out the ingress flows of VIFs bound elsewhere (no packet can enter
    from them there); when a VM migrates in, its flows follow and its traffic works."""

    def ingress_flows_of(t: Topo, index: int, name: str) -> int:
        ctl = t.chassis(index).controller
        dp_key = ctl.sb.get("Datapath_Binding", t.binding(name)["datapath"])["tunnel_key"]
        key = t.binding(name)["tunnel_key"]
        return sum(
            1
            for f in ctl.backend.switch.installed
            if ("inport", key, -1) in f.match and ("metadata", dp_key, -1) in f.match
        )

    async def scenario(t: Topo) -> None:
        await build(t)
        assert ingress_flows_of(t, 1, "vm2") > 0  # vm2 is bound on hv2
        assert ingress_flows_of(t, 0, "vm2") == 0  # hv1 has sw0 (c1) but not vm2
        await t.host(1, "vm2").ping(C1[1])
        # vm2 migrates to hv1: its ingress flows appear there, and it still reaches c1
        await t.unplug(1, "vm2")
        await t.wait_up("vm2", up=False)
        await t.plug(0, "vm2", "vm2")
        await t.wait_up("vm2")
        await until(lambda: ingress_flows_of(t, 0, "vm2") > 0)
        assert t.bound_on("vm2") == "hv1"
        t.host(0, "vm2").add_identity(*VM2)
        await t.host(0, "vm2").ping(C1[1])
        await t.host(1, "vm4").ping(C2[1])
        await until(lambda: ingress_flows_of(t, 1, "vm2") == 0)

    run(tmp_path, scenario)
