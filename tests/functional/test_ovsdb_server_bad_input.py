"""Bad input: the server answers with an error or closes that one connection, and keeps
serving everyone else (a monitoring client and a writer stay connected throughout)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from pyovn.ovsdb.jsonrpc import ErrorReply, Reply
from tests.support.inproc import start_inproc
from tests.support.rawrpc import RawClient, sync
from tests.support.server_scenarios import NB, insert_ls

MAX_MESSAGE = 1024 * 1024

# input after which the server must close the connection
FATAL: dict[str, bytes] = {
    "truncated-then-garbage": b'{"method":"echo","params":[}}}',
    "not-json": b"garbage",
    "array": b"[1,2,3]",
    "string": b'"hello"',
    "number": b"{}5",
    "empty-object": b"{}",
    "extra-member": b'{"method":"echo","params":[],"id":1,"x":2}',
    "method-not-string": b'{"method":5,"params":[],"id":1}',
    "params-object": b'{"method":"echo","params":{},"id":1}',
    "response-null-id": b'{"result":1,"error":null,"id":null}',
    "response-both-null": b'{"result":null,"error":null,"id":1}',
    "response-both-set": b'{"result":1,"error":2,"id":1}',
    "bad-utf8": b'{"method":"echo","params":["\xff\xfe"],"id":1}',
    "nan": b'{"method":"echo","params":[NaN],"id":1}',
    "deep-nesting": b'{"method":"echo","params":' + b"[" * 200_000 + b"]" * 200_000 + b',"id":1}',
    "too-big": b'{"method":"echo","params":["' + b"x" * (2 * MAX_MESSAGE) + b'"],"id":1}',
    "too-big-unfinished": b'{"method":"echo","params":["' + b"x" * (2 * MAX_MESSAGE),
}

# requests that get an error reply, the connection staying open
ANSWERED: dict[str, tuple[str, list[Any]]] = {
    "unknown-method": ("frobnicate", []),
    "unknown-database": ("get_schema", ["Nope"]),
    "transact-unknown-db": ("transact", ["Nope", {"op": "comment", "comment": "x"}]),
    "transact-no-params": ("transact", []),
    "monitor-garbage": ("monitor", [NB, None, "tables"]),
    "monitor-cond-bad-where": ("monitor_cond", [NB, 1, {"Logical_Switch": [{"where": 3}]}]),
    "lock-number": ("lock", [5]),
    "unlock-unknown": ("unlock", ["never-locked"]),
    "monitor-cancel-unknown": ("monitor_cancel", ["nope"]),
    "cond-change-unknown": ("monitor_cond_change", ["a", "b", {}]),
}


def run(tmp_path: Path, body: Any) -> None:
    async def main() -> None:
        server = await start_inproc(tmp_path, ("nb",), max_message_bytes=MAX_MESSAGE)
        watcher = await RawClient.open(server.remote)
        writer = await RawClient.open(server.remote)
        try:
            await watcher.call("monitor_cond", [NB, "w", {"Logical_Switch": [{}]}])
            await asyncio.wait_for(body(server), 120)
            # everyone else is still served
            name = f"after-{len(watcher.received)}"
            uuid = await insert_ls(writer, name)
            note = await watcher.wait_for(
                lambda m: (
                    getattr(m, "method", None) == "update2"
                    and uuid in m.params[1]["Logical_Switch"]
                )
            )
            assert note is not None
            assert not watcher.eof.is_set() and not writer.eof.is_set()
        finally:
            await watcher.close()
            await writer.close()
            await server.close()

    asyncio.run(main())


@pytest.mark.parametrize("name", sorted(FATAL))
def test_fatal_input_closes_only_that_connection(tmp_path: Path, name: str) -> None:
    async def body(server: Any) -> None:
        bad = await RawClient.open(server.remote)
        try:
            bad.send(FATAL[name])
            assert await bad.closed_by_peer(), f"{name}: connection left open"
            assert not [m for m in bad.received if isinstance(m, Reply)]
        finally:
            await bad.close()

    run(tmp_path, body)


def test_good_messages_before_bad_input_are_answered(tmp_path: Path) -> None:
    async def body(server: Any) -> None:
        bad = await RawClient.open(server.remote)
        try:
            bad.send(b'{"method":"echo","params":["first"],"id":1} \n{"method":"echo","par')
            bad.send(b'ams":["second"],"id":2} ')
            bad.send(b"oops")
            assert await bad.closed_by_peer()
            replies = [m for m in bad.received if isinstance(m, Reply)]
            assert [r.result for r in replies] == [["first"], ["second"]]
        finally:
            await bad.close()

    run(tmp_path, body)


@pytest.mark.parametrize("name", sorted(ANSWERED))
def test_bad_requests_get_error_replies(tmp_path: Path, name: str) -> None:
    async def body(server: Any) -> None:
        c = await RawClient.open(server.remote)
        try:
            method, params = ANSWERED[name]
            reply = await c.reply(c.start(method, params))
            assert isinstance(reply, ErrorReply), reply
            assert await c.call("echo", ["still open"]) == ["still open"]
        finally:
            await c.close()

    run(tmp_path, body)


def test_what_real_peers_send_is_accepted(tmp_path: Path) -> None:
    """ "params": null counts as []; a reply without "error" or "result" is fine."""

    async def body(server: Any) -> None:
        c = await RawClient.open(server.remote)
        try:
            c.send(b'{"method":"list_dbs","params":null,"id":"a"}')
            reply = await c.reply("a")
            assert isinstance(reply, Reply) and NB in reply.result
            c.send(b'{"method":"get_server_id","params":null,"id":"b"}')
            assert isinstance(await c.reply("b"), Reply)
            # replies to requests the server never sent are ignored, in either shape
            c.send(b'{"id":"echo","result":[]}{"id":99,"error":"whatever"}')
            assert await c.call("echo", [1]) == [1]
        finally:
            await c.close()

    run(tmp_path, body)


def test_byte_by_byte_and_pipelined_requests(tmp_path: Path) -> None:
    async def body(server: Any) -> None:
        c = await RawClient.open(server.remote)
        try:
            msgs = [{"method": "echo", "params": [i, "é\u2603"], "id": i} for i in range(1, 201)]
            data = b"".join(json.dumps(m, ensure_ascii=False).encode() for m in msgs)
            for i in range(0, 600):  # the first few messages, one byte at a time
                c.send(data[i : i + 1])
                if i % 50 == 0:
                    await asyncio.sleep(0)
            c.send(data[600:])  # the rest in one write
            for m in msgs:
                reply = await c.reply(m["id"])
                assert isinstance(reply, Reply) and reply.result == m["params"]
            ids = [r.id for r in c.received if isinstance(r, Reply)]
            assert ids == sorted(ids)  # answered in order
        finally:
            await c.close()

    run(tmp_path, body)


def test_big_valid_message_under_the_limit(tmp_path: Path) -> None:
    async def body(server: Any) -> None:
        c = await RawClient.open(server.remote)
        try:
            blob = "y" * (MAX_MESSAGE // 2)
            (result,) = await c.transact(
                NB,
                {
                    "op": "insert",
                    "table": "Logical_Switch",
                    "row": {"name": "big", "external_ids": ["map", [["blob", blob]]]},
                },
            )
            assert "uuid" in result
            (sel,) = await c.transact(
                NB,
                {
                    "op": "select",
                    "table": "Logical_Switch",
                    "where": [],
                    "columns": ["external_ids"],
                },
            )
            assert sel["rows"][0]["external_ids"] == ["map", [["blob", blob]]]
        finally:
            await c.close()

    run(tmp_path, body)


def test_client_closing_mid_message_and_mid_transaction(tmp_path: Path) -> None:
    async def body(server: Any) -> None:
        for _ in range(20):
            c = await RawClient.open(server.remote)
            c.send(b'{"method":"transact","params":["OVN_Northbound",{"op":"insert","tab')
            await c.close()
            d = await RawClient.open(server.remote)
            d.start("transact", [NB, {"op": "insert", "table": "Logical_Switch", "row": {}}])
            d.start("monitor", [NB, 1, {"Logical_Switch": {}}])
            await d.close()
        c = await RawClient.open(server.remote)
        try:
            await sync(c)
        finally:
            await c.close()

    run(tmp_path, body)
