"""pyovn controller beside ovn-controller 23.03: port-up latency and full-compile scale.

Stacks (each its own processes, one after the other on this machine):

  pyovn-sim  pyovn ovsdb-server (NB, SB, Open_vSwitch) + pyovn northd + pyovn controller
             --datapath=sim (the built-in switch: no Open vSwitch)
  pyovn-ovs  pyovn ovsdb-server (NB, SB) + pyovn northd + pyovn controller --datapath=ovs,
             on Debian's ovsdb-server + ovs-vswitchd started with --enable-dummy=override
             (the userspace datapath with dummy ports: no kernel devices, no root needed)
  ovn        Debian ovsdb-server (NB, SB) + ovn-northd + ovn-controller, on the same
             dummy-port ovs-vswitchd

Part 1, port-up: N ports (default 100) exist in NB and as Interfaces on br-int without an
iface-id; one at a time, iface-id is written on the Interface and the time until NB
Logical_Switch_Port.up = true is taken by clients connected beforehand. Median and p99.

Part 2, scale: 2,000 ports in NB (20 switches, "MAC IP" addresses and port security: some
10,000 logical flows from pyovn northd), 1,000 of them bound on one chassis. For each
stack: how many logical flows northd wrote, the time from starting
the controller until all 1,000 ports are up in NB, the controller's RSS after that, and its
OpenFlow flow count. For pyovn, also the controller's full compile in this process: every
logical flow of the Southbound database compiled for every local datapath with a cold
cache (``LflowCache.flows``), plus the physical flows of the 1,000 ports, and the same
again with a warm cache (what a round costs when nothing changed).

    python bench/controller_scale.py                  # all stacks, 100 ports, 1,000 at scale
    python bench/controller_scale.py --only pyovn-sim --ports 100 --scale-ports 1000
    python bench/controller_scale.py --profile DIR    # cProfile the pyovn controller (part 2)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pyovn.controller.flows import LflowCache  # noqa: E402
from pyovn.controller.lflow import parsed_actions, parsed_match  # noqa: E402
from pyovn.controller.physical import LocalPort, PhysicalState, physical_flows  # noqa: E402
from pyovn.logical.template import clear_templates  # noqa: E402
from pyovn.ovsdb.client.client import OvsdbClient  # noqa: E402
from pyovn.ovsdb.client.txn import Txn  # noqa: E402
from tests.support.servers import start_pyovn_server, start_real_server  # noqa: E402

VSS = "/usr/share/openvswitch/vswitch.ovsschema"
PYOVN = [sys.executable, "-m", "pyovn.cli.main"]
STACKS = ("pyovn-sim", "pyovn-ovs", "ovn")


def mem_kb(pid: int) -> tuple[int, int]:
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


def port_row(i: int) -> dict[str, Any]:
    s, j = i % 20, i // 20
    addr = f"0a:{s:02x}:00:00:{j >> 8:02x}:{j & 255:02x} 10.{s}.{j >> 8}.{(j & 255) + 2}"
    return {"name": f"lp{i}", "addresses": [addr], "port_security": [addr]}


class Stack:
    """The processes of one stack in ``workdir``; ``stop`` ends them all (by pid)."""

    def __init__(self, kind: str, workdir: Path, profile: Path | None = None) -> None:
        self.kind = kind
        self.dir = workdir
        self.profile = profile
        self.procs: list[subprocess.Popen[bytes]] = []
        self.servers: list[Any] = []
        self.controller: subprocess.Popen[bytes] | None = None
        self.env = {**os.environ, "OVS_RUNDIR": str(workdir), "OVS_LOGDIR": str(workdir),
                    "OVN_RUNDIR": str(workdir), "OVS_DBDIR": str(workdir)}  # fmt: skip
        self.vswitchd = False

    # ---------------------------------------------------------------- start / stop
    def _spawn(self, cmd: list[str], name: str) -> subprocess.Popen[bytes]:
        with open(self.dir / f"{name}.stderr", "ab") as err:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=self.dir, env=self.env
            )
        self.procs.append(proc)
        return proc

    def start_central(self) -> None:
        if self.kind == "ovn":
            nb = start_real_server(self.dir, "nb", "nb")
            sb = start_real_server(self.dir, "sb", "sb")
        else:
            nb = start_pyovn_server(self.dir, "nb", "nb")
            sb = start_pyovn_server(self.dir, "sb", "sb")
        self.servers += [nb, sb]
        self.nb, self.sb = nb.remote, sb.remote
        if self.kind == "ovn":
            d = self.dir
            cmd = ["ovn-northd", "--no-chdir", f"--ovnnb-db={self.nb}", f"--ovnsb-db={self.sb}",
                   f"--unixctl={d}/northd.ctl", f"--log-file={d}/northd.log"]  # fmt: skip
        else:
            cmd = [*PYOVN, "northd", f"--ovnnb-db={self.nb}", f"--ovnsb-db={self.sb}"]
        self._spawn(cmd, "northd")

    def start_switch(self) -> None:
        """The Open_vSwitch database (and, but for pyovn-sim, a dummy-port ovs-vswitchd)."""
        if self.kind == "pyovn-sim":
            conf = start_pyovn_server(self.dir, "vswitch", "conf")
            self.servers.append(conf)
            self.conf = conf.remote
            return
        subprocess.run(["ovsdb-tool", "create", str(self.dir / "conf.db"), VSS], check=True)
        sock = self.dir / "conf.sock"
        db = str(self.dir / "conf.db")
        self._spawn(["ovsdb-server", "--no-chdir", f"--remote=punix:{sock}",
                     f"--unixctl={self.dir}/conf.ctl", db], "conf")  # fmt: skip
        _wait(sock.exists, 30, "the Open_vSwitch database")
        self.conf = f"unix:{sock}"
        self.vsctl("--no-wait", "init")
        self._spawn(["ovs-vswitchd", f"unix:{sock}", "--no-chdir", "--enable-dummy=override",
                     f"--unixctl={self.dir}/vswitchd.ctl",
                     f"--log-file={self.dir}/vswitchd.log"], "vswitchd")  # fmt: skip
        self.vswitchd = True
        _wait((self.dir / "vswitchd.ctl").exists, 30, "ovs-vswitchd")

    def start_controller(self) -> None:
        if self.kind == "ovn":
            self.vsctl("set", "Open_vSwitch", ".", "external_ids:system-id=hv1",
                       f"external_ids:ovn-remote={self.sb}", "external_ids:ovn-encap-type=geneve",
                       "external_ids:ovn-encap-ip=127.0.0.1",
                       "external_ids:ovn-bridge-datapath-type=netdev")  # fmt: skip
            cmd = ["ovn-controller", self.conf, "--no-chdir",
                   f"--log-file={self.dir}/controller.log"]  # fmt: skip
        else:
            cmd = [sys.executable]
            if self.profile is not None:
                cmd += ["-m", "cProfile", "-o", str(self.profile)]
            datapath = self.kind.split("-")[1]
            cmd += ["-m", "pyovn.cli.main", "controller", f"--ovnsb-db={self.sb}",
                    f"--ovs-db={self.conf}", "--chassis=hv1", "--encap-ip=127.0.0.1",
                    f"--datapath={datapath}", f"--unixctl={self.dir}/ctl.ctl"]  # fmt: skip
        self.controller = self._spawn(cmd, "controller")

    def stop_controller(self) -> None:
        proc = self.controller
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT if self.profile else signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.controller = None

    def stop(self) -> None:
        self.stop_controller()
        if self.vswitchd:
            ctl = str(self.dir / "vswitchd.ctl")
            subprocess.run(["ovs-appctl", "-t", ctl, "exit", "--cleanup"],
                           capture_output=True, timeout=30, env=self.env)  # fmt: skip
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        for server in self.servers:
            server.kill(signal.SIGTERM)

    def vsctl(self, *args: str) -> str:
        return subprocess.run(
            ["ovs-vsctl", f"--db={self.conf}", "--timeout=120", *args],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip

    def of_flows(self) -> int:
        if self.kind == "pyovn-sim":
            out = subprocess.run([*PYOVN, "appctl", "-t", f"{self.dir}/ctl.ctl", "status"],
                                 capture_output=True, text=True).stdout  # fmt: skip
            line = next((x for x in out.splitlines() if x.startswith("flows:")), "flows: 0")
            return int(line.split()[1])
        out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow15", "dump-flows", "br-int"],
                             capture_output=True, text=True, env=self.env).stdout  # fmt: skip
        return sum("actions=" in x for x in out.splitlines())


def _wait(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


# -------------------------------------------------------------------- NB and interfaces
async def load_nb(st: Stack, n: int) -> tuple[OvsdbClient, OvsdbClient]:
    nb = OvsdbClient(st.nb, "OVN_Northbound")
    for t in ("NB_Global", "Logical_Switch", "Logical_Switch_Port"):
        nb.watch(t)
    sb = OvsdbClient(st.sb, "OVN_Southbound")
    sb.watch("Port_Binding")
    sb.watch("Logical_Flow", columns=["match"])
    await nb.start()
    await sb.start()

    await nb.wait_for(lambda: bool(nb.rows("NB_Global")), timeout=60)  # northd makes it

    def build(txn: Txn) -> None:
        ports: list[list[Any]] = [[] for _ in range(20)]
        for i in range(n):
            ports[i % 20].append(txn.insert("Logical_Switch_Port", port_row(i)))
        for s in range(20):
            txn.insert("Logical_Switch", {"name": f"ls{s}", "ports": ports[s]})

    await nb.transact(build)
    await sb.wait_for(lambda: len(sb.rows("Port_Binding")) >= n, timeout=600)
    # northd is done once the flow count stops moving
    last, stable = -1, 0
    while stable < 5:
        await asyncio.sleep(0.2)
        count = len(sb.rows("Logical_Flow"))
        stable = stable + 1 if count == last else 0
        last = count
    return nb, sb


async def add_interfaces(st: Stack, n: int, with_ids: bool) -> OvsdbClient:
    """n interfaces p0.. on br-int (dummy ports), iface-id lpI when ``with_ids``."""
    vs = OvsdbClient(st.conf, "Open_vSwitch")
    for t in ("Open_vSwitch", "Bridge", "Port", "Interface"):
        vs.watch(t)
    await vs.start()
    if st.kind != "pyovn-sim":
        await vs.wait_for(lambda: vs.find_one("Bridge", name="br-int") is not None, timeout=60)

    def build(txn: Txn) -> None:
        br = vs.find_one("Bridge", name="br-int")
        if br is None:
            root = next(iter(vs.rows("Open_vSwitch").values()), None)
            br_uuid = txn.insert("Bridge", {"name": "br-int", "fail_mode": "secure"})
            if root is None:
                txn.insert("Open_vSwitch", {"bridges": [br_uuid]})
            else:
                txn.mutate("Open_vSwitch", root.uuid, [("bridges", "insert", [br_uuid])])
        else:
            br_uuid = br.uuid
        ports = []
        for i in range(n):
            ids = {"iface-id": f"lp{i}"} if with_ids else {}
            iface = txn.insert("Interface", {"name": f"p{i}", "external_ids": ids})
            ports.append(txn.insert("Port", {"name": f"p{i}", "interfaces": [iface]}))
        txn.mutate("Bridge", br_uuid, [("ports", "insert", ports)])

    await vs.transact(build)
    return vs


def up_count(nb: OvsdbClient) -> int:
    return sum(1 for r in nb.rows("Logical_Switch_Port").values() if r.one("up") is True)


# -------------------------------------------------------------------- part 1: port-up
async def port_up(kind: str, n: int, profile: Path | None = None) -> dict[str, Any]:
    st = Stack(kind, Path(tempfile.mkdtemp(prefix=f"ctlscale-{kind}-")), profile)
    try:
        st.start_central()
        nb, sb = await load_nb(st, n)
        st.start_switch()
        st.start_controller()
        vs = await add_interfaces(st, n, with_ids=False)
        # every interface has its OpenFlow port before the clock starts
        await vs.wait_for(
            lambda: all(
                isinstance(r.one("ofport"), int) and r.one("ofport") > 0
                for r in vs.rows("Interface").values()
                if r["name"].startswith("p")
            ),
            timeout=120,
        )
        await asyncio.sleep(1)
        lat = []
        for i in range(n):
            iface = vs.find_one("Interface", name=f"p{i}")
            assert iface is not None
            name = f"lp{i}"
            ids = {"iface-id": name}
            t0 = time.perf_counter()
            await vs.transact(
                lambda t, u=iface.uuid, ids=ids: t.mutate(
                    "Interface", u, [("external_ids", "insert", ids)]
                )
            )
            await nb.wait_for(
                lambda name=name: (
                    (r := nb.find_one("Logical_Switch_Port", name=name)) is not None
                    and r.one("up") is True
                ),
                timeout=60,
            )
            lat.append(time.perf_counter() - t0)
        for c in (nb, sb, vs):
            await c.close()
        lat.sort()
        return {
            "port-up median ms": statistics.median(lat) * 1e3,
            "port-up p99 ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3,
            "port-up max ms": lat[-1] * 1e3,
        }
    finally:
        st.stop()
        shutil.rmtree(st.dir, ignore_errors=True)


# -------------------------------------------------------------------- part 2: scale
def compile_in_process(sb: OvsdbClient, n_ports: int) -> dict[str, Any]:
    """What a pyovn controller's full compile costs: every lflow for every datapath."""
    dps = sb.rows("Datapath_Binding")
    pbs = sb.rows("Port_Binding")
    port_maps: dict[int, dict[str, int]] = {}
    for pb in pbs.values():
        dp = dps.get(pb["datapath"])
        if dp is not None:
            port_maps.setdefault(dp["tunnel_key"], {})[pb["logical_port"]] = pb["tunnel_key"]
    for mc in sb.rows("Multicast_Group").values():
        dp = dps.get(mc["datapath"])
        if dp is not None:
            port_maps.setdefault(dp["tunnel_key"], {})[mc["name"]] = mc["tunnel_key"]
    groups = sb.rows("Logical_DP_Group")
    rows, dp_of = [], {}
    for row in sb.rows("Logical_Flow").values():
        dp = row.one("logical_datapath")
        targets = [dp] if dp is not None else []
        group = row.one("logical_dp_group")
        if group is not None and group in groups:
            targets = list(groups[group]["datapaths"])
        keys = [dps[t]["tunnel_key"] for t in targets if t in dps]
        if keys:
            dp_of[row.uuid] = keys
            rows.append(row)
    parsed_match.cache_clear()
    parsed_actions.cache_clear()
    clear_templates()  # cold: no parse-once template of a per-port flow either
    cache = LflowCache()
    t0 = time.perf_counter()
    flows = cache.flows(rows, dp_of, port_maps)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    LflowCache().flows(rows, dp_of, port_maps)
    reparse = time.perf_counter() - t0
    t0 = time.perf_counter()
    cache.flows(rows, dp_of, port_maps)
    warm = time.perf_counter() - t0
    bound = {f"lp{i}" for i in range(n_ports)}
    local = [
        LocalPort(pb["logical_port"], dps[pb["datapath"]]["tunnel_key"], pb["tunnel_key"], i + 1)
        for i, pb in enumerate(pbs.values())
        if pb["datapath"] in dps and pb["logical_port"] in bound
    ]
    t0 = time.perf_counter()
    phys = physical_flows(PhysicalState(local=local))
    phys_s = time.perf_counter() - t0
    return {
        "compile: logical flows (row x datapath)": sum(len(v) for v in dp_of.values()),
        "compile: cold (nothing cached), s": cold,
        "compile: again, matches/actions parsed, s": reparse,
        "compile: warm (no change), s": warm,
        "compile: OpenFlow-level flows from lflows": len(flows),
        "compile: failed lflows": len(cache.stats.failed),
        f"compile: physical flows for {len(local)} ports, s": phys_s,
        "compile: physical flows": len(phys),
    }


