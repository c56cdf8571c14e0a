"""pyovn's OVSDB server beside Open vSwitch's ovsdb-server, in the same run.

Both serve a fresh OVN_Northbound database (pyovn/schemas/nb.ovsschema) on a unix socket,
with their default durability (neither fsyncs a commit that does not ask for it). The
client is raw JSON-RPC over Python sockets (no IDL), the same code for both servers:

  sequential    one client, one-row Logical_Switch inserts, one at a time: txn/s, p50
  concurrent    10 clients, each with one transaction outstanding: aggregate txn/s
  snapshot      a new client's monitor_cond of 10,000 Logical_Switch_Ports (name,
                addresses, external_ids): time until the whole reply is parsed
  memory        the server's RSS holding those 10,000 ports (and its RSS when empty)
  fan-out       sequential txn/s with 500 idle clients monitoring Logical_Switch
                (each commit is sent to all 500; a helper process drains their sockets),
                beside the same with no monitors

Each figure is the best of --repeat runs, servers alternating; the last column is
pyovn/real (higher is better for rates, lower for times and memory).

    python bench/ovsdb_server.py [-n 2000] [--ports 10000] [--idle 500] [--repeat 3]
                                 [--profile]   # cProfile pyovn's server, print the top
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import multiprocessing
import os
import pstats
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pyovn.ovsdb.jsonrpc import Connection, ErrorReply, Reply, Request, encode_message
from pyovn.schemas import schema_path

NB = "OVN_Northbound"
SCHEMA = str(schema_path("nb"))


# ------------------------------------------------------------------ servers


class Server:
    def __init__(
        self, kind: str, workdir: Path, profile: bool = False, pythonpath: str | None = None
    ) -> None:
        self.kind = kind
        self.dir = workdir / kind
        self.dir.mkdir()
        self.db = self.dir / "nb.db"
        self.sock = self.dir / "nb.sock"
        self.profile_out = self.dir / "server.prof" if profile else None
        if kind == "real":
            subprocess.run(["ovsdb-tool", "create", str(self.db), SCHEMA], check=True)
            cmd = [
                "ovsdb-server",
                "--no-chdir",
                f"--remote=punix:{self.sock}",
                f"--unixctl={self.dir / 'ctl'}",
                f"--log-file={self.dir / 'log'}",
                str(self.db),
            ]
        else:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pyovn.cli.main",
                    "ovsdb-tool",
                    "create",
                    str(self.db),
                    "nb",
                ],
                check=True,
            )
            prefix = [sys.executable]
            if self.profile_out is not None:
                prefix += ["-m", "cProfile", "-o", str(self.profile_out)]
            cmd = [
                *prefix,
                "-m",
                "pyovn.cli.main",
                "ovsdb-server",
                f"--remote=punix:{self.sock}",
                f"--unixctl={self.dir / 'ctl'}",
                str(self.db),
            ]
        env = dict(os.environ)
        if pythonpath is not None:  # pyovn from another checkout (--baseline)
            env["PYTHONPATH"] = pythonpath
        self.stderr = open(self.dir / "stderr", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=self.stderr, env=env, cwd=self.dir
        )
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
                s.connect(str(self.sock))
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{kind} server did not start: {self.dir / 'stderr'}")
            time.sleep(0.05)

    @property
    def path(self) -> str:
        return str(self.sock)

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        return sum(self.cpu_split())

    def cpu_split(self) -> tuple[float, float]:
        """(user, system) CPU time the server process has used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.stderr.close()


# ------------------------------------------------------------------ a raw JSON-RPC client


