"""The asyncio edge of the OVSDB server: listening sockets, one Protocol per client.

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
from collections import deque
from collections.abc import Awaitable

from pyovn.ovsdb.jsonrpc import Connection, Message, ProtocolError, Request, encode_message
from pyovn.ovsdb.server.server import OvsdbServer, Session
from pyovn.ovsdb.stream import Remote, parse_remote

log = logging.getLogger("pyovn.ovsdb.server")

DEFAULT_MAX_BACKLOG = 256 * 1024 * 1024
DEFAULT_PROBE_INTERVAL = 5.0  # seconds; 0 disables


class ClientConnection(asyncio.Protocol):
    """One client: bytes in (``data_received``), messages handled in order, replies out.

    Most requests are handled right in ``data_received``; one that must wait (a commit
    waiting for its fsync) pauses reading until it is done, so the session's messages
    are still handled one after another."""

    def __init__(self, owner: ServerTransport, probe: bool) -> None:
        self.owner = owner
        self.server = owner.server
        self.conn = Connection(owner.max_message_bytes)
        self.probe = probe and owner.probe_interval > 0
        self.peer = "unix"
        self.session: Session = None  # type: ignore[assignment]  # set in connection_made
        self.tx: asyncio.Transport = None  # type: ignore[assignment]
        self.queue: deque[Message] = deque()
        self.busy = False  # a message's handling is waiting for something
        self.last_activity = time.monotonic()
        self.probe_sent = False
        self.closed = False
        self._prober: asyncio.Task[None] | None = None
        # While this connection's messages are handled, what goes to it is held back and
        # written once at the end: a committing client's own update and its reply leave
        # in one write, after every other client's update (a write wakes the reader, and
        # the committer, which knows what it wrote, should not be the one woken first).
        self._held: list[bytes] | None = None

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.tx = transport  # type: ignore[assignment]  # uvloop's are not subclasses
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.peer = f"{peer[0]}:{peer[1]}"
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.session = self.server.open_session(self.send, self.peer)
        self.session.send_raw = self.send_bytes
        self.owner.clients.add(self)
        if self.probe:
            self._prober = asyncio.ensure_future(self._probe_loop())

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self.last_activity = time.monotonic()
        self.probe_sent = False
        try:
            self.queue.extend(self.conn.receive_data(data))
        except ProtocolError as exc:
            self._protocol_error(exc)
            return
        if not self.busy:
            self._drain()

    def eof_received(self) -> bool:
        try:
            self.conn.receive_eof()
        except ProtocolError as exc:
            log.warning("%s: protocol error, closing connection: %s", self.peer, exc)
        return False  # close our side too, once what is queued for the client is sent

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            log.info("%s: connection error: %s", self.peer, exc)
        self._forget()

    # ------------------------------------------------------------------ handling

    def _drain(self) -> None:
        self._held = []
        try:
            self._handle_queue()
        finally:
            held, self._held = self._held, None
            if held:
                self.send_bytes(held[0] if len(held) == 1 else b"".join(held))

    def _handle_queue(self) -> None:
        server, session, queue = self.server, self.session, self.queue
        while queue and not self.closed:
            msg = queue.popleft()
            try:
                pending = server.dispatch(session, msg)
            except Exception:  # a bug must cost this connection, not the server
                log.exception("%s: error handling %s; closing connection", self.peer, msg)
                self.abort()
                return
            if pending is not None:
                self.busy = True
                self.tx.pause_reading()
                self.owner.track(asyncio.ensure_future(self._wait(pending)))
                return
        if self.conn.error is not None and not self.closed:  # bad input after good messages
            self._protocol_error(self.conn.error)

    async def _wait(self, pending: Awaitable[None]) -> None:
        try:
            await pending
        except Exception:
            log.exception("%s: error handling a request; closing connection", self.peer)
            self.abort()
            return
        finally:
            self.busy = False
        if not self.closed:
            self.tx.resume_reading()
            self._drain()

    def _protocol_error(self, exc: ProtocolError) -> None:
        log.warning("%s: protocol error, closing connection: %s", self.peer, exc)
        self.abort()

    # ------------------------------------------------------------------ sending, closing

    def send(self, msg: Message) -> None:
        if not self.closed:
            self.send_bytes(encode_message(msg))

    def send_bytes(self, data: bytes) -> None:
        if self.closed:
            return
        if self._held is not None:
            self._held.append(data)
            return
        tx = self.tx
        tx.write(data)
        backlog = tx.get_write_buffer_size()
        if backlog > self.owner.max_backlog:
            log.warning(
                "%s: dropping connection: %d bytes of backlog exceed the limit of %d",
                self.peer,
                backlog,
                self.owner.max_backlog,
            )
            self.abort()

    def abort(self) -> None:
        if self.closed:
            return
        held, self._held = self._held, None
        if held:  # what was answered before the connection failed still goes out
            self.tx.write(b"".join(held))
        self._forget()
        self.tx.abort()

    def _forget(self) -> None:
        if not self.closed:
            self.closed = True
            self.server.close_session(self.session)
        self.queue.clear()
        self.owner.clients.discard(self)
        if self._prober is not None:
            self._prober.cancel()
            self._prober = None

    async def _probe_loop(self) -> None:
        interval = self.owner.probe_interval
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
        self._tasks: set[asyncio.Task[None]] = set()

    async def listen(self, remote_text: str) -> asyncio.Server:
        remote = parse_remote(remote_text)
        if not remote.passive:
            raise ValueError(f"{remote_text}: the server needs a passive remote (punix: or ptcp:)")
        listener = await self._start(remote)
        self.listeners.append(listener)
        return listener

    async def _start(self, remote: Remote) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        if remote.kind == "unix":
            assert remote.path is not None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(remote.path)
            self._unix_paths.append(remote.path)
            return await loop.create_unix_server(
                lambda: ClientConnection(self, probe=False), path=remote.path
            )
        return await loop.create_server(
            lambda: ClientConnection(self, probe=True),
            host=remote.host,
            port=remote.port,
            reuse_address=True,
        )

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a reference to a client's task until it is done."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
        # let requests that wait (for an fsync) finish rather than be cancelled
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for listener in self.listeners:
            with contextlib.suppress(Exception):
                await listener.wait_closed()
        for path in self._unix_paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
