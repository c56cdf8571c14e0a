"""Group commit for SQLite: port creates that wait for the API's one SQLite writer thread
run together in one transaction, each in a savepoint of its own.

A commit and a hop to the writer thread and back cost more than the statements of a port
create; with concurrent clients several creates are queued whenever the thread is busy,
and they now share one ``BEGIN IMMEDIATE`` ... ``COMMIT`` and one wake-up of the event loop.
Nothing is delayed to form a batch: the thread takes whatever is waiting when it is free.
Every job's outcome is its own (a job that fails is rolled back to its savepoint and the
others go on); a commit that fails fails every job of the batch. Replies go out only after
the commit, so an acknowledged port survives the process being killed.

``BEGIN IMMEDIATE`` takes SQLite's write lock before the first read, so what a job reads
(free addresses, tags) cannot change under it, even with other processes on the file.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from pyovn.api.errors import Conflict
from pyovn.api.rawsql import CursorDb, RawSql

log = logging.getLogger("pyovn.api")
_T = TypeVar("_T")
Job = Callable[[CursorDb], Any]


def with_retries(
    scope: Callable[[], AbstractContextManager[CursorDb]],
    job: Callable[[CursorDb], _T],
    races: tuple[type[Exception], ...],
    retries: int,
    on_race: Callable[[], None],
) -> _T:
    """Run ``job`` in ``scope`` (a transaction or a savepoint); when it loses a race for a
    unique value (``races``: the integrity errors), undo it, call ``on_race`` and run it
    again, ``retries`` times at most."""
    last_error: Exception | None = None
    for _attempt in range(retries):
        try:
            with scope() as db:
                return job(db)
        except races as exc:
            last_error = exc
            on_race()
    raise Conflict(f"Could not allocate a unique address or tag: {last_error}")


class WriteBatcher:
    """Runs jobs in ``executor`` (one thread), the jobs waiting at a time in one
    transaction; ``after_commit`` runs in that thread after each commit, ``on_failure``
    after a transaction that did not commit."""

    def __init__(self, raw: RawSql, executor: Executor) -> None:
        self.raw = raw
        self.executor = executor
        self.after_commit: Callable[[], None] = lambda: None
        self.on_failure: Callable[[], None] = lambda: None
        self.n_batches = 0  # transactions committed, and the jobs they carried
        self.n_jobs = 0
        self._queue: list[tuple[Job, asyncio.Future[Any]]] = []
        self._lock = threading.Lock()
        self._scheduled = False

    async def run(self, job: Callable[[CursorDb], _T]) -> _T:
        """``job(db)`` in the next transaction; it must undo its own writes when it
        raises (``db.savepoint()``)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[_T] = loop.create_future()
        with self._lock:
            self._queue.append((job, done))
            schedule, self._scheduled = not self._scheduled, True
        if schedule:
            self.executor.submit(self._drain, loop)
        return await done

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """In the writer thread: one transaction for every job queued now."""
        with self._lock:
            jobs, self._queue = self._queue, []
            self._scheduled = False
        results: list[tuple[bool, Any]] = []
        try:
            with self.raw.transaction(begin="BEGIN IMMEDIATE") as db:
                for job, _done in jobs:
                    try:
                        results.append((True, job(db)))
                    except Exception as exc:  # this job's outcome: the others go on
                        results.append((False, exc))
        except Exception as exc:  # BEGIN or COMMIT failed: none of them happened
            log.warning("SQL transaction of %d writes failed: %s", len(jobs), exc)
            results = [(False, exc)] * len(jobs)
            self.on_failure()
        else:
            self.n_batches += 1
            self.n_jobs += len(jobs)
            self.after_commit()
        try:
            loop.call_soon_threadsafe(_deliver, list(_pairs(jobs, results)))
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass


def _pairs(
    jobs: list[tuple[Job, asyncio.Future[Any]]], results: list[tuple[bool, Any]]
) -> Iterator[tuple[asyncio.Future[Any], bool, Any]]:
    for (_job, done), (ok, value) in zip(jobs, results, strict=True):
        yield done, ok, value


def _deliver(outcomes: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for done, ok, value in outcomes:
        if done.done():  # its request went away
            continue
        if ok:
            done.set_result(value)
        else:
            done.set_exception(value)
