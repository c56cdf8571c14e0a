"""pyovn's OVSDB server over real unix sockets: every JSON-RPC method.

The protocol scenarios live in tests/support/server_scenarios.py so that
tests/interop/test_server_interop_protocol.py can run them against Debian's ovsdb-server;
here they run against pyovn's server in the test's event loop. Behaviour where the two
servers differ on purpose (pyovn keeps transaction history for standalone databases,
and answers every canceled transaction) is tested below.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from pyovn.ovsdb.jsonrpc import ErrorReply, Notification, Reply
from tests.support.inproc import start_inproc
from tests.support.rawrpc import RawClient, sync
from tests.support.server_scenarios import NB, SCENARIOS, ZERO, insert_ls, ls, wait_ls


def run_inproc(tmp_path: Path, body: Any, **kw: Any) -> None:
    async def main() -> None:
        server = await start_inproc(tmp_path, ("nb",), **kw)
        try:
            await asyncio.wait_for(body(server), 120)
        finally:
            await server.close()

    asyncio.run(main())


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(tmp_path: Path, name: str) -> None:
    run_inproc(tmp_path, lambda server: SCENARIOS[name](server.remote))


def test_scenarios_over_tcp(tmp_path: Path) -> None:
    async def main() -> None:
        for name in ("transact_basics", "monitor_cond_change", "locks"):
            workdir = tmp_path / name
            workdir.mkdir()
            server = await start_inproc(workdir, ("nb",), tcp=True)
            try:
                await asyncio.wait_for(SCENARIOS[name](server.tcp_remote), 60)
            finally:
                await server.close()

    asyncio.run(main())


# ------------------------------------------------------------------ pyovn-specific


def test_cancel_answers_without_change_awareness(tmp_path: Path) -> None:
    """RFC 7047 4.1.4: the canceled transaction gets an error reply "canceled"."""

    async def body(server: Any) -> None:
        a = await RawClient.open(server.remote)
        try:
            msg_id = a.start("transact", [NB, wait_ls("x")])
            await sync(a)
            a.send(Notification("cancel", [msg_id]))
            reply = await a.reply(msg_id)
            assert isinstance(reply, ErrorReply) and reply.error == "canceled"
            assert not server.server.dbs[NB].pending
            # canceling an unknown id does nothing
            a.send(Notification("cancel", [12345]))
            await sync(a)
        finally:
            await a.close()

    run_inproc(tmp_path, body)


def test_closing_a_session_drops_its_pending_waits(tmp_path: Path) -> None:
    async def body(server: Any) -> None:
        a = await RawClient.open(server.remote)
        b = await RawClient.open(server.remote)
        try:
            a.start("transact", [NB, wait_ls("x", timeout=600_000)])
            await sync(a)
            assert len(server.server.dbs[NB].pending) == 1
            await a.close()
            await sync(b)
            while server.server.dbs[NB].pending:  # the server notices the close
                await asyncio.sleep(0.01)
            await insert_ls(b, "x")  # must not try to answer the closed session
            assert await b.call("echo", []) == []
        finally:
            await b.close()

    run_inproc(tmp_path, body)


def test_monitor_cond_since_history(tmp_path: Path) -> None:
    """A client that reconnects with the last txn id it saw gets only what it missed
    (found=true); an id the server never issued gets the full snapshot (found=false)."""

    async def body(server: Any) -> None:
        w = await RawClient.open(server.remote)
        m = await RawClient.open(server.remote)
        req = {"Logical_Switch": [{"columns": ["name", "external_ids"]}]}
        try:
            ua = await insert_ls(w, "a")
            found, last, updates = await m.call("monitor_cond_since", [NB, "s", req, ZERO])
            assert found is False and set(updates["Logical_Switch"]) == {ua}
            assert last == server.server.dbs[NB].db.last_txn_id
            ub = await insert_ls(w, "b")
            note = await m.notification("update3")
            seen = note.params[1]
            await m.close()  # the client goes away ...

            # ... and misses an insert, a modification, a delete, and a row that came and went
            uc = await insert_ls(w, "c")
            await w.transact(
                NB,
                {
                    "op": "update",
                    "table": "Logical_Switch",
                    "where": [["name", "==", "b"]],
                    "row": {"external_ids": ["map", [["k", "v"]]]},
                },
            )
            await w.transact(
                NB, {"op": "delete", "table": "Logical_Switch", "where": [["name", "==", "a"]]}
            )
            await insert_ls(w, "tmp")
            await w.transact(
                NB, {"op": "delete", "table": "Logical_Switch", "where": [["name", "==", "tmp"]]}
            )
            current = server.server.dbs[NB].db.last_txn_id

            m2 = await RawClient.open(server.remote)
            try:
                found, last, updates = await m2.call("monitor_cond_since", [NB, "s", req, seen])
                assert found is True and last == current
                assert updates == {
                    "Logical_Switch": {
                        uc: {"insert": {"name": "c"}},
                        ub: {"modify": {"external_ids": ["map", [["k", "v"]]]}},
                        ua: {"delete": None},
                    }
                }
                # up to date already: found, nothing to send
                m3 = await RawClient.open(server.remote)
                try:
                    assert await m3.call("monitor_cond_since", [NB, "s", req, current]) == [
                        True,
                        current,
                        {},
                    ]
                finally:
                    await m3.close()
                # an unknown id: the full snapshot
                found, last, updates = await m2.call(
                    "monitor_cond_since", [NB, "s2", req, "12345678-1234-4234-8234-123456789abc"]
                )
                assert found is False and last == current
                assert set(updates["Logical_Switch"]) == {ub, uc}
                assert all("initial" in r for r in updates["Logical_Switch"].values())
            finally:
                await m2.close()
        finally:
            await w.close()
            await m.close()

    run_inproc(tmp_path, body)


def test_monitor_cond_since_history_respects_the_condition(tmp_path: Path) -> None:
    async def body(server: Any) -> None:
        w = await RawClient.open(server.remote)
        req = {"Logical_Switch": [{"columns": ["name"], "where": [["name", "==", "in"]]}]}
        try:
            m = await RawClient.open(server.remote)
            await m.call("monitor_cond_since", [NB, "s", req, ZERO])
            await insert_ls(w, "in")
            seen = (await m.notification("update3")).params[1]
            await m.close()
            u_out = await insert_ls(w, "out")
            await w.transact(
                NB,
                {
                    "op": "update",
                    "table": "Logical_Switch",
                    "where": [["name", "==", "in"]],
                    "row": {"name": "gone"},
                },
            )
            await w.transact(
                NB,
                {
                    "op": "update",
                    "table": "Logical_Switch",
                    "where": [["_uuid", "==", ["uuid", u_out]]],
                    "row": {"name": "in"},
                },
            )
            m2 = await RawClient.open(server.remote)
            try:
                found, _, updates = await m2.call("monitor_cond_since", [NB, "s", req, seen])
                assert found is True
                rows = updates["Logical_Switch"]
                assert rows[u_out] == {"insert": {"name": "in"}}
                assert [r for u, r in rows.items() if u != u_out] == [{"delete": None}]
            finally:
                await m2.close()
        finally:
            await w.close()

    run_inproc(tmp_path, body)


def test_unknown_database_and_bad_monitor_requests(tmp_path: Path) -> None:
    async def body(server: Any) -> None:
        c = await RawClient.open(server.remote)
        try:
            bad = [
                ("monitor", ["nope", 1, {}]),
                ("monitor", [NB, 1, {"No_Table": {}}]),
                ("monitor", [NB, 1, {"Logical_Switch": {"columns": ["nope"]}}]),
                ("monitor", [NB, 1, {"Logical_Switch": {"where": []}}]),  # not in v1
                ("monitor_cond", [NB, 1, {"Logical_Switch": [{"where": [["x", "==", 1]]}]}]),
                ("monitor_cond", [NB, 1, {"Logical_Switch": [{"select": {"insert": 1}}]}]),
                ("monitor_cond", [NB, 1]),
                ("monitor_cond_since", [NB, 1, {}]),
                ("monitor_cond_change", [1, 2, {}]),
                ("monitor_cancel", []),
                ("lock", []),
                ("lock", [1]),
                ("transact", []),
                ("transact", [1]),
                ("get_schema", []),
            ]
            for method, params in bad:
                reply = await c.reply(c.start(method, params))
                assert isinstance(reply, ErrorReply), (method, params, reply)
            # after all that, the session works and holds no monitors
            assert await c.call("echo", ["ok"]) == ["ok"]
            await insert_ls(c, "x")
            await sync(c)
            assert not c.notifications()
        finally:
            await c.close()

    run_inproc(tmp_path, body)


def test_monitor_cond_change_of_a_plain_monitor_fails(tmp_path: Path) -> None:
    async def body(server: Any) -> None:
        c = await RawClient.open(server.remote)
        try:
            await c.call("monitor", [NB, "m", {"Logical_Switch": {}}])
            reply = await c.reply(
                c.start("monitor_cond_change", ["m", "m", {"Logical_Switch": [{"where": []}]}])
            )
            assert isinstance(reply, ErrorReply)
            await c.call("monitor_cond", [NB, "c", {"Logical_Switch": [{}]}])
            reply = await c.reply(
                c.start("monitor_cond_change", ["c", "m", {"Logical_Switch": [{"where": []}]}])
            )
            assert isinstance(reply, ErrorReply)  # "m" is taken
            reply = await c.reply(
                c.start("monitor_cond_change", ["c", "d", {"Logical_Router": [{"where": []}]}])
            )
            assert isinstance(reply, ErrorReply)  # not a monitored table
        finally:
            await c.close()

    run_inproc(tmp_path, body)


def test_wait_across_commits_then_timeout(tmp_path: Path) -> None:
    """A wait with a timeout is re-evaluated after every commit and answers "timed out"
    only once its timeout passed (measured from when the request arrived)."""

    async def body(server: Any) -> None:
        a = await RawClient.open(server.remote)
        b = await RawClient.open(server.remote)
        try:
            msg_id = a.start("transact", [NB, wait_ls("never", timeout=300), ls("blocked")])
            for i in range(3):
                await insert_ls(b, f"noise{i}")
            reply = await a.reply(msg_id)
            assert isinstance(reply, Reply)
            assert reply.result[0]["error"] == "timed out"
            assert reply.result[1] is None  # the insert after the failed wait did not run
            (sel,) = await b.transact(
                NB,
                {"op": "select", "table": "Logical_Switch", "where": [["name", "==", "blocked"]]},
            )
            assert sel["rows"] == []
        finally:
            await a.close()
            await b.close()

    run_inproc(tmp_path, body)


def test_update_for_every_monitor_of_one_session(tmp_path: Path) -> None:
    """Two monitors in one session (v1 and v3) both get one commit, each in its format."""

    async def body(server: Any) -> None:
        c = await RawClient.open(server.remote)
        try:
            await c.call("monitor", [NB, "v1", {"Logical_Switch": {"columns": ["name"]}}])
            await c.call(
                "monitor_cond_since", [NB, "v3", {"Logical_Switch": [{"columns": ["name"]}]}, ZERO]
            )
            uuid = await insert_ls(c, "x")
            (u1,) = c.notifications("update")
            (u3,) = c.notifications("update3")
            assert u1.params == ["v1", {"Logical_Switch": {uuid: {"new": {"name": "x"}}}}]
            assert u3.params[0] == "v3" and u3.params[1] == server.server.dbs[NB].db.last_txn_id
            assert u3.params[2] == {"Logical_Switch": {uuid: {"insert": {"name": "x"}}}}
        finally:
            await c.close()

    run_inproc(tmp_path, body)


def test_durable_commits_keep_each_session_in_order(tmp_path: Path) -> None:
    """With fsync_mode="always" every commit waits for its fsync; meanwhile the session's
    next requests wait too, so replies keep request order, and updates still come before
    each transaction's reply."""

    async def body(server: Any) -> None:
        c = await RawClient.open(server.remote)
        others = [await RawClient.open(server.remote) for _ in range(3)]
        try:
            await c.call("monitor_cond", [NB, "m", {"Logical_Switch": [{"columns": ["name"]}]}])
            ids = []
            for i in range(30):
                ids.append(c.start("transact", [NB, ls(f"sw{i}")]))
                ids.append(c.start("echo", [i]))
            # other sessions commit at the same time (group commit shares fsyncs)
            await asyncio.gather(
                *(insert_ls(o, f"other{j}-{k}") for k in range(10) for j, o in enumerate(others))
            )
            replies = [await c.reply(i) for i in ids]
            assert all(isinstance(r, Reply) for r in replies), replies
            order = [c.index_of(r) for r in replies]
            assert order == sorted(order)
            for reply in replies[::2]:
                uuid = reply.result[0]["uuid"][1]
                (note,) = [
                    n for n in c.notifications("update2") if uuid in n.params[1]["Logical_Switch"]
                ]
                assert c.index_of(note) < c.index_of(reply)
        finally:
            for x in [c, *others]:
                await x.close()

    run_inproc(tmp_path, body, fsync_mode="always")


