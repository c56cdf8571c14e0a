"""Two chassis of real Open vSwitch joined by Geneve tunnels over an underlay (veths on a
Linux bridge in a lab namespace), programmed by pyovn: VM to VM and container to VM across
chassis, the Geneve encapsulation on the wire, the container life cycle through
``pyovn api`` + ``pyovn container``, and an ovs-vswitchd restart on one side.

    mgmt  192.168.0.0/24 : vm1 .11 (hv1), vm4 .14 (hv2)
    net-a 172.16.0.0/24  : vm3 .30 (hv1), vm5 .50 (hv2),
                           c1 .10 (in vm1, VLAN 10), c2 .20 (in vm4, VLAN 10)
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import make_lab
from tests.e2e.labkit import PYOVN, Lab
from tests.support.servers import free_port

VM1, VM3, VM4, VM5 = (f"0a:00:00:00:00:{n}" for n in ("11", "13", "14", "15"))
C1, C2 = "0a:00:00:00:01:10", "0a:00:00:00:01:20"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    for lab in make_lab("t", "192.168.211", chassis=2):
        lab.nbctl("ls-add", "mgmt", "--", "ls-add", "net-a")
        lab.lsp("mgmt", "vm1", VM1, "192.168.0.11")
        lab.lsp("mgmt", "vm4", VM4, "192.168.0.14")
        lab.lsp("net-a", "vm3", VM3, "172.16.0.30")
        lab.lsp("net-a", "vm5", VM5, "172.16.0.50")
        lab.lsp("net-a", "c1", C1, "172.16.0.10", parent="vm1", tag=10)
        lab.lsp("net-a", "c2", C2, "172.16.0.20", parent="vm4", tag=10)
        lab.vm("vm1", "hv1", VM1, "192.168.0.11/24")
        lab.vm("vm3", "hv1", VM3, "172.16.0.30/24")
        lab.vm("vm4", "hv2", VM4, "192.168.0.14/24")
        lab.vm("vm5", "hv2", VM5, "172.16.0.50/24")
        lab.container("vm1", "c1", 10, C1, "172.16.0.10/24")
        lab.container("vm4", "c2", 10, C2, "172.16.0.20/24")
        lab.wait_up("vm1", "vm3", "vm4", "vm5", "c1", "c2")
        yield lab


def test_vm_to_vm_across_chassis_in_geneve(lab: Lab) -> None:
    lab.wait_ping("vm1", "192.168.0.14")
    with lab.capture("ul", "br-ul", "udp port 6081", verbose=True) as wire:
        assert lab.ping("vm1", "192.168.0.14")
        assert lab.ping("vm4", "192.168.0.11")
    text = "\n".join(wire.lines)
    assert text.count("Geneve") >= 12, text
    assert "class Open Virtual Networking (OVN) (0x102) type 0x80" in text
    assert "192.168.211.1." in text and "192.168.211.2.6081" in text


def test_container_to_vm_across_chassis(lab: Lab) -> None:
    lab.wait_ping("vm1", "172.16.0.50", iface="c1")
    with lab.capture("vm5", "eth0", "icmp") as at_vm5:
        assert lab.ping("vm1", "172.16.0.50", iface="c1")
        assert lab.ping("vm5", "172.16.0.10")
    assert [x for x in at_vm5.lines if x.split()[1] == C1 and "echo request" in x]
    assert not [x for x in at_vm5.lines if "vlan" in x]
    lab.wait_ping("vm4", "172.16.0.30", iface="c2")
    assert lab.ping("vm3", "172.16.0.20")
    assert lab.ping("vm1", "172.16.0.20", iface="c1")  # container to container


# ------------------------------------------------------------------ the API way
def _call(url: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


@pytest.fixture
def api(lab: Lab) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [*PYOVN.split(), "api", f"--ovnnb-db=unix:{lab.central}/nb.sock",
         f"--database-url=sqlite:///{lab.dir}/api.db", f"--listen=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _call(url, "GET", "/v2.0/networks")
                break
            except OSError:
                assert proc.poll() is None, "pyovn api exited"
                assert time.monotonic() < deadline, "pyovn api did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _container_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PYOVN.split(), "container", f"--api-url={url}", *args],
        capture_output=True,
        text=True,
        timeout=90,
    )


def _wait_active(url: str, port_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _call(url, "GET", f"/v2.0/ports/{port_id}")["port"]["status"] != "ACTIVE":
        assert time.monotonic() < deadline, f"port {port_id} not ACTIVE"
        time.sleep(0.1)


def test_container_through_the_api_and_pyovn_container(lab: Lab, api: str) -> None:
    nets = {}
    for name, cidr in (("api-vms", "10.60.0.0/24"), ("api-apps", "10.61.0.0/24")):
        net = _call(api, "POST", "/v2.0/networks", {"network": {"name": name}})["network"]
        _call(api, "POST", "/v2.0/subnets",
              {"subnet": {"network_id": net["id"], "cidr": cidr, "ip_version": 4}})  # fmt: skip
        nets[name] = net["id"]
    ports = {}
    for vm, net, hv in (("vma", "api-vms", "hv1"), ("vmb", "api-apps", "hv2")):
        body = {"port": {"network_id": nets[net], "name": vm}}
        port = _call(api, "POST", "/v2.0/ports", body)["port"]
        ip = port["fixed_ips"][0]["ip_address"]
        lab.vm(vm, hv, port["mac_address"], f"{ip}/24", iface_id=port["id"])
        ports[vm] = (port["id"], ip)
    for port_id, _ in ports.values():
        _wait_active(api, port_id)

    r = _container_cli(api, "create", "--vm-port", "vma", "--network", "api-apps",
                       "--name", "web", "--tag", "auto", "--wait", "--format", "json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    ctr = json.loads(r.stdout)
    assert ctr["status"] == "ACTIVE" and ctr["parent"] == ports["vma"][0], ctr
    assert isinstance(ctr["tag"], int) and 1 <= ctr["tag"] <= 4095
    ip = ctr["ip_addresses"][0]
    lab.container("vma", "web", ctr["tag"], ctr["mac_address"], f"{ip}/24")
    vmb_ip = ports["vmb"][1]
    took = lab.wait_ping("vma", vmb_ip, iface="web")
    print(f"container {ctr['name']} (VLAN {ctr['tag']}) reached vmb on hv2 in {took:.2f} s")
    assert lab.ping("vma", vmb_ip, iface="web")
    assert lab.ping("vmb", ip)

    r = _container_cli(api, "delete", "web")
    assert r.returncode == 0, r.stderr
    deadline = time.monotonic() + 5
    while lab.ping("vma", vmb_ip, count=1, iface="web"):
        assert time.monotonic() < deadline, "traffic still flows after the port was deleted"


def test_restarting_ovs_vswitchd_on_one_chassis_restores_the_tunnels(lab: Lab) -> None:
    lab.wait_ping("vm1", "172.16.0.50", iface="c1")
    before = set(lab.flows("hv2"))
    lab.lab("restart-vswitchd", "hv2")
    deadline = time.monotonic() + 15
    while True:
        try:
            if set(lab.flows("hv2")) == before:
                break
        except Exception:
            pass
        assert time.monotonic() < deadline, "hv2's flows were not restored"
        time.sleep(0.2)
    lab.wait_ping("vm1", "172.16.0.50", iface="c1")
    lab.wait_ping("vm4", "172.16.0.30", iface="c2")
    lab.wait_ping("vm4", "192.168.0.11")
