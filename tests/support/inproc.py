"""pyovn's OVSDB server in the test's own event loop (real sockets, no subprocess)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.server import OvsdbServer
from pyovn.ovsdb.server.storage import Storage
from pyovn.ovsdb.server.transport import ServerTransport
from pyovn.schemas import schema_path


@dataclass
class InprocServer:
    server: OvsdbServer
    transport: ServerTransport
    remote: str
    storages: list[Storage]
    tcp_remote: str | None = None

    def drop_all_connections(self) -> None:
        """Abort every client connection, as a network failure would."""
        for client in list(self.transport.clients):
            client.abort()

    async def close(self) -> None:
        await self.transport.close()
        for storage in self.storages:
            storage.close()


async def start_inproc(
    workdir: Path,
    schemas: tuple[str, ...] = ("nb",),
    *,
    durable_files: bool = True,
    tcp: bool = False,
    fsync_mode: str = "durable-only",
    **transport_kw: object,
) -> InprocServer:
    server = OvsdbServer()
    storages = []
    for name in schemas:
        schema = DatabaseSchema.from_file(schema_path(name))
        if durable_files:
            path = workdir / f"{name}.db"
            if path.exists():
                storage, db = Storage.open(str(path), fsync_mode=fsync_mode)  # type: ignore[arg-type]
            else:
                storage, db = Storage.create(str(path), schema, fsync_mode=fsync_mode)  # type: ignore[arg-type]
            storages.append(storage)
            server.add_database(db, storage)
        else:
            server.add_database(Database(schema))
    transport = ServerTransport(server, **transport_kw)  # type: ignore[arg-type]
    sock = workdir / "db.sock"
    await transport.listen(f"punix:{sock}")
    tcp_remote = None
    if tcp:
        await transport.listen("ptcp:0:127.0.0.1")
        tcp_remote = f"tcp:127.0.0.1:{transport.bound_ports()[0]}"
    return InprocServer(server, transport, f"unix:{sock}", storages, tcp_remote)
