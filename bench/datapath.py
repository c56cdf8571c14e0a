"""pyovn's controller on real Open vSwitch beside the real OVN chain, on the same lab.

Each stack runs in turn on an identical lab (scripts/lab.sh: two chassis, each an
ovs-vswitchd with the userspace datapath in its own network namespace, Geneve over a veth
underlay; VMs are namespaces on veths, containers are VLAN-tagged ports of an OVS inside a
VM):

  pyovn  pyovn ovsdb-server (NB, SB) + pyovn northd + pyovn controller --datapath=ovs
  ovn    Debian ovsdb-server (NB, SB) + ovn-northd 23.03 + ovn-controller 23.03

Topology (the same NB for both):
  mgmt 192.168.0.0/24: vm1 (hv1, hosts the containers), vm2, vm6 (hv1), vm3 (hv2)
  apps 172.16.0.0/24:  vm4 (hv1), vm5 (hv2), c1 (inside vm1, VLAN 10)

Figures:
  flows       OpenFlow flows on br-int of hv1 and hv2 (ovs-ofctl dump-flows)
  port-up     iface-id written on vm2's Interface -> NB Logical_Switch_Port.up = true, seen
              by clients connected beforehand (median, max over --reps)
  first ping  a container port created in NB (its VLAN port inside vm1 plumbed beforehand,
              static neighbour entries on both ends) -> first ping reply, to a VM on the
              same chassis (vm4) and on the other chassis (vm5); pings every 2 ms
  RTT         ping -c 100 -i 0.01, average
  throughput  iperf3 TCP, --iperf-seconds each (if iperf3 is installed)

    python bench/datapath.py                    # both stacks, 5 reps
    python bench/datapath.py --only pyovn --reps 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pyovn.ovsdb.client.client import OvsdbClient  # noqa: E402
from pyovn.ovsdb.client.txn import Txn  # noqa: E402
from tests.e2e.labkit import Lab, ovs_unavailable  # noqa: E402

VMS = {  # name: (chassis, switch, mac, ip)
    "vm1": ("hv1", "mgmt", "0a:00:00:00:00:11", "192.168.0.11"),
    "vm2": ("hv1", "mgmt", "0a:00:00:00:00:12", "192.168.0.12"),
    "vm6": ("hv1", "mgmt", "0a:00:00:00:00:16", "192.168.0.16"),
    "vm3": ("hv2", "mgmt", "0a:00:00:00:00:13", "192.168.0.13"),
    "vm4": ("hv1", "apps", "0a:00:00:00:00:14", "172.16.0.40"),
    "vm5": ("hv2", "apps", "0a:00:00:00:00:15", "172.16.0.50"),
}
C1 = ("0a:00:00:00:01:10", "172.16.0.10")


def build(lab: Lab) -> None:
    lab.nbctl("ls-add", "mgmt", "--", "ls-add", "apps")
    for name, (_, switch, mac, ip) in VMS.items():
        lab.lsp(switch, name, mac, ip)
    lab.lsp("apps", "c1", *C1, parent="vm1", tag=10)
    for name, (hv, _, mac, ip) in VMS.items():
        lab.vm(name, hv, mac, f"{ip}/24")
    lab.container("vm1", "c1", 10, C1[0], f"{C1[1]}/24")
    lab.wait_up(*VMS, "c1")
    lab.wait_ping("vm1", "172.16.0.50", iface="c1")
    lab.wait_ping("vm2", "192.168.0.13")


def flow_count(lab: Lab, hv: str) -> int:
    return sum("actions=" in x for x in lab.ofctl(hv, "dump-flows", "br-int").splitlines())


class Stack:
    """One lab and the clients that time it: NB (ports' up) and hv1's Open_vSwitch DB."""

    def __init__(self, impl: str, net: str) -> None:
        self.impl = impl
        self.lab = Lab(f"bd{impl[0]}", net, chassis=2, impl=impl)
        self.res: dict[str, Any] = {}
        self.nb = OvsdbClient(f"unix:{self.lab.central}/nb.sock", "OVN_Northbound")
        self.nb.watch("Logical_Switch")
        self.nb.watch("Logical_Switch_Port")
        self.vs = OvsdbClient(f"unix:{self.lab.dir}/lab/hv1/conf.sock", "Open_vSwitch")
        self.vs.watch("Interface")

    def add(self, key: str, value: float) -> None:
        self.res.setdefault(key, []).append(value)

    def up(self, name: str) -> bool:
        row = self.nb.find_one("Logical_Switch_Port", name=name)
        return row is not None and row.one("up") is True


async def port_up(st: Stack) -> float:
    """vm2's iface-id removed (port released), then written again: time to NB up=true."""
    iface = st.vs.find_one("Interface", name="vif-vm2")
    assert iface is not None
    await st.vs.transact(
        lambda t: t.mutate("Interface", iface.uuid, [("external_ids", "delete", ["iface-id"])])
    )
    await st.nb.wait_for(lambda: not st.up("vm2"), timeout=30)
    await asyncio.sleep(0.5)
    t0 = time.perf_counter()
    await st.vs.transact(
        lambda t: t.mutate(
            "Interface", iface.uuid, [("external_ids", "insert", {"iface-id": "vm2"})]
        )
    )
    await st.nb.wait_for(lambda: st.up("vm2"), timeout=30)
    return time.perf_counter() - t0


async def first_ping(st: Stack, target: str, tag: int) -> float:
    """A container c<tag> inside vm1 on apps: NB port created -> first ping reply."""
    lab = st.lab
    _, _, dst_mac, dst_ip = VMS[target]
    name, mac, ip = f"c{tag}", f"0a:00:00:00:02:{tag:02x}", f"172.16.0.{tag}"
    lab.container("vm1", name, tag, mac, f"{ip}/24")
    lab.run_in("vm1", "ip", "neigh", "replace", dst_ip, "lladdr", dst_mac, "dev", name,
               "nud", "permanent", check=True)  # fmt: skip
    lab.run_in(target, "ip", "neigh", "replace", ip, "lladdr", mac, "dev", "eth0",
               "nud", "permanent", check=True)  # fmt: skip
    ls = st.nb.find_one("Logical_Switch", name="apps")
    assert ls is not None

    def add(txn: Txn) -> None:
        port = txn.insert(
            "Logical_Switch_Port",
            {"name": name, "parent_name": "vm1", "tag_request": tag,
             "addresses": [f"{mac} {ip}"], "port_security": [f"{mac} {ip}"]},
        )  # fmt: skip
        txn.mutate("Logical_Switch", ls.uuid, [("ports", "insert", [port])])

    await asyncio.sleep(0.5)
    t0 = time.time()
    await st.nb.transact(add)
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", lab.ns("vm1"), "ping", "-D", "-n", "-i", "0.002", "-c", "1",
        "-w", "20", "-I", name, dst_ip,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    text = (await proc.communicate())[0].decode()
    m = re.search(r"^\[([0-9.]+)\] \d+ bytes from", text, re.M)
    if m is None:
        raise RuntimeError(f"{st.impl}: no reply from {dst_ip} for {name}:\n{text}")
    lab.run_in(target, "ip", "neigh", "del", ip, "dev", "eth0")
    lab.nbctl("lsp-del", name)
    lab.lab("container-del", "vm1", name)
    return float(m.group(1)) - t0


def rtt_ms(lab: Lab, vm: str, dst: str, iface: str = "") -> float:
    args = ["ping", "-n", "-q", "-c", "100", "-i", "0.01", *(["-I", iface] if iface else []), dst]
    out = lab.run_in(vm, *args).stdout
    m = re.search(r"= [0-9.]+/([0-9.]+)/", out)
    if m is None or " 0% packet loss" not in out:
        raise RuntimeError(f"ping {vm} -> {dst}: {out}")
    return float(m.group(1))


def iperf_mbps(lab: Lab, vm: str, dst_vm: str, dst: str, seconds: int, iface: str = "") -> float:
    server = subprocess.Popen(
        ["ip", "netns", "exec", lab.ns(dst_vm), "iperf3", "-s", "-1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        bind = ["-B", lab.run_in(vm, "ip", "-4", "-o", "addr", "show", iface).stdout.split()[3]
                .split("/")[0]] if iface else []  # fmt: skip
        r = lab.run_in(vm, "iperf3", "-c", dst, "-t", str(seconds), "-J", *bind,
                       timeout=seconds + 30)  # fmt: skip
        data = json.loads(r.stdout)
        return float(data["end"]["sum_received"]["bits_per_second"]) / 1e6
    finally:
        server.kill()
        server.wait()


def rss_kb(lab: Lab, hv: str) -> int:
    pid = lab.controller_pid(hv)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def measure(impls: list[str], args: argparse.Namespace) -> list[Stack]:
    """Both stacks up side by side, each figure taken in turns (this machine's load
    drifts; interleaving keeps the comparison fair)."""
    stacks = [Stack(impl, f"192.168.{230 + i}") for i, impl in enumerate(impls)]
    try:
        for st in stacks:
            print(f"# {st.impl}: starting the lab", file=sys.stderr)
            st.lab.up()
            build(st.lab)
        await asyncio.sleep(1)
        for st in stacks:
            st.res["flows hv1"] = flow_count(st.lab, "hv1")
            st.res["flows hv2"] = flow_count(st.lab, "hv2")
            await st.nb.start()
            await st.vs.start()
        print(f"# port-up x{args.reps}, first ping x{args.reps} x2", file=sys.stderr)
        for i in range(args.reps):
            for st in stacks:
                st.add("port-up", await port_up(st))
            for st in stacks:
                st.add("first ping, same chassis", await first_ping(st, "vm4", 100 + i))
            for st in stacks:
                st.add("first ping, other chassis", await first_ping(st, "vm5", 150 + i))
        print("# RTT", file=sys.stderr)
        pairs = (
            ("vm-vm same chassis", "vm2", "192.168.0.16", ""),
            ("vm-vm other chassis", "vm2", "192.168.0.13", ""),
            ("container-vm same chassis", "vm1", "172.16.0.40", "c1"),
            ("container-vm other chassis", "vm1", "172.16.0.50", "c1"),
        )
        for _ in range(3):
            for label, vm, dst, iface in pairs:
                for st in stacks:
                    st.add(f"RTT ms {label}", rtt_ms(st.lab, vm, dst, iface))
        if shutil.which("iperf3") and args.iperf_seconds > 0:
            print("# iperf3", file=sys.stderr)
            sec = args.iperf_seconds
            flows = (
                ("vm-vm same chassis", "vm2", "vm6", "192.168.0.16", ""),
                ("vm-vm other chassis", "vm2", "vm3", "192.168.0.13", ""),
                ("container-vm other chassis", "vm1", "vm5", "172.16.0.50", "c1"),
            )
            for _ in range(2):
                for label, vm, dst_vm, dst, iface in flows:
                    for st in stacks:
                        mbps = iperf_mbps(st.lab, vm, dst_vm, dst, sec, iface)
                        st.add(f"TCP Mbit/s {label}", mbps)
        for st in stacks:
            st.res["controller RSS kB hv1"] = rss_kb(st.lab, "hv1")
    finally:
        for st in stacks:
            await st.nb.close()
            await st.vs.close()
            st.lab.down()
    return stacks


def fmt(v: Any) -> str:
    if isinstance(v, list):
        return f"{statistics.median(v):.3f} (max {max(v):.3f})"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def scalar(v: Any) -> float:
    return float(statistics.median(v)) if isinstance(v, list) else float(v)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--iperf-seconds", type=int, default=5, help="0: skip iperf3")
    p.add_argument("--only", choices=("pyovn", "ovn"))
    p.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    args = p.parse_args()
    why = ovs_unavailable()
    if why:
        print(f"bench/datapath.py: cannot run: {why}", file=sys.stderr)
        return 1
    impls = [args.only] if args.only else ["pyovn", "ovn"]
    results = {st.impl: st.res for st in asyncio.run(measure(impls, args))}
    keys = list(results[impls[0]])
    width = max(len(k) for k in keys) + 2
    print(f"{'figure':<{width}}" + "".join(f"{i:>24}" for i in impls)
          + ("   pyovn/ovn" if len(impls) == 2 else ""))  # fmt: skip
    for k in keys:
        row = f"{k:<{width}}" + "".join(f"{fmt(results[i].get(k, '-')):>24}" for i in impls)
        if len(impls) == 2 and k in results["ovn"] and scalar(results["ovn"][k]):
            row += f"   {scalar(results['pyovn'][k]) / scalar(results['ovn'][k]):9.2f}x"
        print(row)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
