"""The API's fast SQL path without sockets: statements prepared for SQLite and PostgreSQL,
transactions and savepoints on the driver's cursor, and the SQLite group commit
(WriteBatcher): jobs waiting together share a transaction, each keeps its own outcome."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.engine import Engine

from pyovn.api.batch import WriteBatcher, with_retries
from pyovn.api.errors import Conflict
from pyovn.api.models import Network, make_engine
from pyovn.api.rawsql import CursorDb, Prepared, RawSql, json_text, json_value

_Q_NAME = select(Network.name).where(Network.id == bindparam("id"))
_Q_ALL = select(Network.id).order_by(Network.id)
_INSERT = insert(Network)
_KEYS = [c.key for c in Network.__table__.columns]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    yield eng
    eng.dispose()


def net_row(ident: str, name: str = "") -> dict[str, Any]:
    return {
        "id": ident, "project_id": "p", "name": name or ident, "description": "",
        "admin_state_up": True, "shared": False, "mtu": 1442, "status": "ACTIVE",
        "port_security_enabled": True, "revision_number": 1, "created_at": "t",
        "updated_at": "t",
    }  # fmt: skip


def ids(raw: RawSql) -> list[str]:
    with raw.transaction() as db:
        return db.scalars(_Q_ALL, {})


# ---------------------------------------------------------------------- prepared statements


def test_sqlite_statements_take_positional_parameters(engine: Engine) -> None:
    p = Prepared(_Q_NAME, engine, None)
    assert "?" in p.sql and p.names == ("id",)
    assert p.args({"id": "x", "unused": 1}) == ("x",)
    p = Prepared(_INSERT, engine, _KEYS)
    assert p.names == tuple(_KEYS)


def test_postgresql_statements_take_named_parameters() -> None:
    class Pg:  # what Prepared needs of an engine
        dialect = psycopg.dialect()

    p = Prepared(_Q_NAME, Pg(), None)  # type: ignore[arg-type]
    assert "%(id)s" in p.sql and p.names is None
    params = {"id": "x"}
    assert p.args(params) is params


def test_expanding_parameters_are_refused(engine: Engine) -> None:
    stmt = select(Network.id).where(Network.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="expanding"):
        Prepared(stmt, engine, None)


def test_json_columns_as_the_driver_has_them() -> None:
    assert json_value(json_text({"a": [1]})) == {"a": [1]}  # SQLite: text
    assert json_value([{"start": "x"}]) == [{"start": "x"}]  # psycopg: parsed already


# ---------------------------------------------------------------------- transactions


def test_transaction_commits_or_rolls_back(engine: Engine) -> None:
    raw = RawSql(engine)
    with raw.transaction() as db:
        db.insert(_INSERT, [net_row("a")], _KEYS)
    with pytest.raises(RuntimeError), raw.transaction() as db:
        db.insert(_INSERT, [net_row("b")], _KEYS)
        raise RuntimeError("no")
    assert ids(raw) == ["a"]
    with raw.transaction() as db:
        assert db.first(_Q_NAME, {"id": "a"}) == ("a",)
        assert db.first(_Q_NAME, {"id": "b"}) is None


def test_savepoint_undoes_only_its_own_writes(engine: Engine) -> None:
    raw = RawSql(engine)
    with raw.transaction(begin="BEGIN IMMEDIATE") as db:
        db.insert(_INSERT, [net_row("a")], _KEYS)
        with pytest.raises(RuntimeError), db.savepoint():
            db.insert(_INSERT, [net_row("b")], _KEYS)
            raise RuntimeError("undo b")
        with db.savepoint():
            db.insert(_INSERT, [net_row("c")], _KEYS)
    assert ids(raw) == ["a", "c"]


def test_a_lost_race_is_undone_and_retried(engine: Engine) -> None:
    raw = RawSql(engine)
    with raw.transaction() as db:
        db.insert(_INSERT, [net_row("taken")], _KEYS)
    tries = iter(["taken", "taken", "free"])
    races: list[int] = []

    def job(db: CursorDb) -> str:
        db.insert(_INSERT, [net_row("side-effect-" + str(len(races)))], _KEYS)
        ident = next(tries)
        db.insert(_INSERT, [net_row(ident)], _KEYS)  # the unique key: a race lost
        return ident

    with raw.transaction() as db:
        got = with_retries(db.savepoint, job, (raw.integrity_error,), 5, lambda: races.append(1))
    assert got == "free" and len(races) == 2
    # the attempts that lost were undone, side effects included
    assert ids(raw) == ["free", "side-effect-2", "taken"]

    def always(db: CursorDb) -> str:
        db.insert(_INSERT, [net_row("taken")], _KEYS)
        return "never"

    with pytest.raises(Conflict), raw.transaction() as db:
        with_retries(db.savepoint, always, (raw.integrity_error,), 3, lambda: None)


# ---------------------------------------------------------------------- group commit


def _batched(
    engine: Engine, jobs: list[Any], raw: RawSql | None = None
) -> tuple[WriteBatcher, list[Any]]:
    """Queue ``jobs`` while the writer thread is busy, then let it go: one transaction."""
    executor = ThreadPoolExecutor(1)
    batcher = WriteBatcher(raw or RawSql(engine), executor)
    busy = threading.Event()

    async def main() -> list[Any]:
        executor.submit(busy.wait)
        tasks = [asyncio.ensure_future(batcher.run(job)) for job in jobs]
        while len(batcher._queue) < len(jobs):
            await asyncio.sleep(0)
        busy.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    try:
        return batcher, asyncio.run(main())
    finally:
        executor.shutdown(wait=True)


def _insert(ident: str) -> Any:
    def job(db: CursorDb) -> str:
        with db.savepoint():
            db.insert(_INSERT, [net_row(ident)], _KEYS)
        return ident

    return job


def test_waiting_jobs_share_one_transaction(engine: Engine) -> None:
    batcher, results = _batched(engine, [_insert(f"n{i:02}") for i in range(20)])
    assert results == [f"n{i:02}" for i in range(20)]
    assert (batcher.n_batches, batcher.n_jobs) == (1, 20)
    assert ids(RawSql(engine)) == [f"n{i:02}" for i in range(20)]


def test_a_failing_job_keeps_its_own_outcome(engine: Engine) -> None:
    def bad(db: CursorDb) -> str:
        with db.savepoint():
            db.insert(_INSERT, [net_row("bad")], _KEYS)
            raise Conflict("this one fails", "Whatever")

    batcher, results = _batched(engine, [_insert("a"), bad, _insert("a"), _insert("b")])
    assert results[0] == "a" and results[3] == "b"
    assert isinstance(results[1], Conflict)
    assert isinstance(results[2], RawSql(engine).integrity_error)  # "a" again
    assert batcher.n_batches == 1
    assert ids(RawSql(engine)) == ["a", "b"]


def test_a_failed_commit_fails_every_job_of_the_batch(engine: Engine) -> None:
    real = RawSql(engine)

    class FailingCommit(RawSql):
        @contextmanager
        def transaction(self, begin: str | None = None) -> Iterator[CursorDb]:
            with real.transaction(begin) as db:
                yield db
                raise OSError("disk full")  # as a failing COMMIT would

    failed: list[int] = []
    raw = FailingCommit(engine)
    executor = ThreadPoolExecutor(1)
    batcher = WriteBatcher(raw, executor)
    batcher.on_failure = lambda: failed.append(1)

    async def main() -> list[Any]:
        jobs = [batcher.run(_insert("a")), batcher.run(_insert("b"))]
        return await asyncio.gather(*jobs, return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        executor.shutdown(wait=True)
    assert all(isinstance(r, OSError) for r in results) and failed
    assert batcher.n_jobs == 0
    assert ids(real) == []
