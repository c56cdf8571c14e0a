"""OvsdbClient scenarios, run against pyovn's server (tests/functional) and Debian's
ovsdb-server (tests/interop). A ``Handle`` gives the scenario what it needs of a server:
its remote, a restart, a change made while it is down, and cutting every connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.ovsdb.client.replica import RowEvent
from pyovn.ovsdb.client.txn import TxnError
from pyovn.ovsdb.types import Uuid
from tests.support.rawrpc import RawClient

NB = "OVN_Northbound"
LIMIT = 60.0


class Handle(Protocol):
    remote: str

    async def restart(self, while_down: list[Any] | None = None) -> None:
        """Stop the server; apply the ``while_down`` operations to its file; start it."""

    async def drop_connections(self) -> None:
        """Cut every client connection (the server keeps running)."""


Scenario = Callable[[Handle], Awaitable[None]]
CLIENT_SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Scenario) -> Scenario:
    CLIENT_SCENARIOS[fn.__name__] = fn
    return fn


def new_client(remotes: str | list[str], **kw: Any) -> OvsdbClient:
    kw.setdefault("max_backoff", 0.5)
    client = OvsdbClient(remotes, NB, **kw)
    client.watch("Logical_Switch")
    client.watch("Logical_Switch_Port")
    return client


class Recorder:
    """A listener that keeps every event."""

    def __init__(self) -> None:
        self.events: list[RowEvent] = []

    def __call__(self, events: list[RowEvent]) -> None:
        self.events.extend(events)

    def take(self) -> list[RowEvent]:
        out, self.events = self.events, []
        return out

    def kinds(self, table: str | None = None) -> list[tuple[str, str]]:
        return sorted(
            (e.kind, str((e.new or e.old)["name"]))  # type: ignore[index]
            for e in self.events
            if table is None or e.table == table
        )


@contextlib.asynccontextmanager
async def started(*clients: OvsdbClient) -> Any:
    try:
        for c in clients:
            await c.start(timeout=LIMIT)
        yield clients
    finally:
        for c in clients:
            await c.close()


def switch_names(client: OvsdbClient) -> set[str]:
    return {str(r["name"]) for r in client.rows("Logical_Switch").values()}


async def add_switch(client: OvsdbClient, name: str, **row: Any) -> Uuid:
    return await client.transact(lambda txn: txn.insert("Logical_Switch", {"name": name, **row}))


# ------------------------------------------------------------------ replica and events


@scenario
async def replica_events_and_named_uuids(handle: Handle) -> None:
    a, b = new_client(handle.remote), new_client(handle.remote)
    rec = Recorder()
    a.add_listener(rec)
    async with started(a, b):
        assert a.rows("Logical_Switch") == {}

        def build(txn: Any) -> Any:
            vm = txn.insert(
                "Logical_Switch_Port", {"name": "vm1", "addresses": ["00:00:00:00:00:01"]}
            )
            child = txn.insert(
                "Logical_Switch_Port",
                {"name": "c1", "parent_name": "vm1", "tag_request": 7, "tag": 7},
            )
            sw = txn.insert("Logical_Switch", {"name": "sw0", "ports": [vm, child]})
            return {"switch": sw, "ports": [vm, child]}

        got = await a.transact(build)
        sw_uuid = got["switch"]
        vm_uuid, child_uuid = got["ports"]
        assert all(isinstance(u, Uuid) for u in (sw_uuid, vm_uuid, child_uuid))
        # the replica has the rows the moment transact() returns (updates come first)
        sw = a.get("Logical_Switch", sw_uuid)
        assert sw is not None and sw["name"] == "sw0"
        assert set(sw["ports"]) == {vm_uuid, child_uuid}
        child = a.get("Logical_Switch_Port", child_uuid)
        assert child is not None and child.one("parent_name") == "vm1"
        assert child.one("tag") == 7
        assert rec.kinds() == [("insert", "c1"), ("insert", "sw0"), ("insert", "vm1")]
        rec.take()

        # another client's change reaches the replica and the listener
        await b.wait_for(lambda: "sw0" in switch_names(b))
        await b.transact(
            lambda txn: txn.update("Logical_Switch", sw_uuid, {"external_ids": {"k": "v"}})
        )
        await a.wait_for(lambda: a.get("Logical_Switch", sw_uuid)["external_ids"] == {"k": "v"})
        (event,) = rec.take()
        assert event.kind == "modify" and event.old is not None and event.new is not None
        assert event.old["external_ids"] == {} and event.new["external_ids"] == {"k": "v"}

        # deleting the switch garbage-collects its (non-root) ports: three delete events
        await b.transact(lambda txn: txn.delete("Logical_Switch", sw_uuid))
        await a.wait_for(lambda: not a.rows("Logical_Switch_Port"))
        assert rec.kinds() == [("delete", "c1"), ("delete", "sw0"), ("delete", "vm1")]


@scenario
async def transaction_errors(handle: Handle) -> None:
    a = new_client(handle.remote)
    async with started(a):
        await a.transact(
            lambda txn: txn.insert(
                "Logical_Switch",
                {"name": "s", "ports": [txn.insert("Logical_Switch_Port", {"name": "p"})]},
            )
        )
        # a second port named "p" violates the index: an error, not a retry
        sw = next(iter(a.rows("Logical_Switch")))

        def dup(txn: Any) -> None:
            port = txn.insert("Logical_Switch_Port", {"name": "p"})
            txn.mutate("Logical_Switch", sw, [("ports", "insert", [port])])

        try:
            await a.transact(dup)
        except TxnError as exc:
            assert exc.name == "constraint violation", exc.error
        else:
            raise AssertionError("a duplicate index value committed")
        assert len(a.rows("Logical_Switch_Port")) == 1


@scenario
async def optimistic_concurrency(handle: Handle) -> None:
    """Two clients increment the same counter with verify: one commit fails with
    "try again" the first time, transact() rebuilds it from the updated replica, and
    both increments land."""
    a, b = new_client(handle.remote), new_client(handle.remote)
    async with started(a, b):
        sw = await add_switch(a, "counter", other_config={"n": "0"})
        await b.wait_for(lambda: b.get("Logical_Switch", sw) is not None)
        builds: list[str] = []

        def increment(client: OvsdbClient, who: str) -> Callable[[Any], None]:
            def build(txn: Any) -> None:
                builds.append(who)
                row = client.get("Logical_Switch", sw)
                assert row is not None
                n = int(row["other_config"]["n"])
                txn.verify("Logical_Switch", sw, {"other_config": row["other_config"]})
                txn.update("Logical_Switch", sw, {"other_config": {"n": str(n + 1)}})

            return build

        # both build from the same replica state before either commit reaches the server
        await asyncio.gather(a.transact(increment(a, "a")), b.transact(increment(b, "b")))
        await a.wait_for(lambda: a.get("Logical_Switch", sw)["other_config"] == {"n": "2"})
        assert len(builds) >= 3, builds  # one of them was rebuilt at least once
        for _ in range(5):  # and many more, interleaved
            await asyncio.gather(*(c.transact(increment(c, "x")) for c in (a, b, a, b)))
        await b.wait_for(lambda: b.get("Logical_Switch", sw)["other_config"] == {"n": "22"})


# ------------------------------------------------------------------ locks


@scenario
async def locks_and_stolen(handle: Handle) -> None:
    a, b = new_client(handle.remote), new_client(handle.remote)
    changes: list[tuple[str, str, bool]] = []
    a.lock_listeners.append(lambda name, held: changes.append(("a", name, held)))
    b.lock_listeners.append(lambda name, held: changes.append(("b", name, held)))
    async with started(a, b):
        assert await a.lock("northd") is True
        assert a.has_lock("northd")
        assert await b.lock("northd", wait=False) is False
        # a thief steals it: a is told, and gets it back when the thief lets go
        thief = await RawClient.open(handle.remote)
        try:
            assert await thief.call("steal", ["northd"]) == {"locked": True}
            await _until(lambda: not a.has_lock("northd"))
            assert ("a", "northd", False) in changes
            assert await thief.call("unlock", ["northd"]) == {}
            await _until(lambda: a.has_lock("northd"))
        finally:
            await thief.close()
        assert not b.has_lock("northd")
        # a goes away: b, next in the queue, gets the lock
        await a.close()
        await _until(lambda: b.has_lock("northd"))
        assert changes == [
            ("a", "northd", True),
            ("a", "northd", False),
            ("a", "northd", True),
            ("a", "northd", False),  # a's close drops what it held
            ("b", "northd", True),
        ]


async def _until(predicate: Callable[[], bool], limit: float = LIMIT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


# ------------------------------------------------------------------ reconnection


@scenario
async def reconnect_after_server_restart(handle: Handle) -> None:
    a = new_client(handle.remote)
    rec = Recorder()
    a.add_listener(rec)
    async with started(a):
        keep = await add_switch(a, "keep")
        change = await add_switch(a, "change")
        await add_switch(a, "remove")
        rec.take()
        n = a.n_reconnects
        await handle.restart(
            while_down=[
                {"op": "insert", "table": "Logical_Switch", "row": {"name": "new"}},
                {
                    "op": "update",
                    "table": "Logical_Switch",
                    "where": [["name", "==", "change"]],
                    "row": {"external_ids": ["map", [["changed", "yes"]]]},
                },
                {"op": "delete", "table": "Logical_Switch", "where": [["name", "==", "remove"]]},
            ]
        )
        await a.wait_for(lambda: a.n_reconnects > n and a.synced.is_set(), LIMIT)
        await a.wait_for(lambda: switch_names(a) == {"keep", "change", "new"}, LIMIT)
        # the listeners saw exactly the differences, not a reload of everything
        assert rec.kinds() == [("delete", "remove"), ("insert", "new"), ("modify", "change")]
        assert a.get("Logical_Switch", change)["external_ids"] == {"changed": "yes"}
        assert a.get("Logical_Switch", keep) is not None
        # and it keeps working
        await add_switch(a, "after")
        assert "after" in switch_names(a)


@scenario
async def reconnect_after_dropped_connection(handle: Handle) -> None:
    a, b = new_client(handle.remote), new_client(handle.remote)
    rec = Recorder()
    a.add_listener(rec)
    async with started(a, b):
        await add_switch(a, "one")
        await b.wait_for(lambda: "one" in switch_names(b))
        rec.take()
        n = a.n_reconnects
        await handle.drop_connections()
        # b reconnects too; whichever is back first writes what a missed
        await b.transact(lambda txn: txn.insert("Logical_Switch", {"name": "missed"}))
        await a.wait_for(lambda: a.n_reconnects > n and "missed" in switch_names(a), LIMIT)
        assert rec.kinds() == [("insert", "missed")]


@scenario
async def multiple_remotes_first_dead(handle: Handle) -> None:
    dead = handle.remote + ".dead"  # nobody listens there
    a = new_client([dead, handle.remote])
    async with started(a):
        assert a.connected_remote == handle.remote
        await add_switch(a, "via-second")
        assert "via-second" in switch_names(a)


@scenario
async def transact_survives_a_restart(handle: Handle) -> None:
    """A transaction started while the server is down commits once it is back (built
    again from the resynchronised replica: idempotent by name)."""
    a = new_client(handle.remote)
    async with started(a):
        await add_switch(a, "before")

        def ensure(txn: Any) -> None:
            if "during" not in switch_names(a):
                txn.insert("Logical_Switch", {"name": "during"})

        restart = asyncio.ensure_future(handle.restart())
        await asyncio.sleep(0)
        await a.transact(ensure)
        await restart
        await a.wait_for(lambda: a.synced.is_set() and "during" in switch_names(a), LIMIT)
        assert sorted(switch_names(a)) == ["before", "during"]
