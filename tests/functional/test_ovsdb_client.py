"""OvsdbClient against pyovn's server (in the test's event loop, real unix sockets).

The scenarios are in tests/support/client_scenarios.py; tests/interop/
test_server_interop_client.py runs them against Debian's ovsdb-server.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from pyovn.ovsdb.server.ops import execute
from pyovn.ovsdb.server.server import OvsdbServer
from pyovn.ovsdb.server.storage import Storage
from tests.support.client_scenarios import (
    CLIENT_SCENARIOS,
    LIMIT,
    NB,
    add_switch,
    new_client,
    started,
    switch_names,
)
from tests.support.inproc import InprocServer, start_inproc


class InprocHandle:
    """pyovn's server in this event loop; restart = close it and open the file again."""

    def __init__(self, workdir: Path, **kw: Any) -> None:
        self.workdir = workdir
        self.kw = kw
        self.server: InprocServer | None = None
        self.mcs_replies: list[Any] = []  # every monitor_cond_since reply the server sent

    @property
    def remote(self) -> str:
        assert self.server is not None
        return self.server.remote

    async def start(self) -> None:
        self.server = await start_inproc(self.workdir, ("nb",), **self.kw)
        methods = dict(OvsdbServer._METHODS)
        real = methods["monitor_cond_since"]

        def spy(server: OvsdbServer, session: Any, req: Any) -> Any:
            reply = real(server, session, req)
            if req.params and req.params[0] == NB:
                self.mcs_replies.append(reply)
            return reply

        methods["monitor_cond_since"] = spy
        self.server.server._METHODS = methods  # type: ignore[misc]

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()
            self.server = None

    async def restart(self, while_down: list[Any] | None = None) -> None:
        await self.stop()
        if while_down:
            storage, db = Storage.open(str(self.workdir / "nb.db"))
            try:
                result = execute(db, while_down)
                assert result.commit is not None, result.results
                storage.write_commit(result.commit)
                db.apply(result.commit)
            finally:
                storage.close()
        await self.start()

    async def drop_connections(self) -> None:
        assert self.server is not None
        self.server.drop_all_connections()


def run(tmp_path: Path, body: Any, **kw: Any) -> InprocHandle:
    handle = InprocHandle(tmp_path, **kw)

    async def main() -> None:
        await handle.start()
        try:
            await asyncio.wait_for(body(handle), 180)
        finally:
            await handle.stop()

    asyncio.run(main())
    return handle


@pytest.mark.parametrize("name", sorted(CLIENT_SCENARIOS))
def test_client_scenario(tmp_path: Path, name: str) -> None:
    run(tmp_path, CLIENT_SCENARIOS[name])


def test_dropped_connection_resyncs_with_history(tmp_path: Path) -> None:
    """After a dropped connection the client asks for what it missed since its last txn id,
    and pyovn's server answers from its history: found=true, only the missed rows."""
    handle = run(tmp_path, CLIENT_SCENARIOS["reconnect_after_dropped_connection"])
    # a's and b's first monitor (found=false, empty db), then their reconnects
    assert len(handle.mcs_replies) == 4, handle.mcs_replies
    assert [r[0] for r in handle.mcs_replies[:2]] == [False, False]
    resyncs = handle.mcs_replies[2:]
    assert [r[0] for r in resyncs] == [True, True]
    for _found, _, updates in resyncs:
        rows = updates.get("Logical_Switch", {}).values()
        # nothing the client already had is sent again ("one" existed before the drop)
        assert all(r.get("insert", {}).get("name") != "one" for r in rows)


def test_restart_resyncs_with_a_full_snapshot(tmp_path: Path) -> None:
    handle = run(tmp_path, CLIENT_SCENARIOS["reconnect_after_server_restart"])
    assert [r[0] for r in handle.mcs_replies] == [False, False]


def test_client_answers_server_probes(tmp_path: Path) -> None:
    """Over TCP the server probes an idle client; OvsdbClient answers and stays."""

    async def body(handle: InprocHandle) -> None:
        assert handle.server is not None and handle.server.tcp_remote is not None
        a = new_client(handle.server.tcp_remote, probe_interval=60)
        async with started(a):
            loop = asyncio.get_running_loop()
            end = loop.time() + 1.5  # several probe intervals with no traffic at all
            while loop.time() < end:
                await asyncio.sleep(0.1)
            assert a.n_reconnects == 0 and a.synced.is_set()
            await add_switch(a, "still-connected")

    run(tmp_path, body, tcp=True, probe_interval=0.2)


def test_client_drops_a_silent_server(tmp_path: Path) -> None:
    """The client probes too: a server that stops answering is left for another remote."""

    async def body(handle: InprocHandle) -> None:
        a = new_client(handle.remote, probe_interval=0.2)
        async with started(a):
            server = handle.server
            assert server is not None
            # the server stops reading anything from its clients
            for client in list(server.transport.clients):
                client.tx.pause_reading()
            await a.wait_for(lambda: a.n_reconnects > 0 and a.synced.is_set(), LIMIT)
            await add_switch(a, "after-probe")
            assert "after-probe" in switch_names(a)

    run(tmp_path, body)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_busy_client_keeps_a_server_that_answered(tmp_path: Path, loop: str) -> None:
    """The event loop is busy for longer than the probe interval just after the server
    answered the client's probe: when it runs again the deadline has passed, but the
    answer is in the socket. The client reads before it judges: the connection stays."""

    async def body(handle: InprocHandle) -> None:
        assert handle.server is not None
        running = asyncio.get_running_loop()
        answered: list[float] = []

        def echo(server: OvsdbServer, session: Any, req: Any) -> Any:
            if not answered:
                answered.append(running.time())
                running.call_soon(time.sleep, 1.0)  # the reply is sent, then the loop stalls
            return req.params

        handle.server.server._METHODS = {**handle.server.server._METHODS, "echo": echo}  # type: ignore[misc]
        a = new_client(handle.remote, probe_interval=0.3)
        async with started(a):
            while not answered:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            assert a.n_reconnects == 0 and a.synced.is_set()
            await add_switch(a, "no-reconnect")

    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        handle = InprocHandle(tmp_path)

        async def main() -> None:
            await handle.start()
            try:
                await asyncio.wait_for(body(handle), 60)
            finally:
                await handle.stop()

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
    else:
        run(tmp_path, body)


def test_client_waits_for_a_server_that_starts_late(tmp_path: Path) -> None:
    async def main() -> None:
        handle = InprocHandle(tmp_path)
        a = new_client(f"unix:{tmp_path / 'db.sock'}")
        start = asyncio.ensure_future(a.start(timeout=LIMIT))
        await asyncio.sleep(0.3)  # a few failed attempts
        await handle.start()
        try:
            await start
            await add_switch(a, "late")
            assert "late" in switch_names(a)
        finally:
            await a.close()
            await handle.stop()

    asyncio.run(main())
