"""`pyovn northd` as a daemon (subprocesses) on pyovn's OVSDB server, with Debian's ovn-nbctl
and ovn-sbctl as the clients and ``pyovn appctl`` on the control socket: ``--wait=sb``,
conflicts seen from the CLI, restart stability, and active/standby failover on the SB lock.

The server runs in the test's event loop, so the test can see when a northd has asked for
its lock; a northd does that only once both of its monitors are in place, so the test never
writes while a northd is still connecting (see "Known issues" in docs/northd.md).
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.support.inproc import InprocServer, start_inproc
from tests.support.northd_procs import (
    NorthdProcess,
    aappctl,
    anbctl,
    asbctl,
    astart_pyovn_northd,
    await_until,
    have_ovn_tools,
    lock_waiters,
)

pytestmark = pytest.mark.skipif(not have_ovn_tools(), reason="ovn-nbctl / ovn-sbctl not installed")


def run(
    tmp_path: Path, body: Callable[[InprocServer, list[NorthdProcess]], Awaitable[None]]
) -> None:
    async def main() -> None:
        server = await start_inproc(tmp_path, ("nb", "sb"), durable_files=False)
        started: list[NorthdProcess] = []
        try:
            await asyncio.wait_for(body(server, started), 240)
        finally:
            for p in started:
                p.kill(signal.SIGTERM)
            await server.close()

    asyncio.run(main())


async def northd(
    server: InprocServer, tmp_path: Path, started: list[NorthdProcess], name: str, n: int
) -> NorthdProcess:
    """Start a northd and wait until it is connected (the ``n``-th in the lock queue)."""
    proc = await astart_pyovn_northd(tmp_path, server.remote, server.remote, name)
    started.append(proc)
    await await_until(lambda: lock_waiters(server) >= n or not proc.alive(), f"{name} connected")
    assert proc.alive(), proc.stderr()
    return proc


async def pb(db: str, port: str, column: str) -> str:
    out = await asbctl(
        db, "--bare", f"--columns={column}", "find", "Port_Binding", f"logical_port={port}"
    )
    return out.strip()


async def lsp(db: str, port: str, column: str) -> str:
    return (await anbctl(db, "get", "Logical_Switch_Port", port, column)).strip()


def stat(text: str, node: str, field: str) -> int:
    return int(re.findall(rf"Node: {node}\n(?:- .*\n)*?- {field}: +(\d+)", text)[0])


def test_wait_sb_tags_conflicts_and_appctl(tmp_path: Path) -> None:
    async def body(server: InprocServer, started: list[NorthdProcess]) -> None:
        db = server.remote
        nd = await northd(server, tmp_path, started, "northd", 1)
        assert await aappctl(nd.ctl, "status") == "Status: active\n"
        await anbctl(db, "--wait=sb", "ls-add", "sw0", "--", "lsp-add", "sw0", "vm1")
        await anbctl(db, "--wait=sb", "lsp-set-addresses", "vm1", "00:00:00:00:00:01 10.0.0.1")
        await anbctl(db, "--wait=sb", "ls-add", "pods", "--", "lsp-add", "pods", "c1", "vm1", "0")
        await anbctl(db, "--wait=sb", "lsp-add", "pods", "c2", "vm1", "0")
        await anbctl(db, "--wait=sb", "lsp-add", "pods", "c3", "vm1", "7")
        # --wait=sb returned: northd has written SB, and the tags back to NB, already
        assert [await lsp(db, p, "tag") for p in ("c1", "c2", "c3")] == ["1", "2", "7"]
        assert [await pb(db, p, "tag") for p in ("c1", "c2", "c3")] == ["1", "2", "7"]
        assert await pb(db, "c1", "parent_port") == "vm1"
        assert "ls_in_port_sec_l2" in await asbctl(db, "lflow-list", "pods")
        await anbctl(db, "--wait=hv", "sync")  # no chassis: nothing to wait for
        # a conflict: NB gets the explanation, and loses it when the conflict is gone
        await anbctl(db, "--wait=sb", "lsp-add", "pods", "c4", "vm1", "7")
        assert await lsp(db, "c4", "tag") == "[]"
        assert "already used by port c3" in await lsp(db, "c4", "external_ids")
        await anbctl(db, "--wait=sb", "lsp-del", "c3")
        assert await lsp(db, "c4", "tag") == "7"
        assert "pyovn:error" not in await lsp(db, "c4", "external_ids")

        stats = await aappctl(nd.ctl, "inc-engine/show-stats")
        assert stat(stats, "northd", "recompute") == 1 and stat(stats, "lflow", "recompute") == 1
        assert stat(stats, "northd", "compute") > 0
        await aappctl(nd.ctl, "inc-engine/recompute")

        async def recomputes() -> int:
            return stat(await aappctl(nd.ctl, "inc-engine/show-stats"), "northd", "recompute")

        for _ in range(500):
            if await recomputes() > 1:
                break
            await asyncio.sleep(0.02)
        assert await recomputes() == 2
        await anbctl(db, "--wait=sb", "sync")
        assert [await pb(db, p, "tag") for p in ("c1", "c2", "c4")] == ["1", "2", "7"]
        assert (await aappctl(nd.ctl, "inc-engine/dump-graph")).startswith("digraph")
        await aappctl(nd.ctl, "exit")
        await await_until(lambda: not nd.alive(), "northd to exit")
        assert nd.proc.returncode == 0

    run(tmp_path, body)


def test_restart_keeps_tags_and_keys(tmp_path: Path) -> None:
    async def body(server: InprocServer, started: list[NorthdProcess]) -> None:
        db = server.remote
        nd = await northd(server, tmp_path, started, "northd", 1)
        await anbctl(db, "ls-add", "sw0", "--", "lsp-add", "sw0", "vm1")
        for i in range(1, 6):
            await anbctl(db, "lsp-add", "sw0", f"c{i}", "vm1", "0")
        await anbctl(db, "--wait=sb", "lsp-del", "c2")
        names = ("vm1", "c1", "c3", "c4", "c5")

        async def state() -> dict[str, tuple[str, str]]:
            return {p: (await lsp(db, p, "tag"), await pb(db, p, "tunnel_key")) for p in names}

        before = await state()
        assert [before[p][0] for p in ("c1", "c3", "c4", "c5")] == ["1", "3", "4", "5"]
        nd.kill(signal.SIGTERM)
        await await_until(lambda: lock_waiters(server) == 0, "the lock to be released")
        await anbctl(db, "lsp-add", "sw0", "c6", "vm1", "0")  # while northd is down
        await northd(server, tmp_path, started, "northd2", 1)
        await anbctl(db, "--wait=sb", "sync")
        assert await state() == before
        assert await lsp(db, "c6", "tag") == "2"  # the free one

    run(tmp_path, body)


def test_standby_takes_over_when_the_active_one_dies(tmp_path: Path) -> None:
    async def body(server: InprocServer, started: list[NorthdProcess]) -> None:
        db = server.remote
        first = await northd(server, tmp_path, started, "northd1", 1)
        second = await northd(server, tmp_path, started, "northd2", 2)
        assert await aappctl(first.ctl, "status") == "Status: active\n"
        assert await aappctl(second.ctl, "status") == "Status: standby\n"
        await anbctl(db, "--wait=sb", "ls-add", "sw0", "--", "lsp-add", "sw0", "vm1")
        await anbctl(db, "--wait=sb", "lsp-add", "sw0", "c0", "vm1", "0")
        assert await aappctl(second.ctl, "status") == "Status: standby\n"
        keys = (await pb(db, "vm1", "tunnel_key"), await pb(db, "c0", "tunnel_key"))
        first.kill(signal.SIGKILL)
        for _ in range(1000):
            if await aappctl(second.ctl, "status") == "Status: active\n":
                break
            await asyncio.sleep(0.02)
        assert await aappctl(second.ctl, "status") == "Status: active\n"
        await anbctl(
            db, "--wait=sb", "lsp-add", "sw0", "vm2", "--", "lsp-add", "sw0", "c1", "vm1", "0"
        )
        assert await pb(db, "vm2", "logical_port") == "vm2"
        assert await pb(db, "c1", "tag") == "2" == await lsp(db, "c1", "tag")
        # the new active northd kept what it found
        assert (await pb(db, "vm1", "tunnel_key"), await pb(db, "c0", "tunnel_key")) == keys
        assert await pb(db, "c0", "tag") == "1"
        assert "lock acquired: active" in second.stderr()

    run(tmp_path, body)
