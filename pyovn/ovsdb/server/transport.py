"""The asyncio edge of the OVSDB server: listening sockets, one task per client.

Writes never block the server: each client's outgoing bytes queue in its transport, and a
client whose queue passes ``max_backlog`` bytes (a stuck or slow reader) is dropped with a
log line; it reconnects and catches up with monitor_cond_since. Idle TCP clients get an
"echo" probe and are dropped when they stay silent (unix-socket clients are not probed,
as with ovsdb-server).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time

from pyovn.ovsdb.jsonrpc import Connection, Message, ProtocolError, Request, encode_message
from pyovn.ovsdb.server.server import OvsdbServer, Session
from pyovn.ovsdb.stream import Remote, parse_remote

log = logging.getLogger("pyovn.ovsdb.server")

DEFAULT_MAX_BACKLOG = 256 * 1024 * 1024
DEFAULT_PROBE_INTERVAL = 5.0  # seconds; 0 disables


class ClientConnection:
    def __init__(
        self,
        transport: ServerTransport,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        probe: bool,
    ) -> None:
        self.transport = transport
        self.reader = reader
        self.writer = writer
        self.conn = Connection(transport.max_message_bytes)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "unix"
        self.session: Session = transport.server.open_session(self.send, self.peer)
        self.probe = probe and transport.probe_interval > 0
        self.last_activity = time.monotonic()
        self.probe_sent = False
        self.closed = False

    def send(self, msg: Message) -> None:
        if self.closed:
            return
        self.writer.write(encode_message(msg))
        backlog = self.writer.transport.get_write_buffer_size()
        if backlog > self.transport.max_backlog:
            log.warning(
                "%s: dropping connection: %d bytes of backlog exceed the limit of %d",
                self.peer,
                backlog,
                self.transport.max_backlog,
            )
            self.abort()

    def abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.transport.server.close_session(self.session)
        self.writer.transport.abort()

    async def run(self) -> None:
        prober = asyncio.ensure_future(self._probe_loop()) if self.probe else None
        try:
            while not self.closed:
                data = await self.reader.read(256 * 1024)
                if not data:
                    self.conn.receive_eof()
                    break
                self.last_activity = time.monotonic()
                self.probe_sent = False
                for msg in self.conn.receive_data(data):
                    if self.closed:
                        break
                    await self.transport.server.handle(self.session, msg)
        except ProtocolError as exc:
            log.warning("%s: protocol error, closing connection: %s", self.peer, exc)
        except (ConnectionError, OSError) as exc:
            log.info("%s: connection error: %s", self.peer, exc)
        finally:
            if prober is not None:
                prober.cancel()
            if not self.closed:
                self.closed = True
                self.transport.server.close_session(self.session)
                with contextlib.suppress(Exception):
                    self.writer.close()

    async def _probe_loop(self) -> None:
        interval = self.transport.probe_interval
        while not self.closed:
            await asyncio.sleep(interval / 2)
            idle = time.monotonic() - self.last_activity
            if idle < interval:
                continue
            if not self.probe_sent:
                self.send(Request("echo", [], "echo"))
                self.probe_sent = True
                self.last_activity = time.monotonic()
            else:
                log.warning("%s: no response to inactivity probe, disconnecting", self.peer)
                self.abort()


class ServerTransport:
    def __init__(
        self,
        server: OvsdbServer,
        *,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
        probe_interval: float = DEFAULT_PROBE_INTERVAL,
        max_message_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.server = server
        self.max_backlog = max_backlog
        self.probe_interval = probe_interval
        self.max_message_bytes = max_message_bytes
        self.listeners: list[asyncio.Server] = []
        self.clients: set[ClientConnection] = set()
        self._unix_paths: list[str] = []
        self._tasks: set[asyncio.Task[object] | None] = set()

    async def listen(self, remote_text: str) -> asyncio.Server:
        remote = parse_remote(remote_text)
        if not remote.passive:
            raise ValueError(f"{remote_text}: the server needs a passive remote (punix: or ptcp:)")
        listener = await self._start(remote)
        self.listeners.append(listener)
        return listener

    async def _start(self, remote: Remote) -> asyncio.Server:
        if remote.kind == "unix":
            assert remote.path is not None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(remote.path)
            self._unix_paths.append(remote.path)
            return await asyncio.start_unix_server(
                lambda r, w: self._accept(r, w, probe=False), path=remote.path
            )
        return await asyncio.start_server(
            lambda r, w: self._accept(r, w, probe=True),
            host=remote.host,
            port=remote.port,
            reuse_address=True,
        )

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, probe: bool
    ) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = ClientConnection(self, reader, writer, probe)
        self.clients.add(client)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await client.run()
        finally:
            self.clients.discard(client)
            self._tasks.discard(task)

    def bound_ports(self) -> list[int]:
        ports = []
        for listener in self.listeners:
            for sock in listener.sockets:
                name = sock.getsockname()
                if isinstance(name, tuple):
                    ports.append(name[1])
        return ports

    async def close(self) -> None:
        for listener in self.listeners:
            listener.close()
        for client in list(self.clients):
            client.abort()
        # let each client's task see its aborted connection and end, rather than being
        # cancelled at loop shutdown (asyncio's streams log a traceback for that in 3.11)
        tasks = [t for t in self._tasks if t is not None and t is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for listener in self.listeners:
            with contextlib.suppress(Exception):
                await listener.wait_closed()
        for path in self._unix_paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
