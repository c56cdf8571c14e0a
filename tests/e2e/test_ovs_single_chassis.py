"""One chassis of real Open vSwitch (userspace datapath) programmed by pyovn's controller:
VMs (namespaces on veths), a container inside a VM on VLAN 10, VLAN isolation, port
security, port deletion, and restarts of the controller and of ovs-vswitchd.

    mgmt  192.168.0.0/24 : vm1 .11, vm2 .12
    net-a 172.16.0.0/24  : vm3 .30, c1 .10 (inside vm1, VLAN 10, parent vm1)
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import make_lab
from tests.e2e.labkit import Lab, udp_frame

VM1, VM2, VM3 = "0a:00:00:00:00:11", "0a:00:00:00:00:12", "0a:00:00:00:00:13"
C1 = "0a:00:00:00:01:10"


def add_c1(lab: Lab) -> None:
    lab.lsp("net-a", "c1", C1, "172.16.0.10", parent="vm1", tag=10)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    for lab in make_lab("s", "192.168.210", chassis=1):
        lab.nbctl("ls-add", "mgmt", "--", "ls-add", "net-a")
        lab.lsp("mgmt", "vm1", VM1, "192.168.0.11")
        lab.lsp("mgmt", "vm2", VM2, "192.168.0.12")
        lab.lsp("net-a", "vm3", VM3, "172.16.0.30")
        add_c1(lab)
        lab.vm("vm1", "hv1", VM1, "192.168.0.11/24")
        lab.vm("vm2", "hv1", VM2, "192.168.0.12/24")
        lab.vm("vm3", "hv1", VM3, "172.16.0.30/24")
        lab.container("vm1", "c1", 10, C1, "172.16.0.10/24")
        lab.wait_up("vm1", "vm2", "vm3", "c1")
        yield lab


def test_vms_on_a_switch_ping_each_other(lab: Lab) -> None:
    lab.wait_ping("vm1", "192.168.0.12")
    assert lab.ping("vm1", "192.168.0.12")
    assert lab.ping("vm2", "192.168.0.11")


def test_container_reaches_a_vm_of_its_switch_untagged(lab: Lab) -> None:
    lab.wait_ping("vm1", "172.16.0.30", iface="c1")
    with lab.capture("vm3", "eth0", "icmp") as at_vm3, lab.capture("vm1", "eth0") as trunk:
        assert lab.ping("vm1", "172.16.0.30", iface="c1")
        assert lab.ping("vm3", "172.16.0.10")
    requests = [x for x in at_vm3.lines if x.split()[1] == C1 and "echo request" in x]
    assert len(requests) >= 3, at_vm3.lines
    assert not [x for x in at_vm3.lines if "802.1Q" in x or "vlan" in x], at_vm3.lines
    # on the VM's NIC (the trunk), the container's frames carry VLAN 10 both ways
    to_c1 = [x for x in trunk.lines if f"> {C1}" in x and "ICMP" in x]
    assert to_c1 and all("vlan 10" in x for x in to_c1), trunk.lines
    from_c1 = [x for x in trunk.lines if x.split()[1] == C1 and "ICMP" in x]
    assert from_c1 and all("vlan 10" in x for x in from_c1), trunk.lines
    # and the VM's own traffic (mgmt) stays untagged on its NIC
    with lab.capture("vm1", "eth0", "icmp") as own:
        assert lab.ping("vm1", "192.168.0.12")
    assert own.lines and not [x for x in own.lines if "vlan" in x], own.lines


def test_a_frame_with_an_unowned_vlan_is_not_delivered(lab: Lab) -> None:
    expr = "udp port 9 or (vlan and udp port 9)"
    owned = udp_frame(C1, VM3, "172.16.0.10", "172.16.0.30", vlan=10)
    unowned = udp_frame(C1, VM3, "172.16.0.10", "172.16.0.30", vlan=20)
    with lab.capture("vm3", "eth0", expr) as at_vm3:
        lab.send_frames("vm1", "eth0", owned)
    assert len(at_vm3.lines) >= 3, "the control frame on VLAN 10 must arrive"
    assert not [x for x in at_vm3.lines if "vlan" in x]
    with (
        lab.capture("vm3", "eth0", expr) as at_vm3,
        lab.capture("vm2", "eth0", expr) as at_vm2,
        lab.capture("hv1", "vif-vm1", expr) as sent,
    ):
        lab.send_frames("vm1", "eth0", unowned)
    assert len([x for x in sent.lines if "vlan 20" in x]) >= 3, "frames must reach br-int"
    assert at_vm3.lines == [] and at_vm2.lines == []


def test_port_security_drops_a_spoofed_mac(lab: Lab) -> None:
    expr = "udp port 9"
    real = udp_frame(VM2, VM1, "192.168.0.12", "192.168.0.11")
    spoofed = udp_frame("0a:00:00:00:00:99", VM1, "192.168.0.12", "192.168.0.11")
    with lab.capture("vm1", "eth0", expr) as at_vm1:
        lab.send_frames("vm2", "eth0", real)
    assert len(at_vm1.lines) >= 3, "the control frame with vm2's own MAC must arrive"
    with lab.capture("vm1", "eth0", expr) as at_vm1, lab.capture("hv1", "vif-vm2", expr) as sent:
        lab.send_frames("vm2", "eth0", spoofed)
    assert len(sent.lines) >= 3
    assert at_vm1.lines == []


def _ping_log(lab: Lab, vm: str, dst: str, seconds: float, iface: str = "") -> subprocess.Popen:
    cmd = ["ip", "netns", "exec", lab.ns(vm), "ping", "-D", "-n", "-i", "0.05", "-W", "1",
           "-w", str(seconds), *(["-I", iface] if iface else []), dst]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _replies(out: str) -> list[float]:
    return [float(m.group(1)) for m in re.finditer(r"^\[([0-9.]+)\] \d+ bytes from", out, re.M)]


def test_deleting_the_container_port_stops_its_traffic_within_1s(lab: Lab) -> None:
    lab.wait_ping("vm1", "172.16.0.30", iface="c1")
    proc = _ping_log(lab, "vm1", "172.16.0.30", 6, iface="c1")
    time.sleep(1.5)
    t0 = time.time()
    lab.pyovn_nbctl("lsp-del", "c1")
    t1 = time.time()
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    replies = _replies(out)
    before = [t for t in replies if t < t0]
    after = [t for t in replies if t >= t0]
    assert before and before[-1] > t0 - 0.3, f"traffic was flowing before the delete:\n{out}"
    last = after[-1] if after else t0
    print(f"container traffic stopped {last - t1:+.3f} s after lsp-del returned "
          f"({last - t0:.3f} s after it was issued)")  # fmt: skip
    assert last - t1 < 1.0, out
    assert not lab.ping("vm1", "172.16.0.30", count=2, iface="c1")
    add_c1(lab)
    lab.wait_up("c1")
    lab.wait_ping("vm1", "172.16.0.30", iface="c1")


def _controller_status(lab: Lab, hv: str) -> str:
    ctl = lab.dir / "lab" / hv / "controller.ctl"
    r = subprocess.run(
        [*lab.env["PYOVN"].split(), "appctl", "-t", str(ctl), "status"],
        capture_output=True,
        text=True,
    )
    return r.stdout if r.returncode == 0 else ""


def test_flow_changes_go_to_the_switch_in_atomic_bundles(lab: Lab) -> None:
    """Ports bound after the first install reached the switch as flow_mods inside atomic
    bundles (as ovn-controller sends them), which this ovs-vswitchd accepted."""
    if lab.impl != "pyovn":
        pytest.skip("checks pyovn's controller")
    lab.wait_ping("vm1", "172.16.0.30", iface="c1")
    status = _controller_status(lab, "hv1")
    m = re.search(r"flow_mods (\d+) in bundles (\d+) \(on\)", status)
    assert m and int(m.group(1)) > 0 and int(m.group(2)) > 0, status


def test_restarting_the_controller_keeps_flows_and_traffic(lab: Lab) -> None:
    if lab.impl != "pyovn":
        pytest.skip("checks pyovn's controller")
    lab.wait_ping("vm1", "192.168.0.12")
    time.sleep(1)
    before = lab.flows("hv1")
    old = lab.controller_pid("hv1")
    proc = _ping_log(lab, "vm1", "192.168.0.12", 6)
    time.sleep(0.5)
    lab.lab("restart-controller", "hv1")
    assert lab.controller_pid("hv1") != old
    deadline = time.monotonic() + 20
    while not re.search(r"rounds: [1-9]", _controller_status(lab, "hv1")):
        assert time.monotonic() < deadline, "the new controller never finished a round"
        time.sleep(0.1)
    out, _ = proc.communicate(timeout=20)
    after = lab.flows("hv1")
    assert set(after) == set(before)
    reset = [k for k in before if after[k] < before[k]]
    assert not reset, f"flows were re-added: {reset[:3]}"
    sent = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert sent and sent.group(1) == sent.group(2), out[-500:]


def test_restarting_ovs_vswitchd_resyncs_the_flows(lab: Lab) -> None:
    lab.wait_ping("vm1", "192.168.0.12")
    before = set(lab.flows("hv1"))
    lab.lab("restart-vswitchd", "hv1")
    t0 = time.monotonic()
    while True:
        try:
            now = set(lab.flows("hv1"))
        except Exception:
            now = set()
        if now == before:
            break
        assert time.monotonic() - t0 < 15, f"flows not restored: {len(now)}/{len(before)}"
        time.sleep(0.2)
    print(f"flows restored {time.monotonic() - t0:.2f} s after ovs-vswitchd restarted")
    if lab.impl == "pyovn":
        log = (lab.dir / "lab" / "hv1" / "controller.log").read_text()
        assert "reinstalling flows" in log
    lab.wait_ping("vm1", "192.168.0.12")
    lab.wait_ping("vm1", "172.16.0.30", iface="c1")