async def scale(kind: str, n_nb: int, n: int, profile: Path | None) -> dict[str, Any]:
    """``n_nb`` ports in NB (enough for some 10,000 logical flows), ``n`` bound here."""
    st = Stack(kind, Path(tempfile.mkdtemp(prefix=f"ctlscale-{kind}-")), profile)
    out: dict[str, Any] = {}
    try:
        st.start_central()
        nb, sb = await load_nb(st, n_nb)
        out["SB logical flows"] = len(sb.rows("Logical_Flow"))
        if kind.startswith("pyovn"):
            full = OvsdbClient(st.sb, "OVN_Southbound")
            for t in ("Datapath_Binding", "Port_Binding", "Multicast_Group", "Logical_Flow",
                      "Logical_DP_Group"):  # fmt: skip
                full.watch(t)
            await full.start()
            out.update(compile_in_process(full, n))
            await full.close()
        st.start_switch()
        vs = await add_interfaces(st, n, with_ids=True) if kind == "pyovn-sim" else None
        t0 = time.perf_counter()
        st.start_controller()
        if vs is None:
            vs = await add_interfaces(st, n, with_ids=True)
        await nb.wait_for(lambda: up_count(nb) >= n, timeout=1800)
        # (the ports beyond n stay down: no interface)
        out[f"controller start -> {n} ports up, s"] = time.perf_counter() - t0
        await asyncio.sleep(2)
        assert st.controller is not None
        rss, hwm = mem_kb(st.controller.pid)
        out["controller RSS MB"] = rss / 1024
        out["controller peak RSS MB"] = hwm / 1024
        out["controller OpenFlow flows"] = st.of_flows()
        for c in (nb, sb, vs):
            await c.close()
    finally:
        st.stop()
        shutil.rmtree(st.dir, ignore_errors=True)
    return out


