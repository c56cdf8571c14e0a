"""pyovn's OVSDB server in the test's own event loop (real sockets, no subprocess)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


class ThreadedInproc:
    """pyovn's server in an event loop of its own thread, for tests that use blocking
    sockets (hypothesis examples, bench-like loops)::

        with ThreadedInproc(tmp_path) as srv:
            sock.connect(srv.path)
    """

    def __init__(self, workdir: Path, schemas: tuple[str, ...] = ("nb",), **kw: Any) -> None:
        self.workdir = workdir
        self.schemas = schemas
        self.kw = kw
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.inproc: InprocServer | None = None

    @property
    def remote(self) -> str:
        assert self.inproc is not None
        return self.inproc.remote

    @property
    def path(self) -> str:
        return self.remote.removeprefix("unix:")

    def call(self, fn: Callable[[InprocServer], Any]) -> Any:
        """Run ``fn(inproc)`` in the server's thread and return its result."""

        async def run() -> Any:
            assert self.inproc is not None
            return fn(self.inproc)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(60)

    def __enter__(self) -> ThreadedInproc:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(
            start_inproc(self.workdir, self.schemas, **self.kw), self.loop
        )
        try:
            self.inproc = future.result(60)
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.inproc is not None:
                asyncio.run_coroutine_threadsafe(self.inproc.close(), self.loop).result(60)
        finally:
            self._stop()

    def _stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(60)
        self.loop.close()
