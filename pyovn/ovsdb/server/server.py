"""The OVSDB server's request handling: every JSON-RPC method, per-session state, locks.

Transport-agnostic: a ``Session`` is given a ``send`` callable by the transport (transport.py)
and ``OvsdbServer.handle`` is awaited for each incoming message, in order, per session.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pyovn.ovsdb.data import new_uuid
from pyovn.ovsdb.errors import OvsdbError
from pyovn.ovsdb.jsonio import dumps
from pyovn.ovsdb.jsonrpc import ErrorReply, Message, Notification, Reply, Request
from pyovn.ovsdb.jsonrpc import dumps as dumpb
from pyovn.ovsdb.server.db import Commit, Database, RowChange
from pyovn.ovsdb.server.locks import LockTable
from pyovn.ovsdb.server.monitor import (
    ZERO_TXN,
    Monitor,
    group_by_table,
    merge_changes,
    parse_table_requests,
)
from pyovn.ovsdb.server.ops import execute
from pyovn.ovsdb.server.server_db import SERVER_DB, add_database_row, new_server_database

log = logging.getLogger("pyovn.ovsdb.server")

HISTORY_COMMITS = 1000  # commits kept for monitor_cond_since
UPDATE_METHOD = {1: "update", 2: "update2", 3: "update3"}


class Storage(Protocol):
    """What the server needs of durable storage (see storage.py)."""

    def write_commit(self, commit: Commit) -> int: ...

    async def sync(self, seq: int) -> None: ...

    def needs_sync(self, commit: Commit) -> bool: ...

    def maybe_compact(self, db: Database) -> None: ...


class Session:
    """One client connection's state."""

    _next_id = 0

    def __init__(self, send: Callable[[Message], None], peer: str = "") -> None:
        Session._next_id += 1
        self.id = Session._next_id
        self.peer = peer or f"session{self.id}"
        self.send = send
        # the same for a message already encoded (the transport sets it; update
        # notifications to many sessions are encoded once and spliced)
        self.send_raw: Callable[[bytes], None] | None = None
        self.monitors: dict[str, Monitor] = {}  # dumps(monitor id) -> Monitor
        self.db_change_aware = False
        self.closed = False

    def monitors_of(self, db_name: str) -> list[Monitor]:
        return [m for m in self.monitors.values() if m.db_name == db_name]


@dataclass
class _Pending:
    session: Session
    request: Request
    started: float
    timer: asyncio.TimerHandle | None = None


@dataclass
class DbState:
    db: Database
    storage: Storage | None = None
    history: deque[tuple[str, list[RowChange]]] = field(
        default_factory=lambda: deque(maxlen=HISTORY_COMMITS)
    )
    pending: list[_Pending] = field(default_factory=list)
    watchers: set[Session] = field(default_factory=set)  # sessions with monitors here


