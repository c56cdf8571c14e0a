"""Durability under load: clients commit in a loop against a ``pyovn ovsdb-server``
subprocess, the server is SIGKILLed mid-stream and restarted on the same file: every
transaction it acknowledged is there."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.support.rawrpc import RawClient
from tests.support.server_scenarios import NB, ls, smap
from tests.support.servers import start_pyovn_server

N_WRITERS = 4
KILL_AFTER = 400  # acknowledged transactions before the kill


async def writer(remote: str, wid: int, acked: set[str], sent: set[str], enough: asyncio.Event):
    client = await RawClient.open(remote)
    try:
        i = 0
        while True:
            name = f"w{wid}-{i}"
            i += 1
            sent.add(name)
            ops = [ls(name, external_ids=smap(writer=str(wid), seq=str(i)))]
            if i % 5 == 0:  # some modifications and deletions too, not only inserts
                ops.append(
                    {
                        "op": "mutate",
                        "table": "Logical_Switch",
                        "where": [["name", "==", f"w{wid}-{i - 3}"]],
                        "mutations": [["other_config", "insert", smap(touched="yes")]],
                    }
                )
            try:
                results = await client.transact(NB, *ops)
            except (ConnectionError, TimeoutError):
                return
            assert all("error" not in (r or {}) for r in results), results
            acked.add(name)
            if len(acked) >= KILL_AFTER:
                enough.set()
    finally:
        await client.close()


@pytest.mark.parametrize("fsync", ["never", "always"])
def test_sigkill_under_load_loses_no_acknowledged_transaction(tmp_path: Path, fsync: str) -> None:
    server = start_pyovn_server(tmp_path, "nb", extra=[f"--fsync={fsync}"])
    try:
        acked: set[str] = set()
        sent: set[str] = set()

        async def load() -> None:
            enough = asyncio.Event()
            tasks = [
                asyncio.ensure_future(writer(server.remote, w, acked, sent, enough))
                for w in range(N_WRITERS)
            ]
            waiter = asyncio.ensure_future(enough.wait())
            done, _ = await asyncio.wait(
                [waiter, *tasks], timeout=300, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            for task in tasks:
                if task in done:
                    task.result()  # a writer failed: raise its error
            assert enough.is_set(), f"only {len(acked)} transactions in 300 s"
            server.kill(signal.SIGKILL)  # while every writer has a transaction in flight
            await asyncio.wait_for(asyncio.gather(*tasks), 60)

        asyncio.run(load())
        assert len(acked) >= KILL_AFTER

        server.start_again()

        async def check() -> None:
            client = await RawClient.open(server.remote)
            try:
                (result,) = await client.transact(
                    NB,
                    {
                        "op": "select",
                        "table": "Logical_Switch",
                        "where": [],
                        "columns": ["name", "external_ids", "other_config"],
                    },
                )
                rows = {r["name"]: r for r in result["rows"]}
                missing = acked - set(rows)
                assert not missing, f"{len(missing)} acknowledged transactions lost"
                assert set(rows) <= sent  # nothing invented
                # the acknowledged modifications are there too
                for name, row in rows.items():
                    wid, seq = name[1:].split("-")
                    assert dict(row["external_ids"][1]) == {"writer": wid, "seq": str(int(seq) + 1)}
                # and the restarted server takes new transactions
                (new,) = await client.transact(NB, ls("after-restart"))
                assert "uuid" in new
            finally:
                await client.close()

        asyncio.run(check())
    finally:
        server.kill(signal.SIGKILL)


GROUP_COMMIT_RACE = """
import asyncio, sys
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.ops import execute
from pyovn.ovsdb.server.storage import Storage
from pyovn.schemas import schema_path

storage, db = Storage.create(sys.argv[1], DatabaseSchema.from_file(schema_path("nb")),
                             fsync_mode="always")

def commit(name):
    result = execute(db, [{"op": "insert", "table": "Logical_Switch", "row": {"name": name}}])
    seq = storage.write_commit(result.commit)
    db.apply(result.commit)
    return seq

async def main():
    loop = asyncio.get_running_loop()
    real = loop.run_in_executor
    def finished_already(executor, fn, *args):
        # an fsync whose future completed but whose done-callbacks have not run yet:
        # the window a second committer hits when its task runs first in a loop iteration
        loop.run_in_executor = real
        fn(*args)
        fut = loop.create_future()
        fut.set_result(None)
        return fut
    loop.run_in_executor = finished_already
    await storage.sync(commit("a"))
    seq = commit("b")
    storage._start_fsync()  # the next fsync, caught in that window
    seq = commit("c")
    await asyncio.wait_for(storage.sync(seq), 10)
    print("synced", storage.synced_seq)

asyncio.run(main())
"""


def test_group_commit_does_not_spin_on_a_finished_fsync(tmp_path: Path) -> None:
    """Regression: Storage.sync looped forever (never yielding) when it found an fsync
    future that was done but whose callback had not yet cleared it."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", GROUP_COMMIT_RACE, str(tmp_path / "nb.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "synced 3"
