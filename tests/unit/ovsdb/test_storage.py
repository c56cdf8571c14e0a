"""Storage: open and create, torn tails, locking, group commit, compaction."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.db import Commit, Database
from pyovn.ovsdb.server.logfile import parse_records, read_log
from pyovn.ovsdb.server.ops import execute
from pyovn.ovsdb.server.storage import (
    CompactionPolicy,
    LockedError,
    Storage,
    StorageError,
    read_database,
)

SCHEMA = DatabaseSchema.from_json(
    {
        "name": "D",
        "version": "0.1.0",
        "tables": {
            "T": {
                "indexes": [["name"]],
                "columns": {
                    "name": {"type": "string"},
                    "tags": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
                },
            }
        },
    }
)


def insert(db: Database, name: str, *, durable: bool = False) -> Commit:
    ops: list[Any] = [{"op": "insert", "table": "T", "row": {"name": name}}]
    if durable:
        ops.append({"op": "commit", "durable": True})
    result = execute(db, ops)
    assert result.commit is not None, result.results
    return result.commit


def commit_names(storage: Storage, db: Database, names: list[str]) -> None:
    for name in names:
        commit = insert(db, name)
        storage.write_commit(commit)
        db.apply(commit)


def names_in(db: Database) -> set[str]:
    return {row.data["name"] for row in db.tables["T"].rows.values()}


@pytest.fixture
def dbfile(tmp_path: Path) -> str:
    path = str(tmp_path / "d.db")
    storage, db = Storage.create(path, SCHEMA)
    commit_names(storage, db, ["a", "b", "c"])
    storage.close()
    return path


# ---------------------------------------------------------------------------- open and create


def test_create_then_open_round_trips(dbfile: str) -> None:
    storage, db = Storage.open(dbfile)
    try:
        assert names_in(db) == {"a", "b", "c"}
        assert storage.report.n_records == 3 and storage.report.tail_error is None
        assert db.last_txn_id is not None
    finally:
        storage.close()


def test_create_refuses_existing_file(dbfile: str) -> None:
    with pytest.raises(StorageError, match="create failed"):
        Storage.create(dbfile, SCHEMA)
    # and the lock was released: the file opens
    Storage.open(dbfile)[0].close()


def test_open_missing_file_fails(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="open failed"):
        Storage.open(str(tmp_path / "nope.db"))


def test_torn_tail_is_reported_and_truncated_at_every_offset(
    dbfile: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = Path(dbfile).read_bytes()
    records = parse_records(data, dbfile).records
    last_start, end = records[-1].offset, records[-1].end
    for cut in range(last_start + 1, end):
        Path(dbfile).write_bytes(data[:cut])
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            storage, db = Storage.open(dbfile)
        try:
            assert names_in(db) == {"a", "b"}, cut
            assert storage.report.tail_error is not None
            assert storage.report.truncated_bytes == cut - last_start
            assert os.path.getsize(dbfile) == last_start
            assert "truncating" in caplog.text
            # the file goes on normally after the truncation
            commit_names(storage, db, ["d"])
        finally:
            storage.close()
        contents = read_log(dbfile)
        assert contents.tail_error is None and len(contents.records) == 4
        assert names_in(read_database(dbfile)[0]) == {"a", "b", "d"}


def test_corrupt_record_is_truncated_with_everything_after(dbfile: str) -> None:
    data = bytearray(Path(dbfile).read_bytes())
    records = parse_records(bytes(data), dbfile).records
    data[records[2].end - 5] ^= 0x20  # record 2 of 3 transactions
    Path(dbfile).write_bytes(bytes(data))
    storage, db = Storage.open(dbfile)
    storage.close()
    assert names_in(db) == {"a"}
    assert "SHA-1" in (storage.report.tail_error or "")
    assert os.path.getsize(dbfile) == records[1].end


def test_read_only_load_does_not_truncate(dbfile: str) -> None:
    size = os.path.getsize(dbfile)
    with open(dbfile, "ab") as f:
        f.write(b"OVSDB JSON 99")
    db, contents = read_database(dbfile)
    assert names_in(db) == {"a", "b", "c"} and contents.tail_error is not None
    assert os.path.getsize(dbfile) == size + 13


# ---------------------------------------------------------------------------- locking


def test_second_open_in_same_process_is_refused(dbfile: str) -> None:
    storage, _ = Storage.open(dbfile)
    try:
        with pytest.raises(LockedError):
            Storage.open(dbfile)
    finally:
        storage.close()
    Storage.open(dbfile)[0].close()


def test_open_locked_by_another_process_is_refused(dbfile: str) -> None:
    code = (
        "import sys\n"
        "from pyovn.ovsdb.server.storage import Storage\n"
        "s, _ = Storage.open(sys.argv[1])\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, dbfile],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=f"pid {child.pid}"):
            Storage.open(dbfile)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(10)
    Storage.open(dbfile)[0].close()


# ---------------------------------------------------------------------------- durability


def test_fsync_modes(dbfile: str) -> None:
    storage, db = Storage.open(dbfile)
    try:
        plain, durable = insert(db, "x"), insert(db, "y", durable=True)
        assert not storage.needs_sync(plain) and storage.needs_sync(durable)
        storage.fsync_mode = "always"
        assert storage.needs_sync(plain)
        storage.fsync_mode = "never"
        assert not storage.needs_sync(durable)
    finally:
        storage.close()
    with pytest.raises(ValueError):
        Storage.open(dbfile, fsync_mode="sometimes")  # type: ignore[arg-type]


def test_write_commit_is_in_the_file_when_it_returns(dbfile: str) -> None:
    storage, db = Storage.open(dbfile)
    try:
        commit = insert(db, "new")
        seq = storage.write_commit(commit)
        db.apply(commit)
        assert seq == storage.written_seq == 1 and storage.synced_seq == 0
        # another reader sees it before any fsync or close
        assert "new" in names_in(read_database(dbfile)[0])
        assert storage.n_fsyncs == 0
    finally:
        storage.close()


def test_group_commit_many_concurrent_syncs_few_fsyncs(dbfile: str) -> None:
    calls: list[int] = []

    def slow_fsync(fd: int) -> None:
        calls.append(fd)
        threading.Event().wait(0.02)  # the fsync "takes" a while, in its thread
        os.fsync(fd)

    storage, db = Storage.open(dbfile, fsync_mode="always", fsync=slow_fsync)

    async def writer(i: int) -> int:
        await asyncio.sleep(0)
        commit = insert(db, f"w{i}")
        seq = storage.write_commit(commit)
        db.apply(commit)
        await storage.sync(seq)
        assert storage.synced_seq >= seq
        return seq

    async def main() -> list[int]:
        return await asyncio.gather(*(writer(i) for i in range(50)))

    try:
        seqs = asyncio.run(main())
    finally:
        storage.close()
    assert sorted(seqs) == list(range(1, 51))
    assert 1 <= len(calls) <= 3, len(calls)


def test_group_commit_record_written_during_fsync_waits_for_the_next(dbfile: str) -> None:
    started = [threading.Event(), threading.Event()]
    release = [threading.Event(), threading.Event()]
    n = 0

    def gated_fsync(fd: int) -> None:
        nonlocal n
        i = n
        n += 1
        started[i].set()
        release[i].wait(5)

    storage, db = Storage.open(dbfile, fsync=gated_fsync)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        seq1 = storage.write_commit(insert(db, "one"))
        first = asyncio.ensure_future(storage.sync(seq1))
        await loop.run_in_executor(None, started[0].wait, 5)  # fsync 1 is running
        seq2 = storage.write_commit(insert(db, "two"))
        second = asyncio.ensure_future(storage.sync(seq2))
        third = asyncio.ensure_future(storage.sync(seq2))
        await asyncio.sleep(0.01)
        release[0].set()
        await first
        assert storage.synced_seq == seq1
        assert not second.done()  # record 2 was written after fsync 1 started
        await loop.run_in_executor(None, started[1].wait, 5)
        release[1].set()
        await asyncio.gather(second, third)
        assert storage.synced_seq == seq2
        assert n == 2  # one fsync served both waiters for record 2

    try:
        asyncio.run(main())
    finally:
        storage.close()


def test_sync_failure_reaches_every_waiter(dbfile: str) -> None:
    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    storage, db = Storage.open(dbfile, fsync=broken)

    async def main() -> list[Any]:
        seq = storage.write_commit(insert(db, "x"))
        return await asyncio.gather(storage.sync(seq), storage.sync(seq), return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        storage.close()
    assert all(isinstance(r, OSError) for r in results)
    assert storage.synced_seq == 0


# ---------------------------------------------------------------------------- compaction


def test_compact_keeps_content_in_one_snapshot(dbfile: str) -> None:
    storage, db = Storage.open(dbfile)
    try:
        before = names_in(db)
        storage.compact()
        contents = read_log(dbfile)
        assert len(contents.records) == 2 and contents.tail_error is None
        assert "_is_diff" not in contents.records[1].json
        commit_names(storage, db, ["after"])  # the new file takes appends
        assert storage.size == os.path.getsize(dbfile)
    finally:
        storage.close()
    assert names_in(read_database(dbfile)[0]) == before | {"after"}
    assert not os.path.exists(dbfile + ".tmp")


def test_crash_before_rename_leaves_old_file_valid(
    dbfile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = Path(dbfile).read_bytes()
    storage, _ = Storage.open(dbfile)

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    try:
        with pytest.raises(StorageError):
            storage.compact()
    finally:
        monkeypatch.undo()
        storage.close()
    assert Path(dbfile).read_bytes() == before
    assert names_in(read_database(dbfile)[0]) == {"a", "b", "c"}
    # a leftover temporary file does not disturb the next compaction
    assert os.path.exists(dbfile + ".tmp")
    storage, _ = Storage.open(dbfile)
    storage.compact()
    storage.close()
    assert names_in(read_database(dbfile)[0]) == {"a", "b", "c"}


def test_automatic_compaction_policy(dbfile: str) -> None:
    policy = CompactionPolicy(
        min_commits=5, min_interval=10.0, max_interval=100.0, min_bytes=2000, growth=2.0
    )
    storage, db = Storage.open(dbfile, policy=policy)
    try:
        t0 = storage._last_compact
        assert not storage.should_compact(t0 + 50)  # 3 records: too few commits
        commit_names(storage, db, ["d", "e"])
        assert not storage.should_compact(t0 + 5)  # too soon
        assert not storage.should_compact(t0 + 50)  # too small
        commit_names(storage, db, [f"n{i:03d}" for i in range(30)])
        assert storage.size >= 2000
        assert storage.should_compact(t0 + 50)
        storage.maybe_compact(db, now=t0 + 5)
        assert len(read_log(dbfile).records) > 2  # too soon: not compacted
        storage.maybe_compact(db, now=t0 + 50)
        assert len(read_log(dbfile).records) == 2
        t1 = t0 + 50
        commit_names(storage, db, [f"m{i}" for i in range(5)])
        assert not storage.should_compact(t1 + 50)  # small, not yet max_interval
        assert storage.should_compact(t1 + 101)  # max_interval passed
    finally:
        storage.close()