class OvsdbServer:
    def __init__(self) -> None:
        self.server_id = new_uuid()
        self.dbs: dict[str, DbState] = {}
        self.sessions: set[Session] = set()
        self.locks = LockTable(self._notify_lock)
        server_db = new_server_database()
        self.dbs[SERVER_DB] = DbState(server_db)
        add_database_row(server_db, server_db.schema)
        self.n_transactions = 0
        self._tasks: set[asyncio.Future[Any]] = set()

    def add_database(self, db: Database, storage: Storage | None = None) -> None:
        if db.name in self.dbs:
            raise ValueError(f"{db.name}: database is already served")
        self.dbs[db.name] = DbState(db, storage)
        self._server_db_commit(lambda sdb: add_database_row(sdb, db.schema))

    def _server_db_commit(self, change: Callable[[Database], None]) -> None:
        state = self.dbs[SERVER_DB]
        before = {u: r for u, r in state.db.tables["Database"].rows.items()}
        change(state.db)
        after = state.db.tables["Database"].rows
        changes = [
            RowChange("Database", u, before.get(u), r.data, r.version)
            for u, r in after.items()
            if before.get(u) is not r
        ]
        self._publish(state, Commit(changes, {}))

    # ------------------------------------------------------------------ sessions

    def open_session(self, send: Callable[[Message], None], peer: str = "") -> Session:
        session = Session(send, peer)
        self.sessions.add(session)
        return session

    def close_session(self, session: Session) -> None:
        if session.closed:
            return
        session.closed = True
        self.sessions.discard(session)
        for state in self.dbs.values():
            state.watchers.discard(session)
            for p in [p for p in state.pending if p.session is session]:
                self._drop_pending(state, p)
        self.locks.release_all(session)

    def _notify_lock(self, session: Any, method: str, name: str) -> None:
        if not session.closed:
            session.send(Notification(method, [name]))

    # ------------------------------------------------------------------ dispatch

    def dispatch(self, session: Session, msg: Message) -> Awaitable[None] | None:
        """Handle one message. Usually done at once (any reply sent) and returns None;
        a transaction that must wait for an fsync returns an awaitable that finishes
        it, and the transport handles the session's next messages after that."""
        if isinstance(msg, Request):
            handler = self._METHODS.get(msg.method)
            if handler is None:
                session.send(ErrorReply("unknown method", msg.id))
                return None
            try:
                result = handler(self, session, msg)
            except OvsdbError as exc:
                session.send(ErrorReply(exc.to_json(), msg.id))
                return None
            if asyncio.iscoroutine(result):
                return self._finish(session, msg, result)
            if result is not _NO_REPLY:
                _reply(session, result, msg.id)
        elif isinstance(msg, Notification) and msg.method == "cancel":
            self._cancel(session, msg.params)
            # other notifications (e.g. echo replies sent as notifications) are ignored
        # replies (to the server's echo probes) need no handling here
        return None

    async def _finish(self, session: Session, req: Request, pending: Awaitable[Any]) -> None:
        try:
            result = await pending
        except OvsdbError as exc:
            session.send(ErrorReply(exc.to_json(), req.id))
            return
        if result is not _NO_REPLY:
            _reply(session, result, req.id)

    async def handle(self, session: Session, msg: Message) -> None:
        pending = self.dispatch(session, msg)
        if pending is not None:
            await pending

    # ------------------------------------------------------------------ simple methods

    def _list_dbs(self, session: Session, req: Request) -> Any:
        return [n for n in self.dbs if n != SERVER_DB] + [SERVER_DB]

    def _get_schema(self, session: Session, req: Request) -> Any:
        return self._state(req.params, "get_schema").db.schema.to_json()

    def _echo(self, session: Session, req: Request) -> Any:
        return req.params

    def _get_server_id(self, session: Session, req: Request) -> Any:
        return self.server_id

    def _set_db_change_aware(self, session: Session, req: Request) -> Any:
        session.db_change_aware = bool(req.params[0]) if req.params else True
        return {}

    def _state(self, params: list[Any], method: str) -> DbState:
        if not params or not isinstance(params[0], str):
            raise OvsdbError("syntax error", "database name expected as first parameter", params)
        state = self.dbs.get(params[0])
        if state is None:
            raise OvsdbError(
                "unknown database",
                f"{method} request specifies unknown database {params[0]}",
                params,
            )
        return state

    # ------------------------------------------------------------------ transact

    def _transact(self, session: Session, req: Request) -> Any:
        state = self._state(req.params, "transact")
        pending = _Pending(session, req, time.monotonic())
        return self._run_transact(state, pending)

    def _run_transact(self, state: DbState, pending: _Pending) -> Any:
        """The results, _NO_REPLY when blocked, or an awaitable of the results when the
        commit must be fsynced before it is acknowledged."""
        session, req = pending.session, pending.request
        elapsed = (time.monotonic() - pending.started) * 1000.0
        locks = self.locks.held_by(session)
        result = execute(state.db, req.params[1:], locks=locks, elapsed_ms=elapsed)
        if result.blocked:
            if pending not in state.pending:
                state.pending.append(pending)
            if pending.timer is None:
                self._arm_wait_timer(state, pending)
            return _NO_REPLY
        if state.db.name == SERVER_DB:
            return _read_only_results(req.params[1:], result.results)
        commit = result.commit
        if commit is not None and not commit.empty:
            seq = state.storage.write_commit(commit) if state.storage is not None else 0
            state.db.apply(commit)
            self.n_transactions += 1
            self._publish(state, commit)
            if state.storage is not None:
                if state.storage.needs_sync(commit):
                    return self._synced(state.storage, state.db, seq, result.results)
                state.storage.maybe_compact(state.db)
        return result.results

    async def _synced(self, storage: Storage, db: Database, seq: int, results: Any) -> Any:
        await storage.sync(seq)
        storage.maybe_compact(db)
        return results

    def _arm_wait_timer(self, state: DbState, pending: _Pending) -> None:
        timeout = _wait_timeout(pending.request.params[1:])
        if timeout is None:
            return
        loop = asyncio.get_running_loop()
        pending.timer = loop.call_later(
            timeout / 1000.0 + 0.001, lambda: self._retry_one(state, pending)
        )

    def _retry_one(self, state: DbState, pending: _Pending) -> None:
        if pending in state.pending:
            self._spawn(self._retry(state, pending))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _retry(self, state: DbState, pending: _Pending) -> None:
        if pending not in state.pending:
            return  # already answered, canceled, or being retried
        state.pending.remove(pending)
        results = self._run_transact(state, pending)
        if asyncio.iscoroutine(results):
            results = await results
        if results is _NO_REPLY:
            return  # still blocked: _run_transact queued it again
        self._drop_pending(state, pending)
        if not pending.session.closed:
            _reply(pending.session, results, pending.request.id)

    def _drop_pending(self, state: DbState, pending: _Pending) -> None:
        if pending in state.pending:
            state.pending.remove(pending)
        if pending.timer is not None:
            pending.timer.cancel()

    def _retry_pending(self, state: DbState) -> None:
        for pending in list(state.pending):
            self._spawn(self._retry(state, pending))

    def _cancel(self, session: Session, params: list[Any]) -> None:
        if not params:
            return
        for state in self.dbs.values():
            for p in list(state.pending):
                if p.session is session and p.request.id == params[0]:
                    self._drop_pending(state, p)
                    session.send(ErrorReply("canceled", p.request.id))

    # ------------------------------------------------------------------ monitors

    def _publish(self, state: DbState, commit: Commit) -> None:
        """Send one commit's updates to every monitor of the database."""
        txn_id = commit.txn_id
        state.history.append((txn_id, commit.changes))
        if state.watchers:
            by_table = group_by_table(commit.changes)
            cache: dict[str, Any] = {}  # table-update JSON, per kind of table monitor
            encoded: dict[tuple[int, ...], bytes] = {}  # the same, encoded, per combination
            txn_json = dumpb(txn_id)
            for session in list(state.watchers):
                for monitor in session.monitors_of(state.db.name):
                    updates = monitor.updates(by_table, cache)
                    if not updates:
                        continue
                    send_raw = session.send_raw
                    if send_raw is None:
                        session.send(_update_notification(monitor, txn_id, updates))
                        continue
                    # ``cache`` holds every table update for the whole loop, so their
                    # ids identify them
                    key = tuple(map(id, updates.values()))
                    body = encoded.get(key)
                    if body is None:
                        body = encoded[key] = dumpb(updates)
                    send_raw(_encode_update(monitor, txn_json, body))
        if state.pending:
            self._retry_pending(state)

    def _new_monitor(self, session: Session, req: Request, version: int) -> tuple[DbState, Monitor]:
        params = req.params
        expected = 4 if version == 3 else 3
        if len(params) != expected:
            raise OvsdbError("syntax error", f"{req.method} expects {expected} parameters", params)
        state = self._state(params, req.method)
        key = dumps(params[1])
        if key in session.monitors:
            raise OvsdbError("syntax error", "duplicate monitor ID", params[1])
        monitor = Monitor.from_request(state.db, params[1], params[2], version)
        return state, monitor

    def _register(self, session: Session, state: DbState, monitor: Monitor) -> None:
        session.monitors[dumps(monitor.id)] = monitor
        state.watchers.add(session)

    def _monitor(self, session: Session, req: Request) -> Any:
        state, monitor = self._new_monitor(session, req, 1)
        self._register(session, state, monitor)
        return monitor.initial(state.db)

    def _monitor_cond(self, session: Session, req: Request) -> Any:
        state, monitor = self._new_monitor(session, req, 2)
        self._register(session, state, monitor)
        return monitor.initial(state.db)

    def _monitor_cond_since(self, session: Session, req: Request) -> Any:
        state, monitor = self._new_monitor(session, req, 3)
        last = req.params[3]
        self._register(session, state, monitor)
        current = state.db.last_txn_id or ZERO_TXN
        if isinstance(last, str) and last != ZERO_TXN:
            if last == current:
                return [True, last, {}]
            ids = [t for t, _ in state.history]
            if last in ids:
                since = list(state.history)[ids.index(last) + 1 :]
                merged = merge_changes(changes for _, changes in since)
                return [True, current, monitor.updates(merged, {})]
        return [False, current, monitor.initial(state.db)]

    def _monitor_cond_change(self, session: Session, req: Request) -> Any:
        params = req.params
        if len(params) != 3 or not isinstance(params[2], dict):
            raise OvsdbError("syntax error", "monitor_cond_change expects 3 parameters", params)
        old_key = dumps(params[0])
        monitor = session.monitors.get(old_key)
        if monitor is None:
            raise OvsdbError("unknown monitor", "unknown monitor session", params[0])
        new_key = dumps(params[1])
        if new_key != old_key and new_key in session.monitors:
            raise OvsdbError("syntax error", "duplicate monitor ID", params[1])
        if monitor.version == 1:
            raise OvsdbError("syntax error", "monitor_cond_change on a plain monitor", params)
        state = self.dbs[monitor.db_name]
        new_tables = {}
        for tname, reqs in params[2].items():
            old_tm = monitor.tables.get(tname)
            if old_tm is None:
                raise OvsdbError("syntax error", f"table {tname} is not monitored", params)
            reqs = reqs if isinstance(reqs, list) else [reqs]
            merged = []
            for r in reqs:
                if not isinstance(r, dict):
                    raise OvsdbError("syntax error", "bad monitor_cond_change request", r)
                r2 = {"columns": list(old_tm.columns), "select": _select_json(old_tm)}
                if "where" in r:
                    r2["where"] = r["where"]
                merged.append(r2)
            new_tables[tname] = parse_table_requests(old_tm.table, merged, monitor.version)
        del session.monitors[old_key]
        monitor.id = params[1]
        session.monitors[new_key] = monitor
        updates = monitor.cond_change(state.db, new_tables)
        if updates:
            session.send(_update_notification(monitor, state.db.last_txn_id or ZERO_TXN, updates))
        return {}

    def _monitor_cancel(self, session: Session, req: Request) -> Any:
        if len(req.params) != 1:
            raise OvsdbError("syntax error", "monitor_cancel expects 1 parameter", req.params)
        monitor = session.monitors.pop(dumps(req.params[0]), None)
        if monitor is None:
            session.send(ErrorReply("unknown monitor", req.id))
            return _NO_REPLY
        state = self.dbs.get(monitor.db_name)
        if state is not None and not session.monitors_of(monitor.db_name):
            state.watchers.discard(session)
        return {}

    # ------------------------------------------------------------------ locks

    def _lock_params(self, req: Request) -> str:
        if len(req.params) != 1 or not isinstance(req.params[0], str):
            raise OvsdbError("syntax error", f"{req.method} expects a lock name", req.params)
        return str(req.params[0])

    def _lock(self, session: Session, req: Request) -> Any:
        name = self._lock_params(req)
        return {"locked": self.locks.lock(session, name)}

    def _steal(self, session: Session, req: Request) -> Any:
        name = self._lock_params(req)
        self.locks.steal(session, name)
        return {"locked": True}

    def _unlock(self, session: Session, req: Request) -> Any:
        name = self._lock_params(req)
        self.locks.unlock(session, name)
        return {}

    _METHODS: dict[str, Callable[..., Any]] = {}


