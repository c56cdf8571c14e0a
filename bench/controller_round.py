"""CPU of one pyovn controller round (``Controller.round``), in this process.

pyovn ovsdb-servers (NB, SB, Open_vSwitch) and pyovn northd run as subprocesses; the
controller of chassis hv1 runs here with ``--datapath=ovs``'s backend, whose OpenFlow
connection is a stand-in that answers every barrier at once: each install still renders the
text of new flows (``flow_text``), diffs them against what is installed and encodes the
changed ones as an OpenFlow bundle (``ofwire.flow_mod``), only no switch reads the bytes.
This process plays ovs-vswitchd (it gives new interfaces an ofport) and chassis hv2 (a
registered chassis that claims the ports bound there).

Topology: S switches, P VM ports (even ones bound on hv1, odd ones on hv2), C container ports
(parent_name + tag) inside hv1's VMs. Then, R times each:

  local container   a container port inside hv1's vm0 is created: the round that binds it
                    ("create"), the rounds its own claim and up transactions' echoes cause
                    ("echo"); then it is deleted ("delete")
  remote container  a container inside hv2's vm1 is created, then hv2 claims it
  up only           another client sets up=false on vm0's binding: the controller's round
                    sets it back ("up rewrite"), then the round of that echo ("up echo")

Each round's CPU is taken with time.process_time around ``await ctl.round()`` (the replicas'
update handling between rounds is not in it); best and median of R. The rounds are driven
here (no ``Controller.run``), one after another, as the controller's loop would.

    python bench/controller_round.py                       # lab-sized and 200 ports
    python bench/controller_round.py --ports 200 --containers 20 --reps 20
    python bench/controller_round.py --profile create      # cProfile of those rounds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pyovn.controller.daemon import Controller  # noqa: E402
from pyovn.datapath import ofwire  # noqa: E402
from pyovn.datapath.flows import Flow  # noqa: E402
from pyovn.datapath.ovs import OvsBackend  # noqa: E402
from pyovn.ovsdb.client.client import OvsdbClient  # noqa: E402
from pyovn.ovsdb.client.replica import RowEvent  # noqa: E402
from pyovn.ovsdb.client.txn import Txn  # noqa: E402
from tests.support.servers import start_pyovn_server  # noqa: E402

PYOVN = [sys.executable, "-m", "pyovn.cli.main"]
QUIET = 0.25  # s without a wakeup: the controller is done


class BenchSwitch:
    """Stands in for ovs.SwitchConnection: takes the messages, confirms at once."""

    version = ofwire.OFP15_VERSION

    def __init__(self) -> None:
        self._xid = 0x1000
        self.n_bytes = 0

    def next_xid(self) -> int:
        self._xid += 1
        return self._xid

    async def transact(self, messages: list[bytes], timeout: float = 10.0) -> dict[int, str]:
        self.n_bytes += sum(len(m) for m in messages)
        return {}


class BenchBackend(OvsBackend):
    """OvsBackend without ovs-vswitchd: no ovs-ofctl, the OpenFlow connection a BenchSwitch."""

    async def start(self) -> None:
        await super().start()  # br-int
        self.close()  # no connection to a br-int.mgmt
        self._conn = BenchSwitch()  # type: ignore[assignment]

    async def _ofctl_tlv(self) -> None:
        self._tlv_done = True

    async def _replace_flows(self, lines: dict[str, Flow]) -> None:
        pass


@dataclass
class Figures:
    rounds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, label: str, cpu: float) -> None:
        self.rounds[label].append(cpu)


class Bench:
    def __init__(self, workdir: Path, n_switches: int, n_ports: int, n_containers: int) -> None:
        self.dir = workdir
        self.n_switches = n_switches
        self.n_ports = n_ports
        self.n_containers = n_containers
        self.servers: list[Any] = []
        self.northd: subprocess.Popen[bytes] | None = None
        self.changes: set[str] = set()
        self.profiler: cProfile.Profile | None = None
        self.profile_label: str | None = None
        self.n_ofport = 100

    # ------------------------------------------------------------ set-up
    async def start(self) -> None:
        nb = start_pyovn_server(self.dir, "nb", "nb")
        sb = start_pyovn_server(self.dir, "sb", "sb")
        conf = start_pyovn_server(self.dir, "vswitch", "conf")
        self.servers += [nb, sb, conf]
        with open(self.dir / "northd.stderr", "ab") as err:
            self.northd = subprocess.Popen(
                [*PYOVN, "northd", f"--ovnnb-db={nb.remote}", f"--ovnsb-db={sb.remote}"],
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=self.dir,
            )
        self.nb = OvsdbClient(nb.remote, "OVN_Northbound")
        self.nb.watch("NB_Global", ["nb_cfg"])
        self.nb.watch("Logical_Switch", ["name"])
        self.nb.watch("Logical_Switch_Port", ["name"])
        await self.nb.start()
        await self.nb.wait_for(lambda: bool(self.nb.rows("NB_Global")), timeout=60)
        ctl = Controller(sb.remote, conf.remote, "hv1", "127.0.0.1", hostname="hv1", datapath="ovs")
        backend = BenchBackend("hv1", "127.0.0.1", ctl.ovs, datapath_type="netdev")
        backend.on_resync = ctl._flows_changed
        ctl.backend = backend
        self.ctl = ctl
        ctl.sb.add_listener(self._record)
        ctl.ovs.add_listener(self._record)
        await ctl.start()
        await self._register_hv2()
        await self._topology()
        await self.settle()
        self.hv2 = ctl.sb.find_one("Chassis", name="hv2")
        gc.collect()
        gc.freeze()  # as the daemon after its first round

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.ctl.close()
        with contextlib.suppress(Exception):
            await self.nb.close()
        if self.northd is not None and self.northd.poll() is None:
            self.northd.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.northd.wait(10)
            if self.northd.poll() is None:
                self.northd.kill()
                self.northd.wait()
        for server in self.servers:
            server.kill(signal.SIGTERM)

    def _record(self, events: list[RowEvent]) -> None:
        for e in events:
            if e.old is None or e.new is None:
                self.changes.add(f"{e.table}{'+' if e.old is None else '-'}")
                continue
            for c in e.new:
                if e.old[c] != e.new[c]:
                    self.changes.add(f"{e.table}.{c}")

    async def _register_hv2(self) -> None:
        def build(txn: Txn) -> None:
            encap = txn.insert(
                "Encap",
                {"type": "geneve", "ip": "127.0.0.2", "chassis_name": "hv2",
                 "options": {"csum": "true"}},
            )  # fmt: skip
            txn.insert("Chassis", {"name": "hv2", "hostname": "hv2", "encaps": [encap]})

        await self.ctl.sb.transact(build)

    @staticmethod
    def vm_row(i: int) -> dict[str, Any]:
        addr = f"0a:00:00:00:{i >> 8:02x}:{i & 255:02x} 10.0.{i >> 8}.{(i & 255) + 2}"
        return {"name": f"vm{i}", "addresses": [addr], "port_security": [addr]}

    @staticmethod
    def container_row(name: str, i: int, parent: str, tag: int) -> dict[str, Any]:
        addr = f"0a:00:00:01:{i >> 8:02x}:{i & 255:02x} 10.1.{i >> 8}.{(i & 255) + 2}"
        return {
            "name": name,
            "addresses": [addr],
            "port_security": [addr],
            "parent_name": parent,
            "tag_request": tag,
        }

    async def _topology(self) -> None:
        s = self.n_switches
        local_vms = [i for i in range(self.n_ports) if i % 2 == 0]

        def build(txn: Txn) -> None:
            ports: list[list[Any]] = [[] for _ in range(s)]
            for i in range(self.n_ports):
                ports[i % s].append(txn.insert("Logical_Switch_Port", self.vm_row(i)))
            for j in range(self.n_containers):
                parent = f"vm{local_vms[j % len(local_vms)]}"
                row = self.container_row(f"c{j}", j, parent, 10 + j)
                ports[j % s].append(txn.insert("Logical_Switch_Port", row))
            for k in range(s):
                txn.insert("Logical_Switch", {"name": f"ls{k}", "ports": ports[k]})

        await self.nb.transact(build)
        total = self.n_ports + self.n_containers
        sb = self.ctl.sb
        await sb.wait_for(lambda: len(sb.rows("Port_Binding")) >= total, timeout=120)
        await self.settle()
        # hv1's VMs: interfaces (with their ofports, as ovs-vswitchd gives them)
        ovs = self.ctl.ovs

        def plug(txn: Txn) -> None:
            br = ovs.find_one("Bridge", name="br-int")
            assert br is not None
            new = []
            for i in local_vms:
                self.n_ofport += 1
                iface = txn.insert(
                    "Interface",
                    {"name": f"tap{i}", "ofport": [self.n_ofport],
                     "external_ids": {"iface-id": f"vm{i}"}},
                )  # fmt: skip
                new.append(txn.insert("Port", {"name": f"tap{i}", "interfaces": [iface]}))
            txn.mutate("Bridge", br.uuid, [("ports", "insert", new)])

        await ovs.transact(plug)
        # hv2's VMs: claimed by hv2
        await self.claim_for_hv2([f"vm{i}" for i in range(self.n_ports) if i % 2 == 1])
        await self.settle()

    async def claim_for_hv2(self, names: list[str]) -> None:
        sb = self.ctl.sb
        hv2 = sb.find_one("Chassis", name="hv2")
        assert hv2 is not None
        wanted = set(names)

        def build(txn: Txn) -> None:
            for pb in sb.rows("Port_Binding").values():
                if pb["logical_port"] in wanted:
                    txn.update("Port_Binding", pb.uuid, {"chassis": hv2.uuid, "up": True})

        await sb.transact(build)

    async def vswitchd(self) -> None:
        """Give an ofport to the interfaces that have none (the tunnel ports)."""
        ovs = self.ctl.ovs

        def build(txn: Txn) -> None:
            for row in ovs.rows("Interface").values():
                if row.one("ofport") is None and row["type"] != "internal":
                    self.n_ofport += 1
                    txn.update("Interface", row.uuid, {"ofport": [self.n_ofport]})

        await ovs.transact(build)

    # ------------------------------------------------------------ rounds
    async def settle(self, label: str | None = None, figures: Figures | None = None) -> list[Any]:
        """Run rounds until the controller stays idle for QUIET; the rounds' (changes, cpu)."""
        ctl = self.ctl
        out = []
        while True:
            try:
                await asyncio.wait_for(ctl.wakeup.wait(), QUIET)
            except TimeoutError:
                return out
            ctl.wakeup.clear()
            changes, self.changes = self.changes, set()
            prof = self.profiler if label is not None and label == self.profile_label else None
            t0 = time.process_time()
            if prof is not None:
                prof.enable()
            await ctl.round()
            if prof is not None:
                prof.disable()
            cpu = time.process_time() - t0
            out.append((changes, cpu))
            await self.vswitchd()

    async def quiet_sb(self, predicate: Callable[[], bool]) -> None:
        """Until ``predicate`` holds in the controller's SB replica and northd is done."""
        await self.ctl.sb.wait_for(predicate, timeout=60)
        await asyncio.sleep(0.15)

    def pb(self, name: str) -> Any:
        return self.ctl.sb.find_one("Port_Binding", logical_port=name)

    async def lsp_add(self, row: dict[str, Any], switch: str) -> None:
        def build(txn: Txn) -> None:
            port = txn.insert("Logical_Switch_Port", row)
            sw = self.nb.find_one("Logical_Switch", name=switch)
            assert sw is not None
            txn.mutate("Logical_Switch", sw.uuid, [("ports", "insert", [port])])

        await self.nb.transact(build)

    async def lsp_del(self, name: str, switch: str) -> None:
        def build(txn: Txn) -> None:
            port = self.nb.find_one("Logical_Switch_Port", name=name)
            sw = self.nb.find_one("Logical_Switch", name=switch)
            assert port is not None and sw is not None
            txn.mutate("Logical_Switch", sw.uuid, [("ports", "delete", [port.uuid])])

        await self.nb.transact(build)

    async def local_container(self, rep: int, fig: Figures) -> None:
        name = f"new{rep}"
        row = self.container_row(name, 1000 + rep, "vm0", 3000 + rep)
        await self.lsp_add(row, "ls0")
        await self.quiet_sb(lambda: self.pb(name) is not None and self.pb(name).one("tag"))
        rounds = await self.settle("create")
        assert rounds, "no round for the new port"
        assert name in self.ctl.bound, f"{name} not bound"
        fig.add("local container: create", rounds[0][1])
        for _, cpu in rounds[1:]:
            fig.add("local container: echo", cpu)
        fig.add("local container: rounds", float(len(rounds)))
        await self.lsp_del(name, "ls0")
        await self.quiet_sb(lambda: self.pb(name) is None)
        rounds = await self.settle("delete")
        fig.add("local container: delete", rounds[0][1] if rounds else 0.0)

    async def remote_container(self, rep: int, fig: Figures) -> None:
        name = f"rnew{rep}"
        row = self.container_row(name, 2000 + rep, "vm1", 3000 + rep)
        await self.lsp_add(row, "ls0")
        await self.quiet_sb(lambda: self.pb(name) is not None and self.pb(name).one("tag"))
        rounds = await self.settle("remote create")
        fig.add("remote container: create", rounds[0][1] if rounds else 0.0)
        await self.claim_for_hv2([name])
        await self.quiet_sb(lambda: self.pb(name).one("chassis") is not None)
        rounds = await self.settle("remote claim")
        fig.add("remote container: hv2 claims", rounds[0][1] if rounds else 0.0)
        await self.lsp_del(name, "ls0")
        await self.quiet_sb(lambda: self.pb(name) is None)
        await self.settle()

    async def up_only(self, fig: Figures) -> None:
        pb = self.pb("vm0")
        await self.ctl.sb.transact(lambda txn: txn.update("Port_Binding", pb.uuid, {"up": False}))
        await self.quiet_sb(lambda: self.pb("vm0").one("up") is False)
        rounds = await self.settle("up rewrite")
        assert self.pb("vm0").one("up") is True
        if rounds:
            fig.add("up only: rewrite up", rounds[0][1])
        for _, cpu in rounds[1:]:
            fig.add("up only: echo", cpu)


