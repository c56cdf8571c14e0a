"""Throughput of pyovn's OVSDB engine and storage, beside Open vSwitch's ovsdb-tool.

Single-row insert transactions into OVN_Northbound's Logical_Switch_Port (each row with
name, addresses and external_ids):

  memory        execute + apply, no file
  file          execute + write_commit (os.write, no fsync) + apply
  fsync=always  as "file", then await sync() before the next one (one writer)
  group commit  the same with --writers concurrent writers sharing fsyncs

then selects over the resulting table (one with a where on name, one of the whole table),
and finally the same insert through Debian's ``ovsdb-tool transact`` (a process per
transaction, so a smaller N) and through ``pyovn ovsdb-tool transact`` for comparison.

    python bench/ovsdb_engine.py [-n 10000] [--tool-n 200] [--writers 10] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.ops import execute
from pyovn.ovsdb.server.storage import Storage
from pyovn.schemas import schema_path

NB = DatabaseSchema.from_file(schema_path("nb"))


PORTS_PER_SWITCH = 100


def switch_uuid(i: int) -> str:
    """The Logical_Switch that holds port ``i`` (created up front by ``new_db``)."""
    return f"00000000-0000-4000-8000-{i // PORTS_PER_SWITCH:012x}"


def lsp_insert(i: int) -> list[Any]:
    """Insert port ``i`` and add it to its switch (ports are not root rows in NB)."""
    mac = f"fa:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}"
    row = {
        "name": f"lsp-{i}",
        "addresses": ["set", [f"{mac} 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"]],
        "external_ids": [
            "map",
            [["neutron:device_owner", "compute:nova"], ["neutron:port_name", f"port-{i}"]],
        ],
    }
    return [
        {"op": "insert", "table": "Logical_Switch_Port", "row": row, "uuid-name": "p"},
        {
            "op": "mutate",
            "table": "Logical_Switch",
            "where": [["_uuid", "==", ["uuid", switch_uuid(i)]]],
            "mutations": [["ports", "insert", ["named-uuid", "p"]]],
        },
    ]


def switches(n: int) -> list[Any]:
    return [
        {
            "op": "insert",
            "table": "Logical_Switch",
            "uuid": switch_uuid(i),
            "row": {"name": f"sw{i // PORTS_PER_SWITCH}"},
        }
        for i in range(0, n, PORTS_PER_SWITCH)
    ]


def commit_switches(db: Database, n: int, storage: Storage | None = None) -> None:
    result = execute(db, switches(n))
    assert result.commit is not None, result.results
    if storage is not None:
        storage.write_commit(result.commit)
    db.apply(result.commit)


def rate(label: str, n: int, seconds: float, unit: str = "txn") -> float:
    per_s = n / seconds
    print(
        f"  {label:<34} {n:>7} {unit}s in {seconds:7.3f} s  {per_s:>10,.0f} {unit}/s"
        f"  {seconds / n * 1e6:8.1f} us/{unit}"
    )
    return per_s


def bench_memory(n: int, repeat: int = 3) -> Database:
    """Best of ``repeat`` runs (other processes on a shared machine add noise); the CPU
    time of the best run is printed too, as it is less sensitive to such noise."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        db = Database(NB)
        commit_switches(db, n)
        ops = [lsp_insert(i) for i in range(n)]
        t0, c0 = time.perf_counter(), time.process_time()
        for op in ops:
            result = execute(db, op)
            assert result.commit is not None, result.results
            db.apply(result.commit)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    rate(f"memory (execute + apply), best of {repeat}", n, best)
    rate("  the same, CPU time", n, best_cpu)
    return db


def bench_file(n: int, directory: str) -> None:
    storage, db = Storage.create(os.path.join(directory, "file.db"), NB)
    commit_switches(db, n, storage)
    ops = [lsp_insert(i) for i in range(n)]
    t0 = time.perf_counter()
    for op in ops:
        result = execute(db, op)
        assert result.commit is not None
        storage.write_commit(result.commit)
        db.apply(result.commit)
    rate("file (write_commit, no fsync)", n, time.perf_counter() - t0)
    size = storage.size
    storage.close()
    t0 = time.perf_counter()
    storage, db = Storage.open(os.path.join(directory, "file.db"))
    rate(f"open + load ({size / 1e6:.1f} MB)", n, time.perf_counter() - t0, unit="row")
    t0 = time.perf_counter()
    storage.compact()
    rate("compact", n, time.perf_counter() - t0, unit="row")
    storage.close()