_NO_REPLY: Any = object()


def _select_json(tm: Any) -> dict[str, bool]:
    s = tm.select
    return {"initial": s.initial, "insert": s.insert, "delete": s.delete, "modify": s.modify}


def _update_notification(monitor: Monitor, txn_id: str, updates: Any) -> Notification:
    if monitor.version == 3:
        return Notification("update3", [monitor.id, txn_id, updates])
    return Notification(UPDATE_METHOD[monitor.version], [monitor.id, updates])


_WRITE_OPS = ("insert", "update", "mutate", "delete")


def _read_only_results(ops: list[Any], results: list[Any]) -> list[Any]:
    """The results of a transaction on the read-only ``_Server`` database: as ovsdb-server
    does, the first write operation fails with "not allowed" (and nothing is committed)."""
    for i, op in enumerate(ops):
        if i < len(results) and isinstance(results[i], dict) and "error" in results[i]:
            break  # an earlier error ends the transaction first
        if isinstance(op, dict) and op.get("op") in _WRITE_OPS:
            error = {
                "error": "not allowed",
                "details": f"{op['op']} operation not allowed on table in reserved "
                f"database {SERVER_DB}",
            }
            return [*results[:i], error, *([None] * (len(ops) - i - 1))]
    return results


def _reply(session: Session, result: Any, msg_id: Any) -> None:
    """Send Reply(result, msg_id); encoded directly when the transport takes bytes."""
    send_raw = session.send_raw
    if send_raw is None or result is None or msg_id is None:
        session.send(Reply(result, msg_id))  # (which rejects a null result or id)
    else:
        send_raw(
            b"".join((b'{"result":', dumpb(result), b',"error":null,"id":', dumpb(msg_id), b"}"))
        )


