"""pyovn's OVSDB server with many clients, slow clients and silent clients.

No timing asserts: each test waits (with a generous limit) for the outcome it expects.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Any

import pytest

from pyovn.ovsdb.jsonrpc import Request, encode_message
from tests.support.inproc import start_inproc
from tests.support.rawrpc import RawClient, sync
from tests.support.server_scenarios import NB, insert_ls, smap

LIMIT = 60.0  # seconds; only ever reached when something is wrong


def run(tmp_path: Path, body: Any, **kw: Any) -> None:
    async def main() -> None:
        server = await start_inproc(tmp_path, ("nb",), **kw)
        try:
            await asyncio.wait_for(body(server), 180)
        finally:
            await server.close()

    asyncio.run(main())


async def until(predicate: Any, what: str, limit: float = LIMIT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)


def stuck_reader(path: str, request: bytes) -> socket.socket:
    """A raw client that sends ``request`` and then never reads a byte."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(path)
    sock.sendall(request)
    return sock


def test_stuck_reader_is_dropped_others_keep_going(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pyovn.ovsdb.server")
    big = "x" * 8000

    async def body(server: Any) -> None:
        path = server.remote.removeprefix("unix:")
        monitor = Request("monitor_cond", [NB, "stuck", {"Logical_Switch": [{}]}], 1)
        stuck = stuck_reader(path, encode_message(monitor))
        writer = await RawClient.open(server.remote)
        healthy = await RawClient.open(server.remote)
        try:
            await healthy.call("monitor_cond", [NB, "ok", {"Logical_Switch": [{}]}])
            await until(lambda: len(server.transport.clients) == 3, "three connections")
            await until(
                lambda: sum(bool(c.session.monitors) for c in server.transport.clients) == 2,
                "both monitors registered",
            )
            stuck_session = next(
                c.session
                for c in server.transport.clients
                if "stuck" in "".join(c.session.monitors)
            )
            names: list[str] = []
            i = 0
            while stuck_session in server.server.sessions:
                assert i < 20_000, "the stuck reader was never dropped"
                name = f"sw{i}"
                await insert_ls(writer, name, external_ids=smap(blob=big))
                names.append(name)
                i += 1
            # the writer keeps committing after the drop
            for j in range(20):
                name = f"after{j}"
                await insert_ls(writer, name)
                names.append(name)
            # and the healthy monitor saw every commit
            await sync(healthy)
            seen = {
                row["insert"]["name"]
                for n in healthy.notifications("update2")
                for row in n.params[1]["Logical_Switch"].values()
            }
            assert seen == set(names)
            assert len(server.transport.clients) == 2
        finally:
            stuck.close()
            await writer.close()
            await healthy.close()

    run(tmp_path, body, max_backlog=256 * 1024)
    drops = [r for r in caplog.records if "backlog" in r.getMessage()]
    assert len(drops) == 1, [r.getMessage() for r in caplog.records]
    assert "dropping connection" in drops[0].getMessage()


def test_many_monitoring_clients_all_get_every_update(tmp_path: Path) -> None:
    async def body(server: Any) -> None:
        monitors = [await RawClient.open(server.remote) for _ in range(100)]
        writer = await RawClient.open(server.remote)
        try:
            await asyncio.gather(
                *(
                    m.call("monitor_cond", [NB, i, {"Logical_Switch": [{"columns": ["name"]}]}])
                    for i, m in enumerate(monitors)
                )
            )
            names = {f"sw{i}" for i in range(20)}
            for name in sorted(names):
                await insert_ls(writer, name)
            for m in monitors:
                await sync(m)
                seen = {
                    row["insert"]["name"]
                    for n in m.notifications("update2")
                    for row in n.params[1]["Logical_Switch"].values()
                }
                assert seen == names
        finally:
            for c in [*monitors, writer]:
                await c.close()

    run(tmp_path, body)


def test_server_probes_idle_tcp_clients(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An idle TCP client gets "echo" probes; one that answers stays, a silent one is
    dropped. Unix-socket clients are not probed (as with ovsdb-server)."""
    caplog.set_level(logging.WARNING, logger="pyovn.ovsdb.server")

    def probes(c: RawClient) -> list[Any]:
        return [m for m in c.received if isinstance(m, Request) and m.method == "echo"]

    async def body(server: Any) -> None:
        answering = await RawClient.open(server.tcp_remote)
        silent = await RawClient.open(server.tcp_remote, answer_echo=False)
        unix_silent = await RawClient.open(server.remote, answer_echo=False)
        try:
            assert await silent.closed_by_peer(LIMIT), "the silent TCP client was not dropped"
            assert len(probes(silent)) >= 1
            assert probes(silent)[0].params == [] and probes(silent)[0].id == "echo"
            await until(lambda: len(probes(answering)) >= 3, "three probes")
            assert not answering.eof.is_set()
            assert await answering.call("echo", ["alive"]) == ["alive"]
            assert not probes(unix_silent) and not unix_silent.eof.is_set()
            assert await unix_silent.call("echo", []) == []
        finally:
            for c in (answering, silent, unix_silent):
                await c.close()

    run(tmp_path, body, tcp=True, probe_interval=0.2)
    messages = [r.getMessage() for r in caplog.records]
    assert any("inactivity probe" in m for m in messages), messages


def test_busy_client_is_not_probed_away(tmp_path: Path) -> None:
    """A TCP client that keeps sending requests (but never answers probes) is active,
    so it is not dropped while it talks."""

    async def body(server: Any) -> None:
        c = await RawClient.open(server.tcp_remote, answer_echo=False)
        try:
            loop = asyncio.get_running_loop()
            end = loop.time() + 1.0  # five probe intervals of traffic
            while loop.time() < end:
                assert await c.call("echo", ["x"]) == ["x"]
                await asyncio.sleep(0.02)
            assert not c.eof.is_set()
        finally:
            await c.close()

    run(tmp_path, body, tcp=True, probe_interval=0.2)


def test_committer_gets_its_update_and_reply_in_one_write_after_the_others(
    tmp_path: Path,
) -> None:
    """A commit's updates go to the other monitoring clients first; the committing client's
    own update and its reply leave last, in one write (update first, as before)."""

    async def body(server: Any) -> None:
        writer, other = await RawClient.open(server.remote), await RawClient.open(server.remote)
        try:
            table = {"Logical_Switch": [{"columns": ["name"]}]}
            await writer.call("monitor_cond", [NB, "mine", table])
            await other.call("monitor_cond", [NB, "theirs", table])
            writes: list[tuple[str, bytes]] = []
            for conn in server.transport.clients:
                which = "writer" if '"mine"' in conn.session.monitors else "other"
                real = conn.tx.write

                def record(data: bytes, which: str = which, real: Any = real) -> None:
                    writes.append((which, bytes(data)))
                    real(data)

                conn.tx.write = record
            await insert_ls(writer, "sw0")
            assert [w for w, _ in writes[:2]] == ["other", "writer"], writes
            data = writes[1][1]
            assert data.count(b'"method":"update2"') == 1 and b'"result"' in data
            assert data.index(b'"update2"') < data.index(b'"result"')
        finally:
            await writer.close()
            await other.close()

    run(tmp_path, body)
