"""Where pyovn's OVSDB server spends a small transaction's CPU, stage by stage, in-process.

No event loop and no sockets: a JSON-RPC ``transact`` request (one Logical_Switch
insert, as in bench/ovsdb_server.py) goes through the same code the server runs for it,
with the database file on /dev/shm. Prints microseconds per transaction for each stage.
The difference between this total and the server CPU per transaction that
bench/ovsdb_server.py reports is the event loop, the system calls and the cost of waking
up for each request.

    python bench/ovsdb_server_path.py [-n 20000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from typing import Any

from pyovn.ovsdb.jsonio import dumpb
from pyovn.ovsdb.jsonrpc import Connection, Request
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.ops import execute
from pyovn.ovsdb.server.storage import Storage
from pyovn.schemas import schema_path

STAGES = ("receive + parse", "execute", "write to the log", "apply", "encode the reply")


def request(i: int) -> bytes:
    row = {"name": f"seq{i}", "external_ids": ["map", [["bench", "yes"], ["seq", f"seq{i}"]]]}
    op = {"op": "insert", "table": "Logical_Switch", "row": row}
    return dumpb({"method": "transact", "params": ["OVN_Northbound", op], "id": i})


def run(n: int) -> dict[str, float]:
    workdir = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        schema = DatabaseSchema.from_file(schema_path("nb"))
        storage, db = Storage.create(f"{workdir}/nb.db", schema)
        conn = Connection(1 << 28)
        totals = dict.fromkeys(STAGES, 0.0)
        clock = time.perf_counter
        messages = [request(i) for i in range(n + 500)]
        for i, data in enumerate(messages):
            t0 = clock()
            (req,) = conn.receive_data(data)
            assert isinstance(req, Request)
            t1 = clock()
            result = execute(db, req.params[1:])
            commit = result.commit
            assert commit is not None, result.results
            t2 = clock()
            storage.write_commit(commit)
            t3 = clock()
            db.apply(commit)
            t4 = clock()
            reply: Any = (b'{"result":', dumpb(result.results), b',"error":null,"id":')
            b"".join((*reply, dumpb(req.id), b"}"))
            t5 = clock()
            if i >= 500:  # after a warm-up
                times = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)
                for stage, dt in zip(STAGES, times, strict=True):
                    totals[stage] += dt
        storage.close()
        return {stage: total / n * 1e6 for stage, total in totals.items()}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="transactions measured")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [run(args.n) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: sum(r.values()))
    for stage in STAGES:
        print(f"{stage:20} {best[stage]:6.1f} us/txn")
    print(f"{'total':20} {sum(best.values()):6.1f} us/txn  (best of {args.repeat}, n={args.n})")


if __name__ == "__main__":
    main()