_UPDATE_PREFIX = {
    v: b'{"method":"' + m.encode() + b'","params":[' for v, m in UPDATE_METHOD.items()
}


def _encode_update(monitor: Monitor, txn_json: bytes, body: bytes) -> bytes:
    """The bytes of ``_update_notification`` (same JSON), from pre-encoded pieces."""
    if monitor.version == 3:
        params = b",".join((monitor.id_json, txn_json, body))
    else:
        params = monitor.id_json + b"," + body
    return b"".join((_UPDATE_PREFIX[monitor.version], params, b'],"id":null}'))


def _wait_timeout(ops: list[Any]) -> float | None:
    """The smallest finite "wait" timeout in a transaction, or None."""
    timeouts = [
        op["timeout"]
        for op in ops
        if isinstance(op, dict) and op.get("op") == "wait" and isinstance(op.get("timeout"), int)
    ]
    return min(timeouts) if timeouts else None


OvsdbServer._METHODS = {
    "list_dbs": OvsdbServer._list_dbs,
    "get_schema": OvsdbServer._get_schema,
    "echo": OvsdbServer._echo,
    "get_server_id": OvsdbServer._get_server_id,
    "set_db_change_aware": OvsdbServer._set_db_change_aware,
    "transact": OvsdbServer._transact,
    "monitor": OvsdbServer._monitor,
    "monitor_cond": OvsdbServer._monitor_cond,
    "monitor_cond_since": OvsdbServer._monitor_cond_since,
    "monitor_cond_change": OvsdbServer._monitor_cond_change,
    "monitor_cancel": OvsdbServer._monitor_cancel,
    "lock": OvsdbServer._lock,
    "steal": OvsdbServer._steal,
    "unlock": OvsdbServer._unlock,
}
