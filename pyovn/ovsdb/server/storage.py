"""Durable storage for one OVSDB database: a standalone file that Open vSwitch's tools share.

The format (framing and transaction records) is in logfile.py. Durability follows
ovsdb-server: every commit is written (``os.write``) before it is acknowledged, so a killed
process loses nothing it acknowledged; a durable commit (or every commit with
``fsync_mode="always"``) is also fsynced first, with group commit: one fsync covers every
record written before it started. Compaction rewrites the file as one snapshot, atomically.

The lock is compatible with Open vSwitch: an exclusive POSIX record lock (``fcntl``) on the
whole of ``.<name>.~lock~`` beside the database file.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pyovn.ovsdb.jsonio import dumpb
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.db import Commit, Database
from pyovn.ovsdb.server.logfile import (
    StorageError,
    decode_schema,
    encode_commit,
    encode_record,
    encode_snapshot,
    fsync_dir,
    load_database,
    read_database,
    read_log,
    table_codecs,
    write_all,
)

if TYPE_CHECKING:  # asyncio is imported when first needed: the CLI never needs it
    import asyncio

log = logging.getLogger(__name__)

FsyncMode = Literal["always", "never", "durable-only"]
FSYNC_MODES: tuple[str, ...] = ("always", "never", "durable-only")
SNAPSHOT_COMMENT = "compacted by pyovn"

__all__ = [
    "FSYNC_MODES",
    "CompactionPolicy",
    "FileLock",
    "FsyncMode",
    "LockedError",
    "OpenReport",
    "Storage",
    "StorageError",
    "read_database",
    "write_snapshot_file",
]


class LockedError(StorageError):
    """Another process (or another open in this process) holds the database's lock."""


# ---------------------------------------------------------------------------- the lock

_held: set[str] = set()  # lock files held by this process (fcntl locks do not see these)
_held_mutex = threading.Lock()
os.register_at_fork(after_in_child=_held.clear)  # a child does not inherit fcntl locks


def lock_path(path: str) -> str:
    """``dir/.name.~lock~`` for ``dir/name`` (after following symlinks, as OVS does)."""
    real = os.path.realpath(path)
    directory, base = os.path.split(real)
    return os.path.join(directory, f".{base}.~lock~")


