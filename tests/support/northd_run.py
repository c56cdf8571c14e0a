"""Running pyovn northd in the test's event loop against pyovn's in-process OVSDB server,
round by round, so a test knows exactly when northd has caught up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

from pyovn.northd.daemon import Northd
from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.ovsdb.client.txn import Txn
from tests.support.inproc import InprocServer, start_inproc
from tests.support.northd import Edit, apply_edit, bump_nb_cfg

LIMIT = 60.0  # seconds; reached only when something is wrong

NB_WATCH = ("NB_Global", "Logical_Switch", "Logical_Switch_Port")
SB_WATCH = (
    "SB_Global",
    "Chassis",
    "Chassis_Private",
    "Encap",
    "Datapath_Binding",
    "Port_Binding",
    "Multicast_Group",
    "Logical_Flow",
)


def nb_cfg_of(client: OvsdbClient, column: str = "nb_cfg") -> int:
    table = "NB_Global" if client.database == "OVN_Northbound" else "SB_Global"
    row = next(iter(client.rows(table).values()), None)
    return 0 if row is None else int(row[column])


class DrivenNorthd:
    """A Northd whose rounds the test runs; counts its commits and its SB reconciles."""

    def __init__(self, nb_remote: str, sb_remote: str) -> None:
        self.northd = Northd(nb_remote, sb_remote)
        self.commits = 0
        self.nb_commits = 0
        self.full_syncs: list[bool] = []  # Dirty.full of each SB reconcile
        self._wrap()

    def _wrap(self) -> None:
        nd = self.northd
        sb_commit, nb_commit, build = nd.sb.commit, nd.nb.commit, nd.syncer.build

        async def sb(txn: Txn) -> Any:
            self.commits += 1
            return await sb_commit(txn)

        async def nb(txn: Txn) -> Any:
            self.commits += 1
            self.nb_commits += 1
            return await nb_commit(txn)

        def traced_build(txn: Txn, rows: Any, dirty: Any) -> None:
            self.full_syncs.append(dirty.full)
            build(txn, rows, dirty)

        nd.sb.commit = sb  # type: ignore[method-assign]
        nd.nb.commit = nb  # type: ignore[method-assign]
        nd.syncer.build = traced_build  # type: ignore[method-assign]

    async def start(self) -> None:
        await self.northd.start()
        await asyncio.wait_for(self.northd.sb.lock("ovn_northd", wait=True), LIMIT)

    async def settle(self, max_rounds: int = 10) -> int:
        """Run rounds until one commits nothing; the number of rounds that committed."""
        nd = self.northd
        for i in range(max_rounds):
            before, rounds = self.commits, nd.n_rounds
            await nd.round()
            assert nd.n_rounds == rounds + 1, "the round failed (see the log)"
            if self.commits == before:
                return i
        raise AssertionError(f"northd did not settle in {max_rounds} rounds")

    async def close(self) -> None:
        await self.northd.close()


class Setup:
    """pyovn's server with NB and SB in this loop, a driven northd, and two more clients:
    ``nb`` edits the Northbound database, ``sb`` plays the controller in the Southbound."""

    def __init__(
        self, server: InprocServer, northd: DrivenNorthd, nb: OvsdbClient, sb: OvsdbClient
    ):
        self.server = server
        self.driven = northd
        self.northd = northd.northd
        self.nb = nb
        self.sb = sb

    async def edit(self, *edits: Edit) -> int:
        """Apply each edit in its own NB transaction (with nb_cfg bumped) and wait until
        northd's replica has them all; how many applied."""
        applied = 0
        for edit in edits:
            applied += await self.transact(lambda txn, e=edit: apply_edit(e, txn, self.nb.rows))
        return applied

    async def transact(self, build: Callable[[Txn], Any]) -> bool:
        """One NB transaction from ``build`` (True if it did something), nb_cfg bumped in it;
        returns once northd's NB replica has it."""
        target: list[int] = []

        def full(txn: Txn) -> Any:
            target.clear()
            if build(txn) is False:
                return False
            target.append(bump_nb_cfg(txn, self.nb.rows))
            return True

        done = await self.nb.transact(full)
        if target:
            await self.northd.nb.wait_for(lambda: nb_cfg_of(self.northd.nb) >= target[0], LIMIT)
        return bool(done)

    async def settle(self) -> int:
        rounds = await self.driven.settle()
        # the helper clients see everything northd wrote
        sb_cfg = nb_cfg_of(self.northd.sb)
        await self.sb.wait_for(lambda: nb_cfg_of(self.sb) >= sb_cfg, LIMIT)
        await self.nb.wait_for(lambda: nb_cfg_of(self.nb, "sb_cfg") >= sb_cfg, LIMIT)
        return rounds

    def lsp(self, name: str) -> Any:
        return self.nb.find_one("Logical_Switch_Port", name=name)

    def pb(self, name: str) -> Any:
        return self.sb.find_one("Port_Binding", logical_port=name)


async def client(remote: str, database: str, tables: Iterable[str]) -> OvsdbClient:
    c = OvsdbClient(remote, database)
    for table in tables:
        c.watch(table)
    await c.start()
    return c


@contextlib.asynccontextmanager
async def northd_setup(workdir: Path, **kw: Any) -> AsyncIterator[Setup]:
    """Everything in-process; the northd has run its first (full) round."""
    server = await start_inproc(workdir, ("nb", "sb"), durable_files=False, **kw)
    opened: list[Any] = []
    try:
        nb = await client(server.remote, "OVN_Northbound", NB_WATCH)
        opened.append(nb)
        sb = await client(server.remote, "OVN_Southbound", SB_WATCH)
        opened.append(sb)
        driven = DrivenNorthd(server.remote, server.remote)
        opened.append(driven)
        await driven.start()
        setup = Setup(server, driven, nb, sb)
        await setup.transact(lambda txn: None)  # an NB_Global row with nb_cfg 1
        await setup.settle()
        yield setup
    finally:
        for thing in reversed(opened):
            with contextlib.suppress(Exception):
                await thing.close()
        await server.close()


async def fresh_northd_snapshot(nb_remote: str, workdir: Path) -> tuple[Any, int]:
    """A new northd on the same NB and an empty SB of its own: its SB replica rows (as a
    ``rows`` function over a frozen copy) and how many NB transactions it wrote."""
    workdir.mkdir(exist_ok=True)
    sb_server = await start_inproc(workdir, ("sb",), durable_files=False)
    driven = DrivenNorthd(nb_remote, sb_server.remote)
    try:
        await driven.start()
        await driven.settle()
        tables = {t: dict(driven.northd.sb.rows(t)) for t in SB_WATCH if t != "Encap"}
        return (lambda t: tables.get(t, {})), driven.nb_commits
    finally:
        await driven.close()
        await sb_server.close()


async def until(predicate: Callable[[], bool], what: str, limit: float = LIMIT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)
