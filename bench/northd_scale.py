"""pyovn northd beside Debian's ovn-northd 23.03, on the same machine in the same run.

For each N (ports) and layout, two stacks are measured one after the other:

  real   Debian's ovsdb-server (NB, SB: two processes) + Debian's ovn-northd
  pyovn  pyovn ovsdb-server (NB, SB: two processes)    + pyovn northd

Layouts: N ports over 100 switches, loaded one NB transaction per switch; and the anchor of
the issue, N ports over 10 switches loaded in ONE NB transaction. Every port has an address
("MAC IP") and port security, like a VM port of a cloud.

Figures:
  load    from the first NB load transaction until northd has written SB for the last one
          (NB_Global.sb_cfg reaches the nb_cfg bumped by the last load transaction), then
          checked: all N Port_Bindings are in SB
  +1 port median (and p90) of 20 `ovn-nbctl --wait=sb lsp-add` of one more port each
          (ovn-nbctl starts, downloads the whole NB, commits, waits for sb_cfg: its own
          work grows with N and is in both stacks' figure); "via a client": median of 20
          more through one long-lived client (commit + northd round + sb_cfg only);
          "ovn-nbctl alone": the same command without --wait (the tool and the NB server)
  RSS     northd's resident set after the runs (VmRSS) and its peak (VmHWM)

    python bench/northd_scale.py                 # N = 1,000 10,000 50,000
    python bench/northd_scale.py -n 1000 10000   # skip 50,000
    python bench/northd_scale.py --profile DIR   # cProfile pyovn northd (pstats in DIR)
    python bench/northd_scale.py --only pyovn    # one stack
    python bench/northd_scale.py --baseline DIR  # and pyovn northd from DIR/pyovn: before/after
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pyovn.ovsdb.client.client import OvsdbClient  # noqa: E402
from pyovn.ovsdb.client.txn import Txn  # noqa: E402
from tests.support.servers import start_pyovn_server, start_real_server  # noqa: E402

LIMIT = 3600.0


@dataclass
class Result:
    stack: str
    n: int
    switches: int
    one_txn: bool
    load_s: float = 0.0
    add_median_s: float = 0.0
    add_p90_s: float = 0.0  # (ovn-nbctl --wait=sb lsp-add, process start included)
    rss_mb: float = 0.0
    hwm_mb: float = 0.0
    flows: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- processes


def proc_mem_mb(pid: int) -> tuple[float, float]:
    rss = hwm = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return rss, hwm


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_status_active(ctl: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"northd exited with {proc.returncode}")
        out = subprocess.run(
            ["ovn-appctl", "-t", str(ctl), "status"], capture_output=True, text=True
        ).stdout
        if out.strip() == "Status: active":
            return
        time.sleep(0.05)
    raise TimeoutError("northd did not become active")


def start_northd(
    stack: str, workdir: Path, nb: str, sb: str, profile: Path | None, baseline: Path | None = None
) -> Any:
    ctl = workdir / "northd.ctl"
    log = open(workdir / "northd.log", "ab")  # noqa: SIM115
    if stack == "real":
        cmd = [
            "ovn-northd",
            "--no-chdir",
            f"--ovnnb-db={nb}",
            f"--ovnsb-db={sb}",
            f"--unixctl={ctl}",
            f"--log-file={workdir / 'ovn-northd.log'}",
        ]
    else:
        cmd = [sys.executable]
        if profile is not None:
            cmd += ["-m", "cProfile", "-o", str(profile)]
        cmd += [
            "-m",
            "pyovn.cli.main",
            "northd",
            f"--ovnnb-db={nb}",
            f"--ovnsb-db={sb}",
            f"--unixctl={ctl}",
            "-v",  # INFO: lock changes, reconnections, failed transactions
        ]
    env = dict(os.environ)
    if stack == "base":  # pyovn northd from an older copy of the package
        assert baseline is not None
        env["PYTHONPATH"] = str(baseline)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, cwd=workdir, env=env)
    log.close()
    while not ctl.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"northd exited: {(workdir / 'northd.log').read_text()[-2000:]}")
        time.sleep(0.02)
    wait_status_active(ctl, proc)
    return proc, ctl


# ---------------------------------------------------------------------------- load


def port_row(i: int) -> dict[str, Any]:
    mac = f"0a:00:{i >> 24 & 255:02x}:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}"
    ip = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
    return {
        "name": f"lsp{i}",
        "addresses": [f"{mac} {ip}"],
        "port_security": [f"{mac} {ip}"],
        "external_ids": {"neutron:device_owner": "compute:nova"},
    }


async def load(nb_remote: str, n: int, n_switches: int, one_txn: bool) -> float:
    """Load the NB and wait until northd has caught up; seconds taken."""
    client = OvsdbClient(nb_remote, "OVN_Northbound")
    client.watch("NB_Global", columns=["nb_cfg", "sb_cfg", "hv_cfg"])
    await client.start()
    try:
        nbg = await client.transact(
            lambda txn: None if client.rows("NB_Global") else txn.insert("NB_Global", {})
        )
        await client.wait_for(lambda: bool(client.rows("NB_Global")))
        nbg = next(iter(client.rows("NB_Global")))
        per_switch = -(-n // n_switches)
        groups = [
            (s, range(s * per_switch, min(n, (s + 1) * per_switch))) for s in range(n_switches)
        ]
        batches = [groups] if one_txn else [[g] for g in groups]
        cfg = int(client.rows("NB_Global")[nbg]["nb_cfg"])
        t0 = time.perf_counter()
        for batch in batches:
            cfg += 1

            def build(txn: Txn, batch: Any = batch, cfg: int = cfg) -> None:
                for s, ports in batch:
                    refs = [txn.insert("Logical_Switch_Port", port_row(i)) for i in ports]
                    txn.insert("Logical_Switch", {"name": f"sw{s}", "ports": refs})
                txn.update("NB_Global", nbg, {"nb_cfg": cfg})

            await client.transact(build)
        await client.wait_for(
            lambda: int(client.rows("NB_Global")[nbg]["sb_cfg"]) >= cfg, timeout=LIMIT
        )
        return time.perf_counter() - t0
    finally:
        await client.close()


async def add_ports_client(nb_remote: str, n_adds: int) -> list[float]:
    """One more port at a time through a long-lived client (no process start, no download
    of the NB): the NB commit, northd's round and the sb_cfg write-back only."""
    client = OvsdbClient(nb_remote, "OVN_Northbound")
    client.watch("NB_Global", columns=["nb_cfg", "sb_cfg"])
    client.watch("Logical_Switch", columns=["name"])
    await client.start()
    times = []
    try:
        sw = next(u for u, r in client.rows("Logical_Switch").items() if r["name"] == "sw1")
        nbg = next(iter(client.rows("NB_Global")))
        for i in range(n_adds):
            cfg = int(client.rows("NB_Global")[nbg]["nb_cfg"]) + 1

            def build(txn: Txn, i: int = i, cfg: int = cfg) -> None:
                ref = txn.insert("Logical_Switch_Port", port_row(10_000_000 + i))
                txn.mutate("Logical_Switch", sw, [("ports", "insert", [ref])])
                txn.update("NB_Global", nbg, {"nb_cfg": cfg})

            t0 = time.perf_counter()
            await client.transact(build)
            await client.wait_for(
                lambda cfg=cfg: int(client.rows("NB_Global")[nbg]["sb_cfg"]) >= cfg, timeout=LIMIT
            )
            times.append(time.perf_counter() - t0)
    finally:
        await client.close()
    return times