# -------------------------------------------------------------------- report
def fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if v < 100 else f"{v:.0f}"
    return str(v)


def table(title: str, results: dict[str, dict[str, Any]]) -> None:
    kinds = list(results)
    keys: list[str] = []
    for r in results.values():
        keys += [k for k in r if k not in keys]
    width = max(len(k) for k in keys) + 2
    print(f"\n{title}")
    ratios = [k for k in kinds if k != "ovn" and "ovn" in kinds]
    head = f"{'':<{width}}" + "".join(f"{k:>14}" for k in kinds)
    print(head + "".join(f"{k + '/ovn':>16}" for k in ratios))
    for key in keys:
        row = f"{key:<{width}}" + "".join(f"{fmt(results[k].get(key, '-')):>14}" for k in kinds)
        base = results.get("ovn", {}).get(key)
        for k in kinds:
            if k == "ovn" or "ovn" not in kinds:
                continue
            v = results[k].get(key)
            ok = isinstance(v, (int, float)) and isinstance(base, (int, float)) and base
            row += f"{(v / base if ok else float('nan')):>15.2f}x" if ok else f"{'-':>16}"
        print(row)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--ports", type=int, default=100, help="part 1: ports brought up one by one")
    p.add_argument("--scale-ports", type=int, default=1000, help="part 2: ports on the chassis")
    p.add_argument("--nb-ports", type=int, default=2000, help="part 2: ports in NB")
    p.add_argument("--only", choices=STACKS, action="append")
    p.add_argument("--skip", choices=("port-up", "scale"))
    p.add_argument("--profile", type=Path, metavar="DIR", help="cProfile pyovn's controller")
    args = p.parse_args()
    kinds = args.only or list(STACKS)
    if any(k != "pyovn-sim" for k in kinds) and shutil.which("ovs-vswitchd") is None:
        kinds = [k for k in kinds if k == "pyovn-sim"]
        print("# ovs-vswitchd is not installed: pyovn-sim only", file=sys.stderr)
    if args.skip != "port-up":
        res = {}
        for k in kinds:
            print(f"# port-up: {k}, {args.ports} ports", file=sys.stderr)
            prof = None
            if args.profile and k.startswith("pyovn"):
                args.profile.mkdir(parents=True, exist_ok=True)
                prof = args.profile / f"controller-port-up-{k}.pstats"
            res[k] = asyncio.run(port_up(k, args.ports, prof))
        table(f"port-up latency, {args.ports} ports one at a time (iface-id -> NB up)", res)
    if args.skip != "scale":
        res = {}
        for k in kinds:
            print(f"# scale: {k}, {args.scale_ports} ports", file=sys.stderr)
            prof = None
            if args.profile and k.startswith("pyovn"):
                args.profile.mkdir(parents=True, exist_ok=True)
                prof = args.profile / f"controller-{k}.pstats"
            res[k] = asyncio.run(scale(k, args.nb_ports, args.scale_ports, prof))
        title = f"scale: {args.nb_ports} ports in NB, {args.scale_ports} bound on one chassis"
        table(title, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
