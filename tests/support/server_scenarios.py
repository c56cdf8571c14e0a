"""Protocol scenarios for an OVSDB server, written against the wire (raw JSON-RPC).

Each scenario is ``async def scenario(remote: str) -> None`` and works on an empty NB
database. tests/functional runs them against pyovn's server; tests/interop runs the same
ones against Debian's ovsdb-server, which proves the expectations are the real server's.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from pyovn.ovsdb.jsonrpc import ErrorReply, Notification, Reply
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.schemas import schema_path
from tests.support.rawrpc import RawClient, RpcFailed, sync

NB = "OVN_Northbound"
ZERO = "00000000-0000-0000-0000-000000000000"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Scenario = Callable[[str], Awaitable[None]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


def ls(name: str, **row: Any) -> dict[str, Any]:
    return {"op": "insert", "table": "Logical_Switch", "row": {"name": name, **row}}


def smap(**pairs: str) -> list[Any]:
    return ["map", [[k, v] for k, v in sorted(pairs.items())]]


def wait_ls(name: str, timeout: int | None = None) -> dict[str, Any]:
    """A wait that holds once a Logical_Switch named ``name`` exists."""
    op: dict[str, Any] = {
        "op": "wait",
        "table": "Logical_Switch",
        "where": [["name", "==", name]],
        "columns": ["name"],
        "until": "==",
        "rows": [{"name": name}],
    }
    if timeout is not None:
        op["timeout"] = timeout
    return op


async def insert_ls(client: RawClient, name: str, **row: Any) -> str:
    result = await client.transact(NB, ls(name, **row))
    assert "error" not in result[0], result
    return str(result[0]["uuid"][1])


async def clients(remote: str, n: int) -> list[RawClient]:
    return [await RawClient.open(remote) for _ in range(n)]


async def close_all(cs: list[RawClient]) -> None:
    for c in cs:
        await c.close()


def one_row(update: dict[str, Any], table: str = "Logical_Switch") -> tuple[str, Any]:
    rows = update[table]
    assert len(rows) == 1, rows
    return next(iter(rows.items()))


# ------------------------------------------------------------------ simple methods


@scenario
async def list_dbs(remote: str) -> None:
    (c,) = await clients(remote, 1)
    try:
        dbs = await c.call("list_dbs", [])
        assert NB in dbs and "_Server" in dbs
    finally:
        await c.close()


@scenario
async def get_schema(remote: str) -> None:
    (c,) = await clients(remote, 1)
    try:
        got = DatabaseSchema.from_json(await c.call("get_schema", [NB]))
        want = DatabaseSchema.from_file(schema_path("nb"))
        assert got.name == want.name and got.version == want.version
        assert set(got.tables) == set(want.tables)
        for name, table in want.tables.items():
            assert set(got.tables[name].columns) == set(table.columns), name
        server = await c.call("get_schema", ["_Server"])
        assert server["name"] == "_Server" and "Database" in server["tables"]
        try:
            await c.call("get_schema", ["nope"])
        except RpcFailed as exc:
            assert exc.error["error"] == "unknown database"
        else:
            raise AssertionError("get_schema of an unknown database succeeded")
    finally:
        await c.close()


@scenario
async def echo_and_unknown_method(remote: str) -> None:
    (c,) = await clients(remote, 1)
    try:
        assert await c.call("echo", [1, "two", {"3": [4]}]) == [1, "two", {"3": [4]}]
        assert await c.call("echo", []) == []
        reply = await c.reply(c.start("no_such_method", []))
        assert isinstance(reply, ErrorReply) and reply.error == "unknown method"
        # the connection is still usable
        assert await c.call("echo", ["still here"]) == ["still here"]
    finally:
        await c.close()


@scenario
async def server_id_and_change_awareness(remote: str) -> None:
    a, b = await clients(remote, 2)
    try:
        sid = await a.call("get_server_id", [])
        assert isinstance(sid, str) and UUID_RE.match(sid)
        assert await b.call("get_server_id", []) == sid  # one id per server process
        assert await a.call("set_db_change_aware", [True]) == {}
        assert await a.call("set_db_change_aware", [False]) == {}
    finally:
        await close_all([a, b])


@scenario
async def server_database_table(remote: str) -> None:
    (c,) = await clients(remote, 1)
    try:
        (result,) = await c.transact(
            "_Server",
            {
                "op": "select",
                "table": "Database",
                "where": [["name", "==", NB]],
                "columns": ["name", "model", "connected", "leader", "schema"],
            },
        )
        (row,) = result["rows"]
        assert row["model"] == "standalone" and row["connected"] is True
        assert row["leader"] is True
        schema = json.loads(row["schema"][1] if isinstance(row["schema"], list) else row["schema"])
        assert schema["name"] == NB
        # monitor_cond on _Server, as IDLs do first
        initial = await c.call(
            "monitor_cond",
            ["_Server", "s", {"Database": [{"columns": ["name", "model", "leader"]}]}],
        )
        names = {r["initial"]["name"] for r in initial["Database"].values()}
        assert NB in names
        # _Server is read-only
        (error,) = await c.transact(
            "_Server",
            {"op": "insert", "table": "Database", "row": {"name": "x", "model": "standalone"}},
        )
        assert error["error"] == "not allowed", error
        (result,) = await c.transact(
            "_Server", {"op": "select", "table": "Database", "where": [], "columns": ["name"]}
        )
        assert "x" not in {r["name"] for r in result["rows"]}
    finally:
        await c.close()


# ------------------------------------------------------------------ transact, wait, cancel


@scenario
async def transact_basics(remote: str) -> None:
    (c,) = await clients(remote, 1)
    try:
        insert, select = await c.transact(
            NB,
            ls("sw0", external_ids=smap(k="v")),
            {"op": "select", "table": "Logical_Switch", "where": [["name", "==", "sw0"]]},
        )
        assert UUID_RE.match(insert["uuid"][1])
        (row,) = select["rows"]
        assert row["name"] == "sw0" and row["external_ids"] == smap(k="v")
        assert row["_uuid"] == insert["uuid"]
        # a failing operation aborts the whole transaction
        results = await c.transact(NB, ls("sw1"), {"op": "no-such-op"})
        assert results[0] is not None and "error" in results[1]
        (sel,) = await c.transact(
            NB, {"op": "select", "table": "Logical_Switch", "where": [], "columns": ["name"]}
        )
        assert [r["name"] for r in sel["rows"]] == ["sw0"]
        # a transaction on an unknown database is an error reply
        reply = await c.reply(c.start("transact", ["nope", ls("x")]))
        assert isinstance(reply, ErrorReply)
        assert reply.error["error"] == "unknown database"
    finally:
        await c.close()


@scenario
async def wait_blocks_until_another_commit(remote: str) -> None:
    a, b = await clients(remote, 2)
    try:
        waiting = a.start("transact", [NB, wait_ls("late")])
        bounded = a.start("transact", [NB, wait_ls("late", timeout=600_000)])
        await sync(a)  # both transactions were read, and are blocked: no reply yet
        assert not [m for m in a.received if getattr(m, "id", None) in (waiting, bounded)]
        await insert_ls(b, "other")  # a commit that does not satisfy the wait
        await sync(a)
        assert not [m for m in a.received if getattr(m, "id", None) in (waiting, bounded)]
        await insert_ls(b, "late")
        for msg_id in (waiting, bounded):
            reply = await a.reply(msg_id)
            assert isinstance(reply, Reply) and reply.result == [{}], reply
    finally:
        await close_all([a, b])


@scenario
async def wait_times_out(remote: str) -> None:
    (c,) = await clients(remote, 1)
    try:
        (result,) = await c.transact(NB, wait_ls("never", timeout=50))
        assert result["error"] == "timed out", result
        (result,) = await c.transact(NB, wait_ls("never", timeout=0))
        assert result["error"] == "timed out", result
        # nothing is left pending: an insert now produces no second reply
        before = len(c.received)
        await insert_ls(c, "never")
        await sync(c)
        late = [m for m in c.received[before:] if isinstance(m, Reply) and m.result == [{}]]
        assert not late
    finally:
        await c.close()


@scenario
async def cancel_blocked_wait(remote: str) -> None:
    a, b = await clients(remote, 2)
    try:
        # ovsdb-server answers a canceled transaction ("canceled", RFC 7047 4.1.4) to
        # clients that are change aware; pyovn always does (see the pyovn-only test)
        await a.call("set_db_change_aware", [True])
        msg_id = a.start("transact", [NB, wait_ls("x")])
        await sync(a)
        a.send(Notification("cancel", [msg_id]))
        reply = await a.reply(msg_id)
        assert isinstance(reply, ErrorReply) and reply.error == "canceled"
        # the canceled wait is gone: a commit that would satisfy it brings no reply
        n = len([m for m in a.received if getattr(m, "id", None) == msg_id])
        await insert_ls(b, "x")
        await sync(a)
        assert len([m for m in a.received if getattr(m, "id", None) == msg_id]) == n
    finally:
        await close_all([a, b])


# ------------------------------------------------------------------ locks


@scenario
async def locks(remote: str) -> None:
    a, b, c = await clients(remote, 3)
    assert_lock = {"op": "assert", "lock": "L"}
    try:
        assert await a.call("lock", ["L"]) == {"locked": True}
        assert await b.call("lock", ["L"]) == {"locked": False}
        # assert is tied to the lock being held now
        ok, inserted = await a.transact(NB, assert_lock, ls("by-a"))
        assert ok == {} and "uuid" in inserted
        (err, _) = await b.transact(NB, assert_lock, ls("by-b"))
        assert err["error"] == "not owner", err
        # a second lock or steal of the same lock needs an unlock first
        for method in ("lock", "steal"):
            reply = await a.reply(a.start(method, ["L"]))
            assert isinstance(reply, ErrorReply) and reply.error["error"] == "syntax error"
        # c steals: a is told, stays queued; b is not told anything
        assert await c.call("steal", ["L"]) == {"locked": True}
        stolen = await a.notification("stolen")
        assert stolen.params == ["L"]
        (err,) = await a.transact(NB, assert_lock)
        assert err["error"] == "not owner"
        assert await c.transact(NB, assert_lock) == [{}]
        # c unlocks: the lock goes back to a (front of the queue), with "locked"
        assert await c.call("unlock", ["L"]) == {}
        locked = await a.notification("locked")
        assert locked.params == ["L"]
        assert await a.transact(NB, assert_lock) == [{}]
        # a disconnects: b is next
        await a.close()
        locked = await b.notification("locked")
        assert locked.params == ["L"]
        assert await b.transact(NB, assert_lock) == [{}]
        await sync(c)
        assert not c.notifications("locked") and not b.notifications("stolen")
        # unlock without lock is an error
        reply = await c.reply(c.start("unlock", ["L"]))
        assert isinstance(reply, ErrorReply) and reply.error["error"] == "syntax error"
        # the rows a inserted while holding the lock are there; b's are not
        (sel,) = await c.transact(
            NB, {"op": "select", "table": "Logical_Switch", "where": [], "columns": ["name"]}
        )
        assert [r["name"] for r in sel["rows"]] == ["by-a"]
    finally:
        await close_all([a, b, c])


# ------------------------------------------------------------------ monitors


@scenario
async def monitor_v1(remote: str) -> None:
    w, m = await clients(remote, 2)
    try:
        uuid0 = await insert_ls(w, "sw0", external_ids=smap(a="1"))
        initial = await m.call(
            "monitor",
            [NB, "mon", {"Logical_Switch": {"columns": ["name", "external_ids"]}}],
        )
        assert initial == {
            "Logical_Switch": {
                uuid0: {"new": {"name": "sw0", "external_ids": smap(a="1")}},
            }
        }
        # insert
        start = len(m.received)
        uuid1 = await insert_ls(w, "sw1")
        note = await m.notification("update", start=start)
        assert note.params == [
            "mon",
            {"Logical_Switch": {uuid1: {"new": {"name": "sw1", "external_ids": smap()}}}},
        ]
        # modify: "old" has the changed columns, "new" every monitored column
        start = len(m.received)
        await w.transact(
            NB,
            {
                "op": "update",
                "table": "Logical_Switch",
                "where": [["name", "==", "sw0"]],
                "row": {"external_ids": smap(a="2")},
            },
        )
        note = await m.notification("update", start=start)
        assert note.params[1] == {
            "Logical_Switch": {
                uuid0: {
                    "old": {"external_ids": smap(a="1")},
                    "new": {"name": "sw0", "external_ids": smap(a="2")},
                }
            }
        }
        # a change to a column nobody monitors sends nothing
        start = len(m.received)
        await w.transact(
            NB,
            {
                "op": "update",
                "table": "Logical_Switch",
                "where": [["name", "==", "sw0"]],
                "row": {"other_config": smap(x="y")},
            },
        )
        await sync(m)
        assert not [x for x in m.received[start:] if isinstance(x, Notification)]
        # delete: "old" has every monitored column
        start = len(m.received)
        await w.transact(NB, {"op": "delete", "table": "Logical_Switch", "where": []})
        note = await m.notification("update", start=start)
        assert note.params[1] == {
            "Logical_Switch": {
                uuid0: {"old": {"name": "sw0", "external_ids": smap(a="2")}},
                uuid1: {"old": {"name": "sw1", "external_ids": smap()}},
            }
        }
    finally:
        await close_all([w, m])


@scenario
async def monitor_select_flags(remote: str) -> None:
    w, m = await clients(remote, 2)
    try:
        await insert_ls(w, "before")
        initial = await m.call(
            "monitor",
            [
                NB,
                1,
                {
                    "Logical_Switch": {
                        "columns": ["name"],
                        "select": {"initial": False, "insert": True, "delete": False},
                    }
                },
            ],
        )
        assert initial == {}
        start = len(m.received)
        uuid = await insert_ls(w, "after")
        note = await m.notification("update", start=start)
        assert note.params == [1, {"Logical_Switch": {uuid: {"new": {"name": "after"}}}}]
        start = len(m.received)
        await w.transact(NB, {"op": "delete", "table": "Logical_Switch", "where": []})
        await sync(m)
        assert not [x for x in m.received[start:] if isinstance(x, Notification)]
    finally:
        await close_all([w, m])


@scenario
async def monitor_cond_conditions_are_ored(remote: str) -> None:
    w, m = await clients(remote, 2)
    try:
        ua = await insert_ls(w, "a", external_ids=smap(k="1"))
        ub = await insert_ls(w, "b")
        uc = await insert_ls(w, "c")
        where = [["name", "==", "a"], ["name", "==", "b"]]
        initial = await m.call(
            "monitor_cond",
            [NB, "m2", {"Logical_Switch": [{"columns": ["name", "external_ids"], "where": where}]}],
        )
        # update2 initial rows leave out default values
        assert initial == {
            "Logical_Switch": {
                ua: {"initial": {"name": "a", "external_ids": smap(k="1")}},
                ub: {"initial": {"name": "b"}},
            }
        }

        async def change(name: str, row: dict[str, Any]) -> dict[str, Any]:
            start = len(m.received)
            await w.transact(
                NB,
                {
                    "op": "update",
                    "table": "Logical_Switch",
                    "where": [["name", "==", name]],
                    "row": row,
                },
            )
            await sync(m)
            notes = [x for x in m.received[start:] if isinstance(x, Notification)]
            assert all(n.method == "update2" and n.params[0] == "m2" for n in notes)
            return notes[0].params[1] if notes else {}

        # a row inside the condition changes: modify, with the map difference
        got = await change("a", {"external_ids": smap(k="2", n="3")})
        assert got == {"Logical_Switch": {ua: {"modify": {"external_ids": smap(k="2", n="3")}}}}
        # a row outside the condition changes: nothing
        assert await change("c", {"external_ids": smap(z="1")}) == {}
        # c enters the condition: insert, with its whole row
        got = await change("c", {"name": "b"})
        assert got == {
            "Logical_Switch": {uc: {"insert": {"name": "b", "external_ids": smap(z="1")}}}
        }
        # a leaves the condition: delete
        got = await change("a", {"name": "zzz"})
        assert got == {"Logical_Switch": {ua: {"delete": None}}}
        # a brand-new row that matches: insert
        start = len(m.received)
        ud = await insert_ls(w, "a")
        note = await m.notification("update2", start=start)
        assert note.params == ["m2", {"Logical_Switch": {ud: {"insert": {"name": "a"}}}}]
    finally:
        await close_all([w, m])


@scenario
async def monitor_cond_boolean_and_empty_conditions(remote: str) -> None:
    w, m = await clients(remote, 2)
    try:
        ua = await insert_ls(w, "a")
        ub = await insert_ls(w, "b")
        got = await m.call(
            "monitor_cond",
            [
                NB,
                "t",
                {
                    "Logical_Switch": [{"columns": ["name"], "where": [True]}],
                    "Logical_Router": [{"columns": ["name"], "where": [False]}],
                    "NB_Global": [{"columns": ["name"], "where": []}],
                },
            ],
        )
        assert set(got["Logical_Switch"]) == {ua, ub}
        assert "Logical_Router" not in got
        got2 = await m.call(
            "monitor_cond",
            [NB, "f", {"Logical_Switch": [{"columns": ["name"], "where": [False]}]}],
        )
        assert got2 == {}
    finally:
        await close_all([w, m])


@scenario
async def update2_rows_leave_out_defaults(remote: str) -> None:
    """Every kind of column in "initial" and "insert" rows: scalars, optional values
    (a present false or 0 is not a default), sets of one and of several, maps, refs."""
    w, m = await clients(remote, 2)
    lsp = {
        "name": "c1",
        "type": "",
        "options": smap(),
        "parent_name": "vm1",
        "tag_request": 0,
        "tag": ["set", []],
        "addresses": ["set", ["00:00:00:00:00:02 10.0.0.2", "unknown"]],
        "up": False,
        "external_ids": smap(k="v", a="b"),
    }
    want_lsp = {
        "name": "c1",
        "parent_name": "vm1",
        "tag_request": 0,
        "addresses": ["set", ["00:00:00:00:00:02 10.0.0.2", "unknown"]],
        "up": False,
        "external_ids": smap(a="b", k="v"),
    }
    try:
        port, switch = await w.transact(
            NB,
            {"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "p", "row": lsp},
            ls("sw", ports=["named-uuid", "p"], other_config=smap()),
        )
        up, us = port["uuid"][1], switch["uuid"][1]
        cols = list(lsp)
        initial = await m.call(
            "monitor_cond",
            [
                NB,
                "f",
                {
                    "Logical_Switch_Port": [{"columns": cols}],
                    "Logical_Switch": [{"columns": ["name", "ports", "other_config", "acls"]}],
                },
            ],
        )
        assert initial == {
            "Logical_Switch_Port": {up: {"initial": want_lsp}},
            "Logical_Switch": {us: {"initial": {"name": "sw", "ports": ["uuid", up]}}},
        }
        start = len(m.received)
        port2, _ = await w.transact(
            NB,
            {
                "op": "insert",
                "table": "Logical_Switch_Port",
                "uuid-name": "p2",
                "row": {**lsp, "name": "c2", "tag": 5, "up": True},
            },
            {
                "op": "mutate",
                "table": "Logical_Switch",
                "where": [["name", "==", "sw"]],
                "mutations": [["ports", "insert", ["set", [["named-uuid", "p2"]]]]],
            },
        )
        note = await m.notification("update2", start=start)
        up2 = port2["uuid"][1]
        assert note.params[1] == {
            "Logical_Switch_Port": {
                up2: {"insert": {**want_lsp, "name": "c2", "tag": 5, "up": True}}
            },
            "Logical_Switch": {us: {"modify": {"ports": ["uuid", up2]}}},
        }
    finally:
        await close_all([w, m])


@scenario
async def monitor_cond_change(remote: str) -> None:
    w, m = await clients(remote, 2)
    try:
        ua = await insert_ls(w, "a")
        ub = await insert_ls(w, "b")
        initial = await m.call(
            "monitor_cond",
            [
                NB,
                "old",
                {"Logical_Switch": [{"columns": ["name"], "where": [["name", "==", "a"]]}]},
            ],
        )
        assert set(initial["Logical_Switch"]) == {ua}
        start = len(m.received)
        msg_id = m.start(
            "monitor_cond_change",
            ["old", "new", {"Logical_Switch": [{"where": [["name", "==", "b"]]}]}],
        )
        reply = await m.reply(msg_id)
        assert isinstance(reply, Reply) and reply.result == {}
        notes = [x for x in m.received[start:] if isinstance(x, Notification)]
        # the rows that left and entered the condition, sent before the reply
        assert len(notes) == 1 and m.index_of(notes[0]) < m.index_of(reply)
        assert notes[0].method == "update2"
        assert notes[0].params[1] == {
            "Logical_Switch": {ua: {"delete": None}, ub: {"insert": {"name": "b"}}}
        }
        # later updates use the new monitor id and the new condition
        start = len(m.received)
        await insert_ls(w, "a")
        ub2 = await insert_ls(w, "b")
        note = await m.notification("update2", start=start)
        assert note.params == ["new", {"Logical_Switch": {ub2: {"insert": {"name": "b"}}}}]
        # the old id is gone
        reply = await m.reply(m.start("monitor_cond_change", ["old", "x", {}]))
        assert isinstance(reply, ErrorReply)
    finally:
        await close_all([w, m])


@scenario
async def monitor_cond_since_unknown_id_gives_snapshot(remote: str) -> None:
    w, m = await clients(remote, 2)
    try:
        ua = await insert_ls(w, "a")
        found, last, updates = await m.call(
            "monitor_cond_since",
            [
                NB,
                "s",
                {"Logical_Switch": [{"columns": ["name"]}]},
                "12345678-1234-4234-8234-123456789abc",
            ],
        )
        assert found is False
        assert isinstance(last, str) and UUID_RE.match(last)
        assert updates == {"Logical_Switch": {ua: {"initial": {"name": "a"}}}}
        start = len(m.received)
        ub = await insert_ls(w, "b")
        note = await m.notification("update3", start=start)
        assert note.params[0] == "s" and UUID_RE.match(note.params[1])
        assert note.params[2] == {"Logical_Switch": {ub: {"insert": {"name": "b"}}}}
    finally:
        await close_all([w, m])


@scenario
async def monitor_cancel(remote: str) -> None:
    w, m = await clients(remote, 2)
    try:
        await m.call("monitor", [NB, ["my", "id"], {"Logical_Switch": {"columns": ["name"]}}])
        reply = await m.reply(
            m.start("monitor", [NB, ["my", "id"], {"Logical_Switch": {"columns": ["name"]}}])
        )
        assert isinstance(reply, ErrorReply)  # duplicate monitor id
        await insert_ls(w, "one")
        await m.notification("update")
        assert await m.call("monitor_cancel", [["my", "id"]]) == {}
        start = len(m.received)
        await insert_ls(w, "two")
        await sync(m)
        assert not [x for x in m.received[start:] if isinstance(x, Notification)]
        reply = await m.reply(m.start("monitor_cancel", [["my", "id"]]))
        assert isinstance(reply, ErrorReply) and reply.error == "unknown monitor"
        # the id can be used again
        again = await m.call(
            "monitor", [NB, ["my", "id"], {"Logical_Switch": {"columns": ["name"]}}]
        )
        assert len(again["Logical_Switch"]) == 2
    finally:
        await close_all([w, m])


@scenario
async def own_updates_before_transact_reply(remote: str) -> None:
    (c,) = await clients(remote, 1)
    try:
        await c.call("monitor_cond", [NB, "a", {"Logical_Switch": [{"columns": ["name"]}]}])
        await c.call("monitor", [NB, "b", {"Logical_Switch": {"columns": ["name"]}}])
        for i in range(20):
            msg_id = c.start("transact", [NB, ls(f"sw{i}")])
            reply = await c.reply(msg_id)
            assert isinstance(reply, Reply)
            uuid = reply.result[0]["uuid"][1]
            at = c.index_of(reply)
            for method in ("update2", "update"):
                notes = [
                    n
                    for n in c.notifications(method)
                    if uuid in n.params[1].get("Logical_Switch", {})
                ]
                assert len(notes) == 1, (method, i)
                assert c.index_of(notes[0]) < at, f"{method} after the transact reply"
    finally:
        await c.close()


@scenario
async def many_updates_reach_every_monitor(remote: str) -> None:
    w, *ms = await clients(remote, 5)
    try:
        for i, m in enumerate(ms):
            await m.call("monitor_cond", [NB, i, {"Logical_Switch": [{"columns": ["name"]}]}])
        names = [f"sw{i}" for i in range(50)]
        await asyncio.gather(*(insert_ls(w, n) for n in names))
        for m in ms:
            await sync(m)
            seen = {
                row["insert"]["name"]
                for n in m.notifications("update2")
                for row in n.params[1]["Logical_Switch"].values()
            }
            assert seen == set(names)
    finally:
        await close_all([w, *ms])


# scenarios where Debian's standalone server behaves differently (pyovn only)
PYOVN_ONLY: set[str] = set()
