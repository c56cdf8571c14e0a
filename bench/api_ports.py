"""Port creation through pyovn's networking API, beside the same NB writes made directly.

Workload: 1,000 ports on one network (a /20 subnet): 10 VM ports, 890 other ports and 100
container ports, 10 inside each VM (binding:profile parent_name + tag "auto"), created by
--clients concurrent clients. Then a VIF is plugged for every port that is not a container
(add_vif on the two simulated chassis, alternately) and the clock runs until every port is
ACTIVE (the API) or Logical_Switch_Port.up (direct): the chassis bind the VIFs, the
containers follow their VM, northd reports up.

  api     `pyovn api` (SQLite) as a process; aiohttp clients POST /v2.0/ports
  direct  pyovn's OVSDB client library: one NB transaction per port (the rows the API
          would write: translate.port_to_lsp), the floor for what the API adds
  nbctl   Debian's ovn-nbctl, a process per port (lsp-add + lsp-set-addresses +
          lsp-set-port-security in one transaction), when installed

Each path gets a fresh `pyovn sandbox --chassis 2` process (NB, SB, northd, 2 chassis).

    python bench/api_ports.py [-n 1000] [--clients 10] [--repeat 3] [--no-nbctl]
                              [--only api|direct|nbctl] [--profile FILE (py-spy)]
                              [--baseline DIR (an older pyovn, e.g. git archive HEAD)]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from pyovn.api import translate
from pyovn.controller.vswitch import add_vif, vswitch_client
from pyovn.ovsdb.client.client import OvsdbClient

CIDR = "10.0.0.0/20"
N_VMS = 10
CHILDREN_PER_VM = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SandboxProcess:
    def __init__(self, rundir: Path) -> None:
        self.rundir = rundir
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def nb_remote(self) -> str:
        return f"unix:{self.rundir / 'nb.sock'}"

    def ovs_remote(self, i: int) -> str:
        return f"unix:{self.rundir / f'hv{i + 1}' / 'db.sock'}"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pyovn.cli.main", "sandbox", "--chassis", "2",
            "--rundir", str(self.rundir),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert self.proc.stdout is not None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
            if not line:
                raise RuntimeError("pyovn sandbox exited")
            if b"Try:" in line:
                break
        # keep draining its stdout so that it never blocks on a full pipe
        self._drain = asyncio.ensure_future(self.proc.stdout.read())

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class ApiProcess:
    """`pyovn api` on a free port; ``code``: a directory holding another copy of the pyovn
    package to run instead (for before/after comparisons)."""

    def __init__(self, rundir: Path, nb_remote: str, code: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.rundir = rundir
        self.nb_remote = nb_remote
        self.code = code
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, session: aiohttp.ClientSession) -> None:
        env = dict(os.environ)
        if self.code:
            env["PYTHONPATH"] = self.code
        with open(self.rundir / "api.stderr", "wb") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "pyovn.cli.main", "api", f"--ovnnb-db={self.nb_remote}",
                f"--database-url=sqlite:///{self.rundir / 'api.db'}",
                f"--listen=127.0.0.1:{self.port}", "--sync-interval=0", "-v",
                stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=self.code or None,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(self.url + "/") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError("pyovn api did not start")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 60)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def nb_transactions(self) -> int | None:
        """How many NB transactions carried the API's writes (from its log at exit; None
        from an API that does not log it)."""
        path = self.rundir / "api.stderr"
        found = re.findall(r"NB: \d+ writes in (\d+) transactions", path.read_text())
        return int(found[-1]) if found else None


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of a process so far: ``pid``, or this one."""
    if pid is None:
        return time.process_time()
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used by this process, the sandbox and the API during a phase."""

    def __init__(self, **pids: int | None) -> None:
        self.pids = pids
        self.start = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def used(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) - self.start[name] for name, pid in self.pids.items()}


async def run_pool(jobs: list[Callable[[], Awaitable[Any]]], clients: int) -> list[Any]:
    """Run ``jobs`` with ``clients`` concurrent workers; results in job order."""
    results: list[Any] = [None] * len(jobs)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(jobs)):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            results[i] = await jobs[i]()

    await asyncio.gather(*(worker() for _ in range(clients)))
    return results


def workload(n: int) -> list[tuple[str, int | None]]:
    """(kind, VM index) of each port after the VMs: "plain", or "child" of a VM; the
    containers are spread evenly among the others and round-robin over the VMs."""
    rest = n - N_VMS
    children = N_VMS * CHILDREN_PER_VM
    step = rest // children
    out: list[tuple[str, int | None]] = []
    made = 0
    for i in range(rest):
        if i % step == 0 and made < children:
            out.append(("child", made % N_VMS))
            made += 1
        else:
            out.append(("plain", None))
    return out


def address(i: int) -> tuple[str, str]:
    """A MAC and an IP address of the subnet for port ``i`` (direct paths)."""
    return f"fa:16:3e:00:{i >> 8 & 255:02x}:{i & 255:02x}", str(ipaddress.ip_network(CIDR)[i + 2])


async def plug_all(sandbox: SandboxProcess, port_ids: list[str], clients: int) -> None:
    ovs = [vswitch_client(sandbox.ovs_remote(i)) for i in range(2)]
    for c in ovs:
        await c.start()
    try:
        jobs = [
            (lambda i=i, p=p: add_vif(ovs[i % 2], f"vif{i}", p)) for i, p in enumerate(port_ids)
        ]
        # the first VIF on each chassis creates br-int: one at a time (add_vif would make
        # two bridges if they raced), then all the others concurrently
        for job in jobs[:2]:
            await job()
        await run_pool(jobs[2:], clients)
    finally:
        for c in ovs:
            await c.close()


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("not all ports came up")
        await asyncio.sleep(0.25)


# ---------------------------------------------------------------------- the API path


async def bench_api(
    n: int, clients: int, workdir: Path, profile: str | None, code: str | None = None
) -> dict[str, float]:
    sandbox = SandboxProcess(workdir / "run")
    await sandbox.start()
    conn = aiohttp.TCPConnector(limit=clients * 2)
    async with aiohttp.ClientSession(connector=conn) as session:
        api = ApiProcess(sandbox.rundir, sandbox.nb_remote, code)
        try:
            await api.start(session)

            async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
                async with session.post(api.url + path, json=body) as resp:
                    out = await resp.json()
                    assert resp.status == 201, out
                    return dict(out)

            net = (await post("/v2.0/networks", {"network": {"name": "bench"}}))["network"]
            await post("/v2.0/subnets", {"subnet": {"network_id": net["id"], "cidr": CIDR}})
            assert sandbox.proc is not None and api.proc is not None
            meter = CpuMeter(client=None, sandbox=sandbox.proc.pid, api=api.proc.pid)
            spy = None
            if profile:  # sample the API process while it creates the ports
                spy = await asyncio.create_subprocess_exec(
                    "py-spy", "record", "-p", str(api.proc.pid), "-r", "200", "-f", "raw",
                    "-o", profile, "--nonblocking", "--threads",
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                await asyncio.sleep(1)
            start = time.perf_counter()

            async def create(body: dict[str, Any]) -> dict[str, Any]:
                return dict((await post("/v2.0/ports", {"port": body}))["port"])

            vm_bodies = [{"network_id": net["id"], "name": f"vm{i}"} for i in range(N_VMS)]
            vms = await run_pool([lambda b=b: create(b) for b in vm_bodies], clients)
            bodies = []
            for i, (kind, vm) in enumerate(workload(n)):
                body: dict[str, Any] = {"network_id": net["id"], "name": f"p{i}"}
                if kind == "child":
                    assert vm is not None
                    body["binding:profile"] = {"parent_name": vms[vm]["id"], "tag": "auto"}
                bodies.append(body)
            rest = await run_pool([lambda b=b: create(b) for b in bodies], clients)
            created = time.perf_counter() - start
            cpu = meter.used()
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
                await spy.wait()
            ports = vms + rest
            assert len(ports) == n
            tags = [p["binding:profile"]["tag"] for p in ports if p["binding:profile"]]
            assert len(tags) == N_VMS * CHILDREN_PER_VM
            plain = [p["id"] for p in ports if not p["binding:profile"]]

            plug_start = time.perf_counter()
            await plug_all(sandbox, plain, clients)
            plugged = time.perf_counter() - plug_start

            async def all_active() -> bool:
                url = api.url + "/v2.0/ports?status=ACTIVE&fields=id"
                async with session.get(url) as resp:
                    return len((await resp.json())["ports"]) == n

            await wait_until(all_active)
            active = time.perf_counter() - plug_start
        finally:
            await api.stop()
            await sandbox.stop()
    out = {"create_s": created, "plug_s": plugged, "active_s": active, **_cpu(cpu)}
    txns = api.nb_transactions()
    if txns is not None:
        out["nb_txns"] = txns
    return out


def _cpu(used: dict[str, float]) -> dict[str, float]:
    return {f"cpu_{name}": value for name, value in used.items()}


# ---------------------------------------------------------------------- the direct path


async def bench_direct(n: int, clients: int, workdir: Path) -> dict[str, float]:
    sandbox = SandboxProcess(workdir / "run")
    await sandbox.start()
    nb = OvsdbClient(sandbox.nb_remote, "OVN_Northbound")
    for table in ("Logical_Switch", "Logical_Switch_Port"):
        nb.watch(table)
    await nb.start()
    try:
        net = {"id": "bench", "name": "bench", "mtu": 1442, "revision_number": 1}
        await nb.transact(lambda txn: txn.insert("Logical_Switch", translate.network_to_ls(net)))
        ls_name = translate.ls_name("bench")

        def port(i: int, name: str, parent: str | None, tag: int | None) -> dict[str, Any]:
            mac, ip = address(i)
            return {
                "id": name, "name": name, "network_id": "bench", "mac_address": mac,
                "fixed_ips": [{"subnet_id": "s", "ip_address": ip}],
                "port_security_enabled": True, "admin_state_up": True, "device_id": "",
                "device_owner": "", "project_id": "p", "security_groups": [],
                "binding:host_id": "", "revision_number": 1,
                "binding:profile": {"parent_name": parent, "tag": tag} if parent else {},
            }  # fmt: skip

        def insert(p: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
            want = translate.port_to_lsp(p, {"s": CIDR})

            def build(txn: Any) -> None:  # what NbWriter.put_port sends for a new port
                ls = nb.find_one("Logical_Switch", name=ls_name)
                txn.verify_absent("Logical_Switch_Port", [["name", "==", p["id"]]])
                new = txn.insert("Logical_Switch_Port", want)
                txn.mutate("Logical_Switch", ls.uuid, [("ports", "insert", [new])])

            return lambda: nb.transact(build)

        assert sandbox.proc is not None
        meter = CpuMeter(client=None, sandbox=sandbox.proc.pid)
        start = time.perf_counter()
        vms = [port(i, f"vm{i}", None, None) for i in range(N_VMS)]
        await run_pool([insert(p) for p in vms], clients)
        tags = [0] * N_VMS
        rest = []
        for i, (kind, vm) in enumerate(workload(n)):
            if kind == "child":
                assert vm is not None
                tags[vm] += 1
                rest.append(port(N_VMS + i, f"p{i}", vms[vm]["id"], tags[vm]))
            else:
                rest.append(port(N_VMS + i, f"p{i}", None, None))
        await run_pool([insert(p) for p in rest], clients)
        created = time.perf_counter() - start
        cpu = meter.used()
        names = [p["id"] for p in vms + rest]
        plain = [p["id"] for p in vms + rest if not p["binding:profile"]]

        plug_start = time.perf_counter()
        await plug_all(sandbox, plain, clients)
        plugged = time.perf_counter() - plug_start

        def all_up() -> bool:
            rows = nb.rows("Logical_Switch_Port").values()
            return sum(1 for r in rows if r.one("up") is True) == len(names)

        async def check() -> bool:
            return all_up()

        await wait_until(check)
        active = time.perf_counter() - plug_start
    finally:
        await nb.close()
        await sandbox.stop()
    return {
        "create_s": created, "plug_s": plugged, "active_s": active, **_cpu(cpu),
        "nb_txns": n + 1,  # the switch, then a transaction per port
    }  # fmt: skip


# ---------------------------------------------------------------------- ovn-nbctl


async def bench_nbctl(n: int, clients: int, workdir: Path) -> dict[str, float]:
    sandbox = SandboxProcess(workdir / "run")
    await sandbox.start()
    db = f"--db={sandbox.nb_remote}"

    async def nbctl(*args: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            "ovn-nbctl", db, *args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()

    try:
        await nbctl("ls-add", "bench")

        def add(i: int, name: str, parent: str | None) -> Callable[[], Awaitable[Any]]:
            addr = " ".join(address(i))
            extra = [parent, "0"] if parent else []
            return lambda: nbctl(
                "lsp-add", "bench", name, *extra,
                "--", "lsp-set-addresses", name, addr,
                "--", "lsp-set-port-security", name, addr,
            )  # fmt: skip

        start = time.perf_counter()
        await run_pool([add(i, f"vm{i}", None) for i in range(N_VMS)], clients)
        jobs = [
            add(N_VMS + i, f"p{i}", f"vm{vm}" if kind == "child" else None)
            for i, (kind, vm) in enumerate(workload(n))
        ]
        await run_pool(jobs, clients)
        created = time.perf_counter() - start
    finally:
        await sandbox.stop()
    return {"create_s": created}


# ---------------------------------------------------------------------- main


def summarize_profile(path: str, top: int = 40) -> None:
    """py-spy's raw (collapsed) stacks -> where the API process spent its samples."""
    inclusive: dict[str, int] = {}
    threads: dict[str, int] = {}
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            if not stack:
                continue
            n = int(count)
            total += n
            frames = stack.split(";")
            threads[frames[0]] = threads.get(frames[0], 0) + n
            for frame in {re.sub(r":\d+\)$", ")", fr) for fr in frames[1:]}:
                inclusive[frame] = inclusive.get(frame, 0) + n
    print(f"\nAPI process while creating, {total} samples (py-spy, not idle)")
    for name, n in sorted(threads.items(), key=lambda t: -t[1]):
        print(f"{n / total:6.1%}  {name}")
    for name, n in sorted(inclusive.items(), key=lambda t: -t[1])[:top]:
        if "pyovn" in name or "sqlalchemy/orm/session" in name or "aiohttp/web_" in name:
            print(f"{n / total:6.1%}  {name}")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def print_row(name: str, n: int, r: dict[str, float]) -> None:
    plug = f"{r['plug_s']:.2f} s" if "plug_s" in r else "-"
    act = f"{r['active_s']:.2f} s" if "active_s" in r else "-"
    cpu = ", ".join(
        f"{r[k] * 1000 / n:.1f}" if k in r else "-"
        for k in ("cpu_client", "cpu_sandbox", "cpu_api")
    )
    txns = f"{r['nb_txns']:.0f}" if "nb_txns" in r else "-"
    print(
        f"{name:<14} {r['create_s']:>7.2f} s {n / r['create_s']:>8.0f} {plug:>10} {act:>11}"
        f"   {cpu:<15} {txns:>8}"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("-n", type=int, default=1000, help="ports (at least 110)")
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--repeat", type=int, default=1, help="runs of each path (api, direct...)")
    p.add_argument("--no-nbctl", action="store_true", help="skip the ovn-nbctl row")
    p.add_argument("--only", choices=("api", "direct", "nbctl"), help="run one path")
    p.add_argument(
        "--profile", metavar="FILE", help="py-spy the API process while it creates (raw stacks)"
    )
    p.add_argument(
        "--baseline",
        metavar="DIR",
        help="also run the API from DIR/pyovn, an older copy "
        "(git archive REV pyovn | tar -x -C DIR) as the row api-base",
    )
    args = p.parse_args()
    if args.n < N_VMS * (CHILDREN_PER_VM + 1):
        p.error(f"-n must be at least {N_VMS * (CHILDREN_PER_VM + 1)}")
    if args.profile and not shutil.which("py-spy"):
        p.error("--profile needs py-spy (pip install py-spy)")
    n = args.n
    paths = [args.only] if args.only else ["api", "direct", "nbctl"]
    if args.baseline:
        if not (Path(args.baseline) / "pyovn" / "api").is_dir():
            p.error(f"--baseline: no pyovn/api in {args.baseline}")
        paths.insert(1, "api-base")
    if args.no_nbctl or not shutil.which("ovn-nbctl"):
        paths = [x for x in paths if x != "nbctl"]
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
    print(
        f"{n} ports ({N_VMS * CHILDREN_PER_VM} of them in {N_VMS} VMs), {args.clients} clients, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
    )
    print(
        f"{'path':<14} {'create':>9} {'ports/s':>8} {'plug VIFs':>10} {'all ACTIVE':>11}   "
        "CPU ms/port: client, sandbox, api (while creating); NB transactions"
    )
    workdir = Path(tempfile.mkdtemp(prefix="pyovn-bench-api-"))
    try:
        for round_ in range(args.repeat):
            for name in paths:
                if name == "nbctl" and round_ > 0:
                    continue  # a process per port: once is enough
                sub = workdir / f"{name}-{round_}"
                sub.mkdir()
                if name == "api":
                    r = asyncio.run(bench_api(n, args.clients, sub, args.profile))
                elif name == "api-base":
                    code = str(Path(args.baseline).resolve())
                    r = asyncio.run(bench_api(n, args.clients, sub, None, code))
                elif name == "direct":
                    r = asyncio.run(bench_direct(n, args.clients, sub))
                else:
                    r = asyncio.run(bench_nbctl(n, args.clients, sub))
                runs[name].append(r)
                print_row(f"{name} #{round_ + 1}", n, r)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.repeat > 1:
        for name, results in runs.items():
            med = {k: median([r[k] for r in results if k in r]) for k in results[0]}
            print_row(f"{name} median", n, med)
    if runs.get("api") and runs.get("direct"):
        a_create = median([r["create_s"] for r in runs["api"]])
        d_create = median([r["create_s"] for r in runs["direct"]])
        a_active = median([r["active_s"] for r in runs["api"]])
        d_active = median([r["active_s"] for r in runs["direct"]])
        print(
            f"API / direct (medians): create {a_create / d_create:.2f}x, "
            f"all ACTIVE after plugging {a_active / d_active:.2f}x (target: <= 2x)"
        )
    if args.profile:
        summarize_profile(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
