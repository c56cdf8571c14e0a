"""The whole system in one process: NB, SB and per-chassis Open_vSwitch OVSDB servers on
unix sockets in a run directory, northd, and N controllers with the simulated datapath whose
chassis exchange Geneve over UDP on loopback addresses 127.0.0.1, 127.0.0.2, ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyovn.controller.daemon import Controller
from pyovn.controller.vswitch import vswitch_client
from pyovn.northd.daemon import Northd
from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.server import OvsdbServer
from pyovn.ovsdb.server.storage import Storage
from pyovn.ovsdb.server.transport import ServerTransport
from pyovn.schemas import schema_path

log = logging.getLogger("pyovn.sandbox")


@dataclass
class _Db:
    server: OvsdbServer
    transport: ServerTransport
    storage: Storage
    remote: str


@dataclass
class Chassis:
    name: str
    encap_ip: str
    ovs_remote: str
    controller: Controller
    ovs: OvsdbClient


@dataclass
class Sandbox:
    rundir: Path
    n_chassis: int = 2
    with_northd: bool = True  # False: bring your own northd (e.g. OVN's ovn-northd)
    dbs: dict[str, _Db] = field(default_factory=dict)
    chassis: list[Chassis] = field(default_factory=list)
    northd: Northd | None = None
    nb: OvsdbClient | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def nb_remote(self) -> str:
        return self.dbs["nb"].remote

    @property
    def sb_remote(self) -> str:
        return self.dbs["sb"].remote

    async def _serve(self, key: str, schema: str, path: Path, sock: Path) -> _Db:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            storage, db = Storage.open(str(path))
        else:
            storage, db = Storage.create(str(path), DatabaseSchema.from_file(schema_path(schema)))
        server = OvsdbServer()
        server.add_database(db, storage)
        transport = ServerTransport(server)
        await transport.listen(f"punix:{sock}")
        entry = _Db(server, transport, storage, f"unix:{sock}")
        self.dbs[key] = entry
        return entry

    async def start(self) -> None:
        run = self.rundir
        run.mkdir(parents=True, exist_ok=True)
        await self._serve("nb", "nb", run / "nb.db", run / "nb.sock")
        await self._serve("sb", "sb", run / "sb.db", run / "sb.sock")
        if self.with_northd:
            self.northd = Northd(self.nb_remote, self.sb_remote)
            self.tasks.append(asyncio.ensure_future(self.northd.run(self.stop_event)))
        for i in range(1, self.n_chassis + 1):
            name = f"hv{i}"
            ovs_db = await self._serve(
                name, "vswitch", run / name / "conf.db", run / name / "db.sock"
            )
            ip = f"127.0.0.{i}"
            controller = Controller(
                self.sb_remote, ovs_db.remote, name, ip, encap_port=0, hostname=name
            )
            self.tasks.append(asyncio.ensure_future(controller.run(self.stop_event)))
            ovs = vswitch_client(ovs_db.remote)
            await ovs.start()
            self.chassis.append(Chassis(name, ip, ovs_db.remote, controller, ovs))
        self.nb = OvsdbClient(self.nb_remote, "OVN_Northbound")
        for table in ("NB_Global", "Logical_Switch", "Logical_Switch_Port"):
            self.nb.watch(table)
        await self.nb.start()
        await self.wait_ready()

    async def wait_ready(self, timeout: float = 20.0) -> None:
        """Until northd is active and every chassis has registered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            northd_ok = self.northd is None or self.northd.active
            if northd_ok and all(c.controller.chassis_uuid() for c in self.chassis):
                return
            await asyncio.sleep(0.02)
        raise TimeoutError("sandbox did not come up")

    def remotes_text(self) -> str:
        lines = [
            f"run directory: {self.rundir}",
            f"  export OVN_NB_DB={self.nb_remote}",
            f"  export OVN_SB_DB={self.sb_remote}",
        ]
        for c in self.chassis:
            lines.append(f"  chassis {c.name}: encap {c.encap_ip}, Open_vSwitch db {c.ovs_remote}")
        return "\n".join(lines)

    async def close(self) -> None:
        self.stop_event.set()
        for task in self.tasks:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5)
        if self.nb is not None:
            await self.nb.close()
        for c in self.chassis:
            await c.ovs.close()
        for entry in self.dbs.values():
            await entry.transport.close()
            entry.storage.close()