def count_rows(sb_remote: str, table: str) -> int:
    out = subprocess.run(
        [
            "ovn-sbctl",
            f"--db={sb_remote}",
            "--timeout=600",
            "--bare",
            "--columns=_uuid",
            "list",
            table,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sum(1 for line in out.splitlines() if line.strip())


def add_ports(nb_remote: str, n_adds: int, wait: str = "sb", prefix: str = "extra") -> list[float]:
    times = []
    base, net = ("0e:00:00:00", 168) if prefix == "extra" else ("0e:00:00:01", 169)
    for i in range(n_adds):
        t0 = time.perf_counter()
        subprocess.run(
            [
                "ovn-nbctl",
                f"--db={nb_remote}",
                "--timeout=600",
                "--no-wait" if wait == "none" else f"--wait={wait}",
                "lsp-add",
                "sw0",
                f"{prefix}{i}",
                "--",
                "lsp-set-addresses",
                f"{prefix}{i}",
                f"{base}:{i >> 8 & 255:02x}:{i & 255:02x} 192.{net}.{i >> 8 & 255}.{i & 255}",
            ],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - t0)
    return times


# ---------------------------------------------------------------------------- one run


def run_one(
    stack: str,
    n: int,
    n_switches: int,
    one_txn: bool,
    n_adds: int,
    profile_dir: Path | None,
    baseline: Path | None = None,
) -> Result:
    workdir = Path(tempfile.mkdtemp(prefix=f"northd-{stack}-"))
    started: list[Any] = []
    result = Result(stack, n, n_switches, one_txn)
    profile = None
    if profile_dir is not None and stack == "pyovn":
        profile = profile_dir / f"northd-{n}-{n_switches}{'-1txn' if one_txn else ''}.pstats"
    try:
        start = start_real_server if stack == "real" else start_pyovn_server
        nb = start(workdir, "nb", name="nb")
        started.append(nb)
        sb = start(workdir, "sb", name="sb")
        started.append(sb)
        proc, ctl = start_northd(stack, workdir, nb.remote, sb.remote, profile, baseline)
        started.insert(0, proc)  # stopped first, whatever happens
        cpu0 = [proc_cpu_s(p) for p in (proc.pid, nb.pid, sb.pid)]
        result.load_s = asyncio.run(load(nb.remote, n, n_switches, one_txn))
        cpu1 = [proc_cpu_s(p) for p in (proc.pid, nb.pid, sb.pid)]
        result.extra["load_cpu_s"] = [round(b - a, 1) for a, b in zip(cpu0, cpu1, strict=True)]
        n_pb = count_rows(sb.remote, "Port_Binding")
        assert n_pb == n, f"{n_pb} port bindings, want {n}"
        result.flows = count_rows(sb.remote, "Logical_Flow")
        times = add_ports(nb.remote, n_adds)
        result.add_median_s = statistics.median(times)
        result.add_p90_s = sorted(times)[int(len(times) * 0.9) - 1]
        result.extra["nbctl_alone_s"] = statistics.median(
            add_ports(nb.remote, max(3, n_adds // 4), wait="none", prefix="solo")
        )
        result.extra["client_add_median_s"] = statistics.median(
            asyncio.run(add_ports_client(nb.remote, n_adds))
        )
        result.rss_mb, result.hwm_mb = proc_mem_mb(proc.pid)
        result.extra["server_rss_mb"] = [proc_mem_mb(s.pid)[0] for s in (nb, sb)]
        if stack != "real":
            stats = subprocess.run(
                ["ovn-appctl", "-t", str(ctl), "inc-engine/show-stats"],
                capture_output=True,
                text=True,
            ).stdout
            result.extra["stats"] = " ".join(stats.split())
        # stop northd first, politely (cProfile writes its file at exit)
        subprocess.run(["ovn-appctl", "-t", str(ctl), "exit"], capture_output=True)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(60)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    finally:
        for s in started:
            with contextlib.suppress(Exception):
                if isinstance(s, subprocess.Popen):
                    if s.poll() is None:
                        s.terminate()
                        try:
                            s.wait(30)
                        except subprocess.TimeoutExpired:
                            s.kill()
                            s.wait()
                else:
                    s.kill(signal.SIGTERM)
        log = workdir / "northd.log"
        if log.exists():
            notes = [
                ln
                for ln in log.read_text(errors="replace").splitlines()
                if any(w in ln for w in ("WARN", "ERR", "disconnected", "failed"))
                and "nixctl.py" not in ln  # a traceback at exit from the control socket
            ]
            if notes:
                result.extra["log"] = notes[:5]
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def fmt_row(r: Result) -> str:
    client_ms = r.extra.get("client_add_median_s", 0) * 1000
    servers = [round(x) for x in r.extra.get("server_rss_mb", [])]
    return (
        f"  {r.stack:<6} load {r.load_s:8.2f} s   "
        f"+1 port median {r.add_median_s * 1000:8.1f} ms (p90 {r.add_p90_s * 1000:7.1f}; "
        f"via a client {client_ms:7.1f}; ovn-nbctl alone, no wait "
        f"{r.extra.get('nbctl_alone_s', 0) * 1000:7.1f})   "
        f"northd RSS {r.rss_mb:7.1f} MB (peak {r.hwm_mb:7.1f})   flows {r.flows:>7}\n"
        f"         load CPU s (northd, NB server, SB server): {r.extra.get('load_cpu_s')}"
        f"   servers RSS MB (NB, SB): {servers}"
    )


def fmt_ratios(real: Result, ours: Result, label: str = "pyovn/real") -> str:
    def q(a: float, b: float) -> str:
        return f"{a / b:5.2f}x" if b else "  n/a"

    client = q(ours.extra["client_add_median_s"], real.extra["client_add_median_s"])
    cpu_ours, cpu_real = ours.extra["load_cpu_s"], real.extra["load_cpu_s"]
    return (
        f"  ratio {label}: load {q(ours.load_s, real.load_s)} "
        f"(CPU: northd {q(cpu_ours[0], cpu_real[0])}, all three {q(sum(cpu_ours), sum(cpu_real))})"
        f"   +1 port {q(ours.add_median_s, real.add_median_s)} (via a client {client})"
        f"   RSS {q(ours.rss_mb, real.rss_mb)} (peak {q(ours.hwm_mb, real.hwm_mb)})"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("-n", type=int, nargs="+", default=[1000, 10000, 50000])
    p.add_argument("--adds", type=int, default=20)
    p.add_argument("--only", choices=("real", "pyovn", "base"))
    p.add_argument(
        "--layouts",
        nargs="+",
        default=["100", "10x1"],
        help="100 = 100 switches, a transaction each; 10x1 = 10 switches, one txn",
    )
    p.add_argument("--profile", type=Path, metavar="DIR")
    p.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also run pyovn northd from DIR/pyovn (e.g. `git archive HEAD pyovn | tar -x -C DIR`)"
        " on pyovn's servers: the stack 'base'",
    )
    args = p.parse_args()
    # a SIGTERM (e.g. from timeout) unwinds like ^C, so every server and northd is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for tool in ("ovn-northd", "ovsdb-server", "ovn-nbctl", "ovn-sbctl", "ovn-appctl"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed", file=sys.stderr)
            return 1
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    stacks = [args.only] if args.only else ["real", "pyovn"]
    if args.baseline is not None:
        stacks.append("base")
    print(f"northd scale, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    for n in args.n:
        for layout in args.layouts:
            n_switches, one_txn = (100, False) if layout == "100" else (10, True)
            title = (
                f"N = {n:,} ports, {n_switches} switches, "
                f"{'one NB transaction' if one_txn else 'one NB transaction per switch'}"
            )
            print(title, flush=True)
            results = {}
            for stack in stacks:
                r = run_one(stack, n, n_switches, one_txn, args.adds, args.profile, args.baseline)
                results[stack] = r
                print(fmt_row(r), flush=True)
                for line in r.extra.get("log", []):
                    print(f"         log: {line}", flush=True)
                if "stats" in r.extra:
                    print(f"         engine: {r.extra['stats']}", flush=True)
            if "real" in results and "pyovn" in results:
                print(fmt_ratios(results["real"], results["pyovn"]), flush=True)
            if "base" in results and "pyovn" in results:
                print(fmt_ratios(results["base"], results["pyovn"], "pyovn/base"), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