async def run(args: argparse.Namespace, n_ports: int, n_containers: int) -> Figures:
    workdir = Path(tempfile.mkdtemp(prefix="ctlround-"))
    bench = Bench(workdir, args.switches, n_ports, n_containers)
    fig = Figures()
    if args.profile:
        bench.profiler = cProfile.Profile()
        bench.profile_label = args.profile
    try:
        await bench.start()
        flows, lflows = bench.ctl.installed_flows, len(bench.ctl.sb.rows("Logical_Flow"))
        print(f"# {n_ports} VM ports, {n_containers} containers: {flows} flows, "
              f"{lflows} logical flows", file=sys.stderr)  # fmt: skip
        for rep in range(args.reps):
            await bench.local_container(rep, fig)
            await bench.remote_container(rep, fig)
            await bench.up_only(fig)
    finally:
        await bench.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if bench.profiler is not None:
        stats = pstats.Stats(bench.profiler)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
    return fig


def report(title: str, fig: Figures) -> None:
    print(f"\n{title}")
    print(f"{'round':<34}{'n':>5}{'best ms':>10}{'median ms':>11}")
    for label, values in fig.rounds.items():
        if label.endswith("rounds"):
            print(
                f"{label:<34}{len(values):>5}{min(values):>10.0f}{statistics.median(values):>11.1f}"
            )
            continue
        ms = [v * 1e3 for v in values]
        print(f"{label:<34}{len(ms):>5}{min(ms):>10.3f}{statistics.median(ms):>11.3f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--ports", type=int, action="append", help="VM ports (default: 10 and 200)")
    p.add_argument("--containers", type=int, help="container ports (default: ports / 5)")
    p.add_argument("--switches", type=int, default=2)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument(
        "--profile",
        choices=("create", "delete", "remote create", "remote claim", "up rewrite"),
        help="cProfile the rounds of that step (all of its rounds)",
    )
    args = p.parse_args()
    for n in args.ports or [10, 200]:
        c = args.containers if args.containers is not None else max(2, n // 5)
        fig = asyncio.run(run(args, n, c))
        report(f"controller rounds, CPU (process_time): {n} VM ports, {c} containers", fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