def test_spliced_notifications_and_replies_are_the_messages(tmp_path: Path) -> None:
    """Updates are encoded once per commit and spliced per monitor, replies are encoded
    directly: the bytes must decode to exactly the messages the slow path builds."""
    import json

    from pyovn.ovsdb.jsonrpc import dumps, message_to_json
    from pyovn.ovsdb.server.monitor import Monitor
    from pyovn.ovsdb.server.server import (
        Session,
        _encode_update,
        _reply,
        _update_notification,
    )
    from pyovn.ovsdb.server.server_db import new_server_database

    db = new_server_database()
    updates = {"Database": {"u": {"insert": {"name": "é☃", "n": [1, 2.5, None, True]}}}}
    txn = "5c3c6a1e-7bd1-4e0c-9d5c-2d6f8b1a2b3c"
    for version in (1, 2, 3):
        for monitor_id in (None, "m", ["monid", "OVN_Northbound"], {"k": ["ü", 1]}, 7):
            monitor = Monitor.from_request(db, monitor_id, {"Database": {}}, version)
            data = _encode_update(monitor, dumps(txn), dumps(updates))
            want = message_to_json(_update_notification(monitor, txn, updates))
            assert json.loads(data) == want
    # the id of a monitor renamed by monitor_cond_change is re-encoded
    monitor.id = "renamed"
    assert json.loads(_encode_update(monitor, dumps(txn), dumps(updates)))["params"][0] == "renamed"

    sent: list[Any] = []
    session = Session(sent.append)
    session.send_raw = sent.append
    for result, msg_id in (([{"uuid": ["uuid", txn]}], 3), ({}, "echo"), (["é"], [1, "x"])):
        _reply(session, result, msg_id)
        assert json.loads(sent.pop()) == {"result": result, "error": None, "id": msg_id}


def test_a_bug_in_a_handler_costs_only_that_connection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.ERROR, logger="pyovn.ovsdb.server")

    async def body(server: Any) -> None:
        def broken(srv: Any, session: Any, req: Any) -> Any:
            raise RuntimeError("a bug")

        server.server._METHODS = {**server.server._METHODS, "broken": broken}
        a = await RawClient.open(server.remote)
        b = await RawClient.open(server.remote)
        try:
            await b.call("monitor_cond", [NB, "m", {"Logical_Switch": [{}]}])
            a.start("broken", [])
            assert await a.closed_by_peer()
            await insert_ls(b, "fine")
            assert await b.call("echo", ["ok"]) == ["ok"]
        finally:
            await a.close()
            await b.close()

    run_inproc(tmp_path, body)
    assert any("a bug" in (r.exc_text or "") for r in caplog.records)