def bench_fsync(n: int, writers: int, directory: str) -> None:
    async def run(name: str, n_writers: int) -> None:
        storage, db = Storage.create(os.path.join(directory, name), NB, fsync_mode="always")
        commit_switches(db, n, storage)
        counter = iter(range(n))

        async def writer() -> None:
            for i in counter:
                result = execute(db, lsp_insert(i))
                assert result.commit is not None
                seq = storage.write_commit(result.commit)
                db.apply(result.commit)
                if storage.needs_sync(result.commit):
                    await storage.sync(seq)

        t0 = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(n_writers)))
        seconds = time.perf_counter() - t0
        label = "fsync=always, 1 writer" if n_writers == 1 else f"group commit, {n_writers} writers"
        rate(label, n, seconds)
        print(
            f"  {'':<34} {storage.n_fsyncs} fsyncs ({n / max(storage.n_fsyncs, 1):.1f} txn/fsync)"
        )
        storage.close()

    asyncio.run(run("always1.db", 1))
    asyncio.run(run("alwaysN.db", writers))


def bench_select(db: Database, repeat: int) -> None:
    n = len(db.tables["Logical_Switch_Port"].rows)
    where = [
        [{"op": "select", "table": "Logical_Switch_Port", "where": [["name", "==", f"lsp-{i}"]]}]
        for i in range(0, n, max(1, n // repeat))
    ]
    t0 = time.perf_counter()
    for ops in where:
        result = execute(db, ops)
        assert len(result.results[0]["rows"]) == 1
    seconds = time.perf_counter() - t0
    rate(f"select where name== ({n} rows)", len(where), seconds, unit="select")
    full = [{"op": "select", "table": "Logical_Switch_Port", "where": []}]
    t0 = time.perf_counter()
    for _ in range(3):
        result = execute(db, full)
        assert len(result.results[0]["rows"]) == n
    seconds = (time.perf_counter() - t0) / 3
    rate("full-table select", n, seconds, unit="row")


def bench_tools(n: int, directory: str) -> None:
    tools: list[tuple[str, list[str]]] = []
    ovs = shutil.which("ovsdb-tool")
    if ovs:
        tools.append(("Open vSwitch ovsdb-tool transact", [ovs]))
    else:
        print("  (ovsdb-tool not installed: skipping Open vSwitch)")
    tools.append(
        ("pyovn ovsdb-tool transact", [sys.executable, "-m", "pyovn.cli.main", "ovsdb-tool"])
    )
    for label, cmd in tools:
        path = os.path.join(directory, f"tool{len(cmd)}.db")
        subprocess.run([*cmd, "create", path, str(schema_path("nb"))], check=True)
        txn = json.dumps(["OVN_Northbound", *switches(n)])
        subprocess.run([*cmd, "transact", path, txn], check=True, stdout=subprocess.DEVNULL)
        t0 = time.perf_counter()
        for i in range(n):
            txn = json.dumps(["OVN_Northbound", *lsp_insert(i)])
            subprocess.run([*cmd, "transact", path, txn], check=True, stdout=subprocess.DEVNULL)
        rate(label, n, time.perf_counter() - t0)


def profiled(fn: Callable[[], Any]) -> None:
    profile = cProfile.Profile()
    profile.enable()
    fn()
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="transactions per engine run")
    parser.add_argument("--tool-n", type=int, default=200, help="transactions per CLI run")
    parser.add_argument("--writers", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="cProfile the memory run")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, N={args.n}")
    if args.profile:
        profiled(lambda: bench_memory(args.n, 1))
        return
    with tempfile.TemporaryDirectory() as directory:
        print("inserts (one Logical_Switch_Port row per transaction, added to its switch):")
        db = bench_memory(args.n)
        bench_file(args.n, directory)
        bench_fsync(args.n, args.writers, directory)
        print("selects:")
        bench_select(db, 1000)
        print(f"one process per transaction (N={args.tool_n}):")
        bench_tools(args.tool_n, directory)


if __name__ == "__main__":
    main()