class FileLock:
    """An exclusive lock on a database file, shared with Open vSwitch's lockfile protocol."""

    __slots__ = ("_fd", "path")

    def __init__(self, db_path: str) -> None:
        self.path = lock_path(db_path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        with _held_mutex:
            if self.path in _held:
                raise LockedError(
                    f"{self.path}: cannot lock file because this process already has it locked"
                )
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise StorageError(
                    f"{self.path}: failed to open lock file ({os.strerror(exc.errno or 0)})"
                ) from exc
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _lock_holder(fd)
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    by = f" by pid {holder}" if holder else ""
                    raise LockedError(
                        f"{self.path}: cannot lock file because it is already locked{by}"
                    ) from exc
                raise StorageError(
                    f"{self.path}: failed to lock file ({os.strerror(exc.errno or 0)})"
                ) from exc
            _held.add(self.path)
            self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with _held_mutex:
            _held.discard(self.path)
            os.close(self._fd)  # closing the descriptor drops the fcntl lock
            self._fd = None


def _lock_holder(fd: int) -> int | None:
    """The pid holding a conflicting lock on ``fd``'s file, if the kernel will say."""
    try:
        query = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
        ltype, _, _, _, pid = struct.unpack("hhqqi", answer)
    except (OSError, struct.error):
        return None
    return pid if ltype != fcntl.F_UNLCK and pid > 0 else None


# ---------------------------------------------------------------------------- Storage


@dataclass(frozen=True, slots=True)
class OpenReport:
    """What opening a file found."""

    path: str
    n_records: int  # transaction and snapshot records, the schema not counted
    tail_error: str | None  # why the tail was bad, or None
    truncated_bytes: int  # bytes of a bad tail that were cut off (0 when read-only)


@dataclass(frozen=True, slots=True)
class CompactionPolicy:
    """When to compact automatically (ovsdb-server's documented rule, made adjustable).

    Not before ``min_commits`` records were added and ``min_interval`` seconds passed since
    the last compaction; then when the file is at least ``min_bytes`` and ``growth`` times
    its size right after the last compaction, or in any case once ``max_interval`` passed.
    """

    min_commits: int = 100
    min_interval: float = 600.0
    max_interval: float = 24 * 3600.0
    min_bytes: int = 10 * 1024 * 1024
    growth: float = 2.0


class Storage:
    """One open database file, locked for writing."""

    def __init__(
        self,
        path: str,
        db: Database,
        fd: int,
        lock: FileLock,
        *,
        report: OpenReport,
        fsync_mode: FsyncMode = "durable-only",
        fsync: Callable[[int], None] = os.fsync,
        policy: CompactionPolicy | None = None,
        snapshot_size: int,
        now: float | None = None,
    ) -> None:
        if fsync_mode not in FSYNC_MODES:
            raise ValueError(f"fsync_mode must be one of {FSYNC_MODES}, not {fsync_mode!r}")
        self.path = path
        self.db = db
        self.schema = db.schema
        self.report = report
        self.fsync_mode: FsyncMode = fsync_mode
        self.policy = policy if policy is not None else CompactionPolicy()
        self._fd: int | None = fd
        self._lock = lock
        self._fsync = fsync
        self._codecs = table_codecs(db)
        self._size = os.fstat(fd).st_size
        self._snapshot_size = snapshot_size
        self._n_since_compact = report.n_records
        self._last_compact = time.monotonic() if now is None else now
        self.written_seq = 0  # sequence number of the last record written
        self.synced_seq = 0  # every record up to this one is on stable storage
        self.n_fsyncs = 0
        self._sync_future: asyncio.Future[None] | None = None

    # ------------------------------------------------------------------ open and create

    @classmethod
    def open(
        cls,
        path: str,
        *,
        fsync_mode: FsyncMode = "durable-only",
        fsync: Callable[[int], None] = os.fsync,
        policy: CompactionPolicy | None = None,
    ) -> tuple[Storage, Database]:
        """Lock and load ``path``; a torn or corrupt tail is logged and truncated."""
        path = os.fspath(path)
        lock = FileLock(path)
        lock.acquire()
        try:
            contents = read_log(path)
            if not contents.records:
                raise StorageError(contents.tail_error or f"{path}: database file is empty")
            schema = decode_schema(contents.records[0], path)
            db = load_database(schema, contents.records[1:], path)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            truncated = 0
            if contents.tail_error is not None:
                truncated = contents.torn_bytes
                log.warning(
                    "%s; truncating %d bytes after the last complete record (offset %d)",
                    contents.tail_error,
                    truncated,
                    contents.good_end,
                )
                os.ftruncate(fd, contents.good_end)
                fsync(fd)
            report = OpenReport(path, len(contents.records) - 1, contents.tail_error, truncated)
            recs = contents.records
            snapshot_size = recs[1].end if len(recs) > 1 else recs[0].end
        except BaseException:
            lock.release()
            raise
        storage = cls(
            path,
            db,
            fd,
            lock,
            report=report,
            fsync_mode=fsync_mode,
            fsync=fsync,
            policy=policy,
            snapshot_size=snapshot_size,
        )
        return storage, db

    @classmethod
    def create(
        cls,
        path: str,
        schema: DatabaseSchema,
        *,
        fsync_mode: FsyncMode = "durable-only",
        fsync: Callable[[int], None] = os.fsync,
        policy: CompactionPolicy | None = None,
    ) -> tuple[Storage, Database]:
        """Create a new file holding only ``schema`` (fails if ``path`` exists)."""
        path = os.fspath(path)
        lock = FileLock(path)
        lock.acquire()
        try:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640)
            except OSError as exc:
                raise StorageError(
                    f"{path}: create failed ({os.strerror(exc.errno or 0)})"
                ) from exc
            data = encode_record(dumpb(schema.to_json()))
            try:
                write_all(fd, data)
                fsync(fd)
                fsync_dir(path)
            except OSError as exc:
                os.close(fd)
                os.unlink(path)
                raise StorageError(f"{path}: write failed ({os.strerror(exc.errno or 0)})")
        except BaseException:
            lock.release()
            raise
        db = Database(schema)
        report = OpenReport(path, 0, None, 0)
        storage = cls(
            path,
            db,
            fd,
            lock,
            report=report,
            fsync_mode=fsync_mode,
            fsync=fsync,
            policy=policy,
            snapshot_size=len(data),
        )
        return storage, db

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            self._close_fd(fd)
        self._lock.release()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def size(self) -> int:
        return self._size

    def _require_fd(self) -> int:
        if self._fd is None:
            raise StorageError(f"{self.path}: storage is closed")
        return self._fd

    def _close_fd(self, fd: int) -> None:
        pending = self._sync_future
        if pending is not None and not pending.done():
            # an fsync is running on this descriptor in a thread: close it afterwards
            pending.add_done_callback(lambda _: os.close(fd))
        else:
            os.close(fd)

    # ------------------------------------------------------------------ writing

    def write_commit(self, commit: Commit, *, date_ms: int | None = None) -> int:
        """Append ``commit``'s record (os.write, no fsync) and return its sequence number.

        When this returns, the record is in the file (the OS page cache): a process kill
        cannot lose it. A commit that changes nothing persistent writes nothing and returns
        the sequence number of the last record written.
        """
        fd = self._require_fd()
        if date_ms is None:
            date_ms = int(time.time() * 1000)
        record = encode_commit(self._codecs, commit, date_ms)
        if record is None:
            return self.written_seq
        self._append(fd, encode_record(dumpb(record)))
        self._n_since_compact += 1
        self.written_seq += 1
        return self.written_seq

    def _append(self, fd: int, data: bytes) -> None:
        try:
            write_all(fd, data)
        except OSError as exc:
            # never leave a partial record behind a later one
            try:
                os.ftruncate(fd, self._size)
            except OSError:
                pass
            raise StorageError(
                f"{self.path}: write failed ({os.strerror(exc.errno or 0)})"
            ) from exc
        self._size += len(data)

    def needs_sync(self, commit: Commit) -> bool:
        """True if ``commit`` must be fsynced before it is acknowledged."""
        mode = self.fsync_mode
        return mode == "always" or (mode == "durable-only" and commit.durable)

    def sync_now(self) -> None:
        """fsync in the calling thread (blocking): every record written so far is durable."""
        target = self.written_seq
        if self.synced_seq >= target:
            return
        self._fsync(self._require_fd())
        self.n_fsyncs += 1
        self.synced_seq = max(self.synced_seq, target)

    async def sync(self, seq: int | None = None) -> None:
        """Wait until record ``seq`` (default: the last written) is on stable storage.

        Group commit: if an fsync is already running, callers whose records it does not
        cover wait for it and then share the next one; a single fsync covers every record
        written before it started. The fsync runs in a thread so the event loop keeps going.
        """
        import asyncio

        target = self.written_seq if seq is None else min(seq, self.written_seq)
        while self.synced_seq < target:
            pending = self._sync_future
            if pending is None or pending.done():
                # done but its callback has not run yet: awaiting it again would return
                # at once and spin here forever without yielding to the event loop
                pending = self._start_fsync()
            await asyncio.shield(pending)

    def _start_fsync(self) -> asyncio.Future[None]:
        import asyncio

        loop = asyncio.get_running_loop()
        fd = self._require_fd()
        covered = self.written_seq
        future: asyncio.Future[None] = loop.run_in_executor(None, self._fsync, fd)

        def finished(fut: asyncio.Future[None]) -> None:
            if self._sync_future is fut:
                self._sync_future = None
            if not fut.cancelled() and fut.exception() is None:
                self.n_fsyncs += 1
                self.synced_seq = max(self.synced_seq, covered)

        future.add_done_callback(finished)
        self._sync_future = future
        return future

    # ------------------------------------------------------------------ compaction

    def should_compact(self, now: float | None = None) -> bool:
        """Cheap check of the automatic compaction policy (``now`` is time.monotonic())."""
        policy = self.policy
        if self._n_since_compact < policy.min_commits:
            return False
        elapsed = (time.monotonic() if now is None else now) - self._last_compact
        if elapsed < policy.min_interval:
            return False
        if self._size >= policy.min_bytes and self._size >= policy.growth * self._snapshot_size:
            return True
        return elapsed >= policy.max_interval

    def maybe_compact(self, db: Database | None = None, now: float | None = None) -> None:
        """Compact if the automatic policy (``should_compact``) says so."""
        if db is not None and db is not self.db:
            raise ValueError("maybe_compact: not the database this storage holds")
        if self.should_compact(now):
            self.compact(now=now)

    def compact(self, *, comment: str = SNAPSHOT_COMMENT, now: float | None = None) -> None:
        """Rewrite the file as the schema plus one snapshot record, atomically.

        Writes ``<path>.tmp``, fsyncs it, renames it over the file and fsyncs the directory;
        a crash at any point leaves either the old file or the new one, both complete.
        """
        old_fd = self._require_fd()
        size = write_snapshot_file(self.path, self.db, comment=comment)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._fd = fd
        self._close_fd(old_fd)
        self._size = self._snapshot_size = size
        self._n_since_compact = 1
        self._last_compact = time.monotonic() if now is None else now
        self.synced_seq = self.written_seq  # the snapshot holds everything, fsynced
        log.info("%s: compacted to %d bytes", self.path, size)


def write_snapshot_file(
    path: str, db: Database, *, comment: str | None = SNAPSHOT_COMMENT, lock: bool = True
) -> int:
    """Write ``db`` as schema + snapshot to ``path`` atomically; returns the new size.

    ``lock`` takes the lock of ``<path>.tmp`` while writing it, as ovsdb-tool does.
    """
    tmp = f"{path}.tmp"
    tmp_lock = FileLock(tmp) if lock else None
    if tmp_lock is not None:
        tmp_lock.acquire()
    try:
        data = encode_record(dumpb(db.schema.to_json()))
        data += encode_record(dumpb(encode_snapshot(db, int(time.time() * 1000), comment)))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            try:
                write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            fsync_dir(path)
        except OSError as exc:
            raise StorageError(
                f"{path}: compaction failed ({os.strerror(exc.errno or 0)})"
            ) from exc
    finally:
        if tmp_lock is not None:
            tmp_lock.release()
    return len(data)