class Rpc:
    """Blocking JSON-RPC over a unix socket; notifications are counted and dropped."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.conn = Connection(max_message_bytes=1 << 30)
        self.ids = itertools.count()
        self.replies: dict[Any, Any] = {}
        self.n_notifications = 0

    def send(self, method: str, params: list[Any]) -> int:
        msg_id = next(self.ids)
        self.sock.sendall(encode_message(Request(method, params, msg_id)))
        return msg_id

    def feed(self, data: bytes) -> None:
        for msg in self.conn.receive_data(data):
            if isinstance(msg, (Reply, ErrorReply)):
                self.replies[msg.id] = msg
            elif isinstance(msg, Request) and msg.method == "echo":
                self.sock.sendall(encode_message(Reply(msg.params, msg.id)))
            else:
                self.n_notifications += 1

    def wait(self, msg_id: int) -> Any:
        while msg_id not in self.replies:
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("server closed the connection")
            self.feed(data)
        reply = self.replies.pop(msg_id)
        if isinstance(reply, ErrorReply):
            raise RuntimeError(f"error reply: {reply.error}")
        return reply.result

    def call(self, method: str, params: list[Any]) -> Any:
        return self.wait(self.send(method, params))

    def close(self) -> None:
        self.sock.close()


def check(results: list[Any]) -> None:
    for r in results:
        if isinstance(r, dict) and "error" in r:
            raise RuntimeError(f"transaction failed: {r}")


def ls_insert(name: str) -> list[Any]:
    row = {"name": name, "external_ids": ["map", [["bench", "yes"], ["seq", name]]]}
    return [NB, {"op": "insert", "table": "Logical_Switch", "row": row}]


_names = itertools.count()


def fresh_name(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


# ------------------------------------------------------------------ workloads


def sequential(server: Server, n: int) -> tuple[float, float]:
    """(txn/s, p50 latency in ms) of n one-row transactions, one at a time."""
    rpc = Rpc(server.path)
    try:
        for _ in range(20):  # warm up
            check(rpc.call("transact", ls_insert(fresh_name("warm"))))
        latencies = []
        start = time.perf_counter()
        for _ in range(n):
            t = time.perf_counter()
            check(rpc.call("transact", ls_insert(fresh_name("seq"))))
            latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
        return n / elapsed, statistics.median(latencies) * 1000
    finally:
        rpc.close()


def concurrent(server: Server, n: int, clients: int = 10) -> float:
    """Aggregate txn/s of ``clients`` connections, each with one transaction in flight."""
    rpcs = [Rpc(server.path) for _ in range(clients)]
    sel = selectors.DefaultSelector()
    try:
        for rpc in rpcs:
            check(rpc.call("transact", ls_insert(fresh_name("warm"))))
            sel.register(rpc.sock, selectors.EVENT_READ, rpc)
        sent = done = 0
        outstanding: dict[Rpc, int] = {}
        start = time.perf_counter()
        for rpc in rpcs:
            outstanding[rpc] = rpc.send("transact", ls_insert(fresh_name("conc")))
            sent += 1
        while done < n:
            for key, _ in sel.select():
                rpc = key.data
                data = rpc.sock.recv(1 << 20)
                if not data:
                    raise ConnectionError("server closed the connection")
                rpc.feed(data)
                msg_id = outstanding.get(rpc)
                if msg_id is not None and msg_id in rpc.replies:
                    reply = rpc.replies.pop(msg_id)
                    check(reply.result)
                    done += 1
                    del outstanding[rpc]
                    if sent < n:
                        outstanding[rpc] = rpc.send("transact", ls_insert(fresh_name("conc")))
                        sent += 1
        return n / (time.perf_counter() - start)
    finally:
        sel.close()
        for rpc in rpcs:
            rpc.close()


def populate_ports(server: Server, n_ports: int, per_switch: int = 1000) -> None:
    """n_ports Logical_Switch_Ports with name, addresses and external_ids, held by switches
    of ``per_switch`` ports (ports are not root rows)."""
    rpc = Rpc(server.path)
    try:
        for base in range(0, n_ports, per_switch):
            ops: list[Any] = []
            names = []
            for i in range(base, min(base + per_switch, n_ports)):
                mac = f"fa:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}"
                ip = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
                name = f"p{i}"
                names.append(name)
                ops.append(
                    {
                        "op": "insert",
                        "table": "Logical_Switch_Port",
                        "uuid-name": name,
                        "row": {
                            "name": f"lsp-{i}",
                            "addresses": ["set", [f"{mac} {ip}"]],
                            "external_ids": [
                                "map",
                                [
                                    ["neutron:device_owner", "compute:nova"],
                                    ["neutron:port_name", f"port-{i}"],
                                ],
                            ],
                        },
                    }
                )
            ops.append(
                {
                    "op": "insert",
                    "table": "Logical_Switch",
                    "row": {
                        "name": f"ports{base}",
                        "ports": ["set", [["named-uuid", n] for n in names]],
                    },
                }
            )
            check(rpc.call("transact", [NB, *ops]))
    finally:
        rpc.close()


def snapshot(server: Server, n_ports: int) -> float:
    """Seconds for a new client to connect and receive a full monitor of the ports."""
    start = time.perf_counter()
    rpc = Rpc(server.path)
    try:
        request = {"Logical_Switch_Port": [{"columns": ["name", "addresses", "external_ids"]}]}
        result = rpc.call("monitor_cond", [NB, "snap", request])
        elapsed = time.perf_counter() - start
        got = len(result.get("Logical_Switch_Port", {}))
        if got != n_ports:
            raise RuntimeError(f"snapshot had {got} ports, expected {n_ports}")
        return elapsed
    finally:
        rpc.close()


def _idle_monitors(path: str, n: int, ready: Any, stop: Any) -> None:
    """Child process: n clients monitoring Logical_Switch. Their sockets are drained
    without parsing (the clients must cost the machine as little as possible)."""
    socks = []
    sel = selectors.DefaultSelector()
    for i in range(n):
        rpc = Rpc(path)
        # every commit of the writer goes to every one of them (no initial contents:
        # the rows the earlier runs inserted would make this a snapshot benchmark)
        rpc.call(
            "monitor_cond",
            [NB, ["idle", i], {"Logical_Switch": [{"select": {"initial": False}}]}],
        )
        rpc.sock.setblocking(False)
        sel.register(rpc.sock, selectors.EVENT_READ)
        socks.append(rpc.sock)
    ready.send(n)
    received = 0
    while not stop.poll():
        for key, _ in sel.select(timeout=0.1):
            with contextlib.suppress(BlockingIOError):
                received += len(key.fileobj.recv(1 << 20))  # type: ignore[union-attr]
    ready.send(received)
    for sock in socks:
        sock.close()


@contextlib.contextmanager
def idle_monitors(server: Server, n: int) -> Iterator[Callable[[], int]]:
    ctx = multiprocessing.get_context("fork")
    ready_parent, ready_child = ctx.Pipe()
    stop_parent, stop_child = ctx.Pipe()
    proc = ctx.Process(target=_idle_monitors, args=(server.path, n, ready_child, stop_child))
    proc.start()
    try:
        if not ready_parent.poll(300):
            raise RuntimeError("the idle monitors did not start")
        ready_parent.recv()
        notifications: list[int] = []

        def finish() -> int:
            stop_parent.send(True)
            notifications.append(ready_parent.recv() if ready_parent.poll(120) else -1)
            return notifications[0]

        yield finish
        if not notifications:
            finish()
    finally:
        proc.join(60)
        if proc.is_alive():
            proc.kill()
            proc.join()


# ------------------------------------------------------------------ the run


def best(values: list[float], higher_is_better: bool) -> float:
    return max(values) if higher_is_better else min(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="transactions per rate run")
    parser.add_argument("--ports", type=int, default=10_000)
    parser.add_argument("--idle", type=int, default=500, help="idle monitoring clients")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile pyovn's server")
    parser.add_argument("--only", choices=("pyovn", "real"), help="run one server only")
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also run pyovn's server from DIR (a directory holding an older pyovn package)",
    )
    args = parser.parse_args()
    if shutil.which("ovsdb-server") is None and args.only != "pyovn":
        sys.exit("Open vSwitch's ovsdb-server is not installed (or use --only=pyovn)")

    workdir = Path(tempfile.mkdtemp(prefix="bench-ovsdb-server-"))
    kinds = [args.only] if args.only else ["pyovn", "real"]
    if args.baseline:
        kinds.insert(0, "baseline")
    servers: dict[str, Server] = {}
    figures: dict[str, dict[str, float]] = {k: {} for k in kinds}

    def start_all(phase: str) -> None:
        for server in servers.values():
            server.stop()
        servers.clear()
        for kind in kinds:
            servers[kind] = Server(
                kind,
                workdir / phase,
                profile=args.profile and kind == "pyovn" and phase == "rates",
                pythonpath=args.baseline if kind == "baseline" else None,
            )

    def measure(name: str, fn: Callable[[Server], float], higher: bool) -> None:
        runs: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(args.repeat):
            for kind in kinds:
                runs[kind].append(fn(servers[kind]))
        for kind in kinds:
            figures[kind][name] = best(runs[kind], higher)
        report(name, figures, higher)

    def with_cpu(name: str, fn: Callable[[Server], tuple[float, int]]) -> Callable[[Server], float]:
        """fn returns (rate, transactions); the server's CPU per transaction is kept too."""

        def run(server: Server) -> float:
            user0, sys0 = server.cpu_split()
            rate, n = fn(server)
            user1, sys1 = server.cpu_split()
            cpu = (user1 - user0 + sys1 - sys0) / n * 1e6
            key = f"{name}: server CPU/txn (us)"
            mine = figures[server.kind]
            if cpu <= mine.get(key, cpu):  # the best run, and its user/system split
                mine[key] = cpu
                mine[f"{name}: of which user (us)"] = (user1 - user0) / n * 1e6
            return rate

        return run

    print(
        f"{workdir}; n={args.n}, ports={args.ports}, idle={args.idle}, best of {args.repeat}",
        flush=True,
    )
    try:
        # ---- rates, on fresh databases
        (workdir / "rates").mkdir()
        start_all("rates")
        for kind in kinds:
            figures[kind]["rss empty (MB)"] = servers[kind].rss_kb() / 1024
        report("rss empty (MB)", figures, False)
        p50: dict[str, list[float]] = {k: [] for k in kinds}

        def seq(server: Server) -> tuple[float, int]:
            rate, median = sequential(server, args.n)
            p50[server.kind].append(median)
            return rate, args.n + 20

        measure("sequential (txn/s)", with_cpu("sequential", seq), True)
        for kind in kinds:
            figures[kind]["sequential p50 (ms)"] = min(p50[kind])
        report("sequential p50 (ms)", figures, False)
        report("sequential: server CPU/txn (us)", figures, False)
        report("sequential: of which user (us)", figures, False)
        measure(
            "10 clients (txn/s)",
            with_cpu("10 clients", lambda s: (concurrent(s, args.n), args.n + 10)),
            True,
        )
        report("10 clients: server CPU/txn (us)", figures, False)
        report("10 clients: of which user (us)", figures, False)

        # ---- a database of 10,000 ports: memory, snapshot, fan-out
        (workdir / "ports").mkdir()
        start_all("ports")
        for kind in kinds:
            populate_ports(servers[kind], args.ports)
            figures[kind][f"rss {args.ports} ports (MB)"] = servers[kind].rss_kb() / 1024
        report(f"rss {args.ports} ports (MB)", figures, False)
        measure(f"snapshot {args.ports} ports (s)", lambda s: snapshot(s, args.ports), False)

        half = max(args.n // 2, 1)
        measure(
            "writer, no monitors (txn/s)",
            with_cpu("no monitors", lambda s: (sequential(s, half)[0], half + 20)),
            True,
        )
        name = f"writer, {args.idle} monitors (txn/s)"
        fan = with_cpu(f"{args.idle} monitors", lambda s: (sequential(s, half)[0], half + 20))
        runs: dict[str, list[float]] = {k: [] for k in kinds}
        for kind in kinds:
            with idle_monitors(servers[kind], args.idle) as finish:
                for _ in range(args.repeat):
                    runs[kind].append(fan(servers[kind]))
                received = finish()
                print(f"  ({kind}: the {args.idle} monitors received {received / 1e6:.1f} MB)")
            figures[kind][name] = max(runs[kind])
        report(name, figures, True)
        report("no monitors: server CPU/txn (us)", figures, False)
        report(f"{args.idle} monitors: server CPU/txn (us)", figures, False)
        for kind in kinds:
            figures[kind]["rss at the end (MB)"] = servers[kind].rss_kb() / 1024
        report("rss at the end (MB)", figures, False)
    finally:
        for server in servers.values():
            server.stop()
        out = workdir / "rates" / "pyovn" / "server.prof"  # the rates phase runs profiled
        if args.profile and out.exists():
            stats = pstats.Stats(str(out))
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(40)
        shutil.rmtree(workdir, ignore_errors=True)


def report(name: str, figures: dict[str, dict[str, float]], higher_is_better: bool) -> None:
    cells = [f"{name:34}"]
    for kind in figures:
        value = figures[kind].get(name)
        cells.append(f"{kind} {value:10.2f}" if value is not None else f"{kind} -")
    for other in ("baseline", "real"):
        if "pyovn" in figures and other in figures:
            p, r = figures["pyovn"].get(name), figures[other].get(name)
            if p and r:
                cells.append(f"pyovn/{other} {p / r:5.2f}x")
    if not higher_is_better:
        cells.append("(lower is better)")
    print("  ".join(cells), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
