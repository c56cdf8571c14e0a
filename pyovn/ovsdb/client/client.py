"""An asyncio OVSDB client: connection to one of several remotes, a monitored replica,
transactions with optimistic concurrency, locks, and reconnection with monitor_cond_since.

Typical use::

    client = OvsdbClient("unix:/run/ovn/nb.sock", "OVN_Northbound")
    client.watch("Logical_Switch")
    client.watch("Logical_Switch_Port", columns=["name", "up"])
    await client.start()
    uuid = await client.transact(lambda txn: txn.insert("Logical_Switch", {"name": "sw0"}))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyovn.ovsdb.client.replica import Replica, RowEvent, RowView
from pyovn.ovsdb.client.rpc import connect as open_connection_raw
from pyovn.ovsdb.client.txn import TryAgain, Txn, TxnError, check_results, inserted_uuids
from pyovn.ovsdb.jsonrpc import (
    Connection,
    ErrorReply,
    Message,
    Notification,
    ProtocolError,
    Reply,
    Request,
    encode_message,
)
from pyovn.ovsdb.reconnect import Action, Reconnect
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.types import Uuid

log = logging.getLogger("pyovn.ovsdb.client")

ZERO_TXN = "00000000-0000-0000-0000-000000000000"
Listener = Callable[[list[RowEvent]], None]


class ConnectionLost(Exception):
    """The connection dropped before the reply arrived (a transaction may or may not have
    committed; ``OvsdbClient.transact`` rebuilds it from the replica and tries again)."""


class RpcError(Exception):
    def __init__(self, method: str, error: Any) -> None:
        super().__init__(f"{method}: {error}")
        self.error = error


@dataclass
class _Watch:
    table: str
    columns: list[str] | None
    where: list[Any] | None


@dataclass
class TxnResult:
    results: list[Any]
    uuids: dict[str, Uuid] = field(default_factory=dict)

    def uuid(self, named: Any) -> Uuid:
        return self.uuids[named.name]


class OvsdbClient:
    def __init__(
        self,
        remotes: str | Sequence[str],
        database: str,
        *,
        leader_only: bool = True,
        probe_interval: float = 5.0,
        min_backoff: float = 0.05,
        max_backoff: float = 4.0,
    ) -> None:
        if isinstance(remotes, str):
            remotes = [r for r in remotes.split(",") if r]
        if not remotes:
            raise ValueError("at least one remote is needed")
        self.remotes = list(remotes)
        self.database = database
        self.leader_only = leader_only
        self.schema: DatabaseSchema | None = None
        self.replica: Replica | None = None
        self.watches: dict[str, _Watch] = {}
        self.listeners: list[Listener] = []
        self.lock_listeners: list[Callable[[str, bool], None]] = []
        self.synced = asyncio.Event()
        self.connected_remote: str | None = None
        self.last_txn_id = ZERO_TXN
        self._wanted_locks: set[str] = set()
        self._held_locks: set[str] = set()
        self._lock_events: dict[str, asyncio.Event] = {}
        self._pending: dict[Any, asyncio.Future[Any]] = {}
        self._conn = Connection()
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._remote_index = 0
        self._monitor_method = "monitor_cond_since"
        # updates that arrive before our monitor reply has been applied wait here: they are
        # newer than the reply's contents, so they must be applied after it, not before
        self._held: list[Notification] | None = None
        self._fsm = Reconnect(
            min_backoff=int(min_backoff * 1000),
            max_backoff=int(max_backoff * 1000),
            probe_interval=int(probe_interval * 1000),
        )
        self._changed = asyncio.Condition()
        self.n_reconnects = 0

    # ------------------------------------------------------------------ set-up

    def watch(
        self, table: str, columns: Sequence[str] | None = None, where: list[Any] | None = None
    ) -> None:
        """Monitor ``table`` (all columns unless given; rows matching ``where``, a
        monitor_cond condition: clauses are OR'ed). Call before ``start``."""
        self.watches[table] = _Watch(table, list(columns) if columns is not None else None, where)

    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    async def start(self, timeout: float = 30.0) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        try:
            await asyncio.wait_for(self.synced.wait(), timeout)
        except TimeoutError:
            raise ConnectionError(
                f"could not connect to {self.database} at {','.join(self.remotes)} "
                f"within {timeout:.0f} s"
            ) from None

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._drop_connection("client closed")

    # ------------------------------------------------------------------ reading

    def rows(self, table: str) -> dict[Uuid, RowView]:
        assert self.replica is not None
        return self.replica.rows(table)

    def get(self, table: str, uuid: Uuid) -> RowView | None:
        assert self.replica is not None
        return self.replica.get(table, uuid)

    def find(self, table: str, **columns: Any) -> list[RowView]:
        return [r for r in self.rows(table).values() if all(r[c] == v for c, v in columns.items())]

    def find_one(self, table: str, **columns: Any) -> RowView | None:
        found = self.find(table, **columns)
        return found[0] if found else None

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds (checked after every replica change)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    # ------------------------------------------------------------------ requests

    async def request(self, method: str, params: list[Any]) -> Any:
        writer = self._writer
        if writer is None:
            raise ConnectionLost(f"not connected to {self.database}")
        msg_id = self._conn.next_id()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        writer.write(encode_message(Request(method, params, msg_id)))
        return await future

    def txn(self) -> Txn:
        assert self.schema is not None, "start() the client first"
        return Txn(self.schema)

    async def commit(self, txn: Txn) -> TxnResult:
        params = txn.to_params()
        results = await self.request("transact", params)
        if not isinstance(results, list):
            raise TxnError({"error": "bad reply", "details": str(results)}, [])
        check_results(params[1:], results)
        return TxnResult(results, inserted_uuids(params[1:], results))

    async def transact(
        self, build: Callable[[Txn], Any], *, retries: int = 50, durable: bool = False
    ) -> Any:
        """Build a transaction from the current replica and commit it; on "try again" or a
        lost connection wait for the replica to catch up and build it again.

        Returns what ``build`` returned, with NamedUuid values replaced by real UUIDs."""
        attempt = 0
        while True:
            await self.synced.wait()
            txn = self.txn()
            txn.durable = durable
            value = build(txn)
            if not txn.ops:
                return value
            try:
                result = await self.commit(txn)
            except (TryAgain, ConnectionLost) as exc:
                attempt += 1
                if attempt > retries:
                    raise
                log.debug("%s: retrying transaction (%s)", self.database, exc)
                await asyncio.sleep(min(0.001 * 2**attempt, 0.2))
                continue
            return _resolve(value, result)

    # ------------------------------------------------------------------ locks

    async def lock(self, name: str, wait: bool = True) -> bool:
        """Request lock ``name``; with ``wait`` return once it is held."""
        self._wanted_locks.add(name)
        event = self._lock_events.setdefault(name, asyncio.Event())
        if self._writer is not None and self.synced.is_set():
            with contextlib.suppress(RpcError):
                await self._send_lock(name)
        if wait:
            await event.wait()
        return name in self._held_locks

    def has_lock(self, name: str) -> bool:
        return name in self._held_locks

    async def _send_lock(self, name: str) -> None:
        reply = await self.request("lock", [name])
        if isinstance(reply, dict) and reply.get("locked"):
            self._set_lock(name, True)

    def _set_lock(self, name: str, held: bool) -> None:
        was = name in self._held_locks
        event = self._lock_events.setdefault(name, asyncio.Event())
        if held:
            self._held_locks.add(name)
            event.set()
        else:
            self._held_locks.discard(name)
            event.clear()
        if was != held:
            for listener in self.lock_listeners:
                listener(name, held)

    # ------------------------------------------------------------------ connection loop

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()

        def now() -> int:
            return int(loop.time() * 1000)

        self._fsm.enable(now())
        while not self._closed:
            action = self._fsm.run(now())
            if action is Action.CONNECT:
                remote = self.remotes[self._remote_index % len(self.remotes)]
                self._remote_index += 1
                self._fsm.connecting(now())
                try:
                    reader, writer = await open_connection_raw(remote)
                except OSError as exc:
                    log.debug("%s: connect to %s failed: %s", self.database, remote, exc)
                    self._fsm.connect_failed(now(), str(exc))
                    continue
                self._fsm.connected(now())
                await self._session(remote, reader, writer, now)
                continue
            if action is Action.DISCONNECT:
                self._fsm.disconnected(now(), "reconnect")
                continue
            wait = self._fsm.timeout(now())
            await asyncio.sleep(0.05 if wait is None else max(wait, 1) / 1000.0)

    async def _session(
        self,
        remote: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        now: Callable[[], int],
    ) -> None:
        self._conn = Connection(max_message_bytes=1024 * 1024 * 1024)
        self._writer = writer
        reason = "connection closed"
        read_task = asyncio.ensure_future(self._read_loop(reader, now))
        try:
            ok = await self._setup(remote)
            if not ok:
                reason = "not the leader"
                return
            self.connected_remote = remote
            probe = asyncio.ensure_future(self._probe_loop(now))
            try:
                await read_task
            finally:
                probe.cancel()
        except (ConnectionLost, RpcError, ProtocolError, OSError) as exc:
            reason = str(exc)
        finally:
            read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await read_task
            self._drop_connection(reason)
            self._fsm.disconnected(now(), reason)
            if not self._closed:
                self.n_reconnects += 1
                log.info(
                    "%s: disconnected from %s (%s); reconnecting", self.database, remote, reason
                )

    async def _probe_loop(self, now: Callable[[], int]) -> None:
        while True:
            action = self._fsm.run(now())
            if action is Action.PROBE and self._writer is not None:
                self._writer.write(encode_message(Request("echo", [], "echo")))
            elif action is Action.DISCONNECT and self._writer is not None:
                self._writer.transport.abort()
                return
            wait = self._fsm.timeout(now())
            await asyncio.sleep(1.0 if wait is None else max(wait, 10) / 1000.0)

    def _drop_connection(self, reason: str) -> None:
        self.synced.clear()
        self.connected_remote = None
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.transport.abort()
        self._writer = None
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionLost(reason))
        for name in list(self._held_locks):
            self._set_lock(name, False)

    async def _read_loop(self, reader: asyncio.StreamReader, now: Callable[[], int]) -> None:
        while True:
            data = await reader.read(1024 * 1024)
            if not data:
                raise ConnectionLost("connection closed by the server")
            self._fsm.activity(now())
            for msg in self._conn.receive_data(data):
                await self._dispatch(msg)
            if self._conn.error is not None:  # bad input after the good messages
                raise self._conn.error

    async def _dispatch(self, msg: Message) -> None:
        if isinstance(msg, (Reply, ErrorReply)):
            future = self._pending.pop(msg.id, None)
            if future is None or future.done():
                return
            if isinstance(msg, Reply):
                future.set_result(msg.result)
            else:
                future.set_exception(RpcError("request", msg.error))
        elif isinstance(msg, Request):
            if msg.method == "echo" and self._writer is not None:
                self._writer.write(encode_message(Reply(msg.params, msg.id)))
        elif isinstance(msg, Notification):
            await self._notification(msg)

    async def _notification(self, msg: Notification) -> None:
        params = msg.params
        if (
            self._held is not None
            and msg.method in ("update", "update2", "update3")
            and params
            and params[0] != ["_server", self.database]
        ):
            self._held.append(msg)
            return
        if msg.method in ("update", "update2", "update3") and self.replica is not None:
            if msg.method == "update3":
                self.last_txn_id = params[1]
                updates = params[2]
            else:
                updates = params[1]
            version = {"update": 1, "update2": 2, "update3": 2}[msg.method]
            if params and params[0] == ["_server", self.database]:
                self._server_update(updates)
                return
            await self._deliver(self.replica.apply_update(updates, version))
        elif msg.method == "locked" and params:
            self._set_lock(str(params[0]), True)
        elif msg.method == "stolen" and params:
            self._set_lock(str(params[0]), False)
            # stay queued: the server gives the lock back later with "locked"

    def _server_update(self, updates: Any) -> None:
        """The _Server row of our database changed: drop a clustered follower."""
        for row in updates.get("Database", {}).values():
            data = row.get("modify") or row.get("insert") or row.get("initial") or {}
            if data.get("leader") is False and self.leader_only and self._writer is not None:
                log.info("%s: server is no longer the leader; reconnecting", self.database)
                self._writer.transport.abort()

    async def _deliver(self, events: list[RowEvent]) -> None:
        if not events:
            return
        for listener in list(self.listeners):
            try:
                listener(events)
            except Exception:  # a listener's bug must not kill the connection
                log.exception("%s: listener failed", self.database)
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ session set-up

    async def _setup(self, remote: str) -> bool:
        if not await self._check_server(remote):
            return False
        schema_json = await self.request("get_schema", [self.database])
        schema = DatabaseSchema.from_json(schema_json)
        fresh = self.schema is None or self.schema.to_json() != schema.to_json()
        if fresh:
            self.schema = schema
            old_events = self.replica.clear() if self.replica is not None else []
            self.replica = Replica(schema)
            self.last_txn_id = ZERO_TXN
            if old_events:
                await self._deliver(old_events)
        assert self.replica is not None
        requests: dict[str, Any] = {}
        for table, w in self.watches.items():
            if table not in schema.tables:
                log.warning("%s: table %s is not in the server's schema", self.database, table)
                continue
            self.replica.add_table(table)
            req: dict[str, Any] = {}
            if w.columns is not None:
                req["columns"] = [c for c in w.columns if c in schema.tables[table].columns]
            if w.where is not None:
                req["where"] = w.where
            requests[table] = [req]
        await self._monitor(requests)
        self.synced.set()
        async with self._changed:
            self._changed.notify_all()
        for name in sorted(self._wanted_locks):
            await self._send_lock(name)
        return True

    async def _monitor(self, requests: dict[str, Any]) -> None:
        self._held = []
        try:
            await self._monitor_request(requests)
        finally:
            held, self._held = self._held, None
        for msg in held:
            await self._notification(msg)

    async def _monitor_request(self, requests: dict[str, Any]) -> None:
        assert self.replica is not None
        monitor_id = ["monid", self.database]
        if self._monitor_method == "monitor_cond_since":
            try:
                found, last, updates = await self.request(
                    "monitor_cond_since", [self.database, monitor_id, requests, self.last_txn_id]
                )
            except RpcError as exc:
                if exc.error != "unknown method":
                    raise
                self._monitor_method = "monitor_cond"
            else:
                self.last_txn_id = last
                events = (
                    self.replica.apply_update(updates, 2)
                    if found
                    else self.replica.replace_all(updates)
                )
                await self._deliver(events)
                return
        updates = await self.request("monitor_cond", [self.database, monitor_id, requests])
        await self._deliver(self.replica.replace_all(updates))

    async def _check_server(self, remote: str) -> bool:
        """Look at the _Server row of our database: it must exist and, when clustered and
        leader_only, be the connected leader."""
        try:
            reply = await self.request(
                "monitor_cond",
                [
                    "_Server",
                    ["_server", self.database],
                    {
                        "Database": [
                            {
                                "where": [["name", "==", self.database]],
                                "columns": ["name", "model", "connected", "leader"],
                            }
                        ]
                    },
                ],
            )
        except RpcError:
            return True  # an old server without _Server
        rows = list(reply.get("Database", {}).values())
        if not rows:
            log.warning("%s: %s does not serve this database", self.database, remote)
            return False
        row = rows[0].get("initial", {})
        if row.get("model") == "clustered":
            # initial rows omit default values: a missing boolean is false
            if not row.get("connected", False):
                return False
            if self.leader_only and not row.get("leader", False):
                return False
        return True


def _resolve(value: Any, result: TxnResult) -> Any:
    from pyovn.ovsdb.client.txn import NamedUuid

    if isinstance(value, NamedUuid):
        return result.uuids.get(value.name, value)
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve(v, result) for v in value)
    if isinstance(value, dict):
        return {k: _resolve(v, result) for k, v in value.items()}
    return value


AsyncBuild = Callable[[Txn], Awaitable[Any]]
