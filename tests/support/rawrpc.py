"""A raw JSON-RPC client for server tests: every message the server sends is kept, in order.

Unlike ``OvsdbClient`` it hides nothing: tests see replies, notifications and the server's
echo probes exactly as they arrive, so they can check ordering rules (updates before the
transact reply) and misbehave on purpose (never answer probes, send garbage).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from typing import Any

from pyovn.ovsdb.client.rpc import connect
from pyovn.ovsdb.jsonrpc import (
    Connection,
    ErrorReply,
    Message,
    Notification,
    ProtocolError,
    Reply,
    Request,
    encode_message,
)

TIMEOUT = 20.0  # generous: a loaded CI machine must not make a correct server fail


class RpcFailed(Exception):
    def __init__(self, error: Any) -> None:
        super().__init__(str(error))
        self.error = error


class RawClient:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        answer_echo: bool = True,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.answer_echo = answer_echo
        self.conn = Connection(max_message_bytes=1 << 30)
        self.received: list[Message] = []  # everything, in arrival order
        self.eof = asyncio.Event()
        self._arrived = asyncio.Condition()
        self._ids = itertools.count(1)
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, remote: str, *, answer_echo: bool = True) -> RawClient:
        reader, writer = await connect(remote)
        return cls(reader, writer, answer_echo=answer_echo)

    async def _read(self) -> None:
        try:
            while True:
                data = await self.reader.read(1 << 20)
                if not data:
                    break
                for msg in self.conn.receive_data(data):
                    if self.answer_echo and isinstance(msg, Request) and msg.method == "echo":
                        self.writer.write(encode_message(Reply(msg.params, msg.id)))
                    async with self._arrived:
                        self.received.append(msg)
                        self._arrived.notify_all()
                if self.conn.error is not None:
                    break
        except (ConnectionError, OSError, ProtocolError):
            pass
        finally:
            self.eof.set()
            async with self._arrived:
                self._arrived.notify_all()

    # ------------------------------------------------------------------ sending

    def send(self, msg: Message | bytes) -> None:
        self.writer.write(msg if isinstance(msg, bytes) else encode_message(msg))

    def start(self, method: str, params: list[Any]) -> int:
        """Send a request without waiting; returns its id."""
        msg_id = next(self._ids)
        self.send(Request(method, params, msg_id))
        return msg_id

    async def reply(self, msg_id: Any, timeout: float = TIMEOUT) -> Reply | ErrorReply:
        msg = await self.wait_for(
            lambda m: isinstance(m, (Reply, ErrorReply)) and m.id == msg_id, timeout
        )
        assert isinstance(msg, (Reply, ErrorReply))
        return msg

    async def call(self, method: str, params: list[Any], timeout: float = TIMEOUT) -> Any:
        """Send a request and return its result; an error reply raises RpcFailed."""
        reply = await self.reply(self.start(method, params), timeout)
        if isinstance(reply, ErrorReply):
            raise RpcFailed(reply.error)
        return reply.result

    async def transact(self, db: str, *ops: Any) -> list[Any]:
        return await self.call("transact", [db, *ops])

    # ------------------------------------------------------------------ receiving

    async def wait_for(
        self, predicate: Callable[[Message], bool], timeout: float = TIMEOUT, start: int = 0
    ) -> Message:
        """The first received message (from index ``start``) that satisfies ``predicate``."""

        def find() -> Message | None:
            for msg in self.received[start:]:
                if predicate(msg):
                    return msg
            return None

        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: find() is not None or self.eof.is_set()), timeout
            )
        found = find()
        if found is None:
            raise ConnectionError("connection closed before the expected message arrived")
        return found

    async def notification(
        self, method: str, timeout: float = TIMEOUT, start: int = 0
    ) -> Notification:
        msg = await self.wait_for(
            lambda m: isinstance(m, Notification) and m.method == method, timeout, start
        )
        assert isinstance(msg, Notification)
        return msg

    def notifications(self, method: str | None = None) -> list[Notification]:
        return [
            m
            for m in self.received
            if isinstance(m, Notification) and (method is None or m.method == method)
        ]

    def index_of(self, msg: Message) -> int:
        return next(i for i, m in enumerate(self.received) if m is msg)

    async def closed_by_peer(self, timeout: float = TIMEOUT) -> bool:
        """True once the server closed the connection (False if it stays open)."""
        try:
            await asyncio.wait_for(self.eof.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        with contextlib.suppress(Exception):
            self.writer.transport.abort()


async def sync(client: RawClient) -> None:
    """A round trip: every message the server sent before its echo reply has arrived."""
    await client.call("echo", ["sync"])


class BlockingClient:
    """The same idea with a blocking socket, for code outside an event loop."""

    def __init__(self, path: str, timeout: float = TIMEOUT) -> None:
        import socket

        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.conn = Connection(max_message_bytes=1 << 30)
        self.received: list[Message] = []
        self.eof = False
        self._ids = itertools.count(1)

    def send(self, data: bytes | Message) -> None:
        self.sock.sendall(data if isinstance(data, bytes) else encode_message(data))

    def _read_some(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            self.eof = True
            raise ConnectionError("closed by the server")
        for msg in self.conn.receive_data(data):
            if isinstance(msg, Request) and msg.method == "echo":
                self.send(Reply(msg.params, msg.id))
            self.received.append(msg)

    def reply(self, msg_id: Any) -> Reply | ErrorReply:
        while True:
            for i, msg in enumerate(self.received):
                if isinstance(msg, (Reply, ErrorReply)) and msg.id == msg_id:
                    del self.received[i]
                    return msg
            self._read_some()

    def call(self, method: str, params: list[Any]) -> Any:
        msg_id = next(self._ids)
        self.send(Request(method, params, msg_id))
        reply = self.reply(msg_id)
        if isinstance(reply, ErrorReply):
            raise RpcFailed(reply.error)
        return reply.result

    def closed_by_peer(self) -> bool:
        """Read until the server closes (True) or stays quiet for the timeout (False)."""
        try:
            while True:
                self._read_some()
        except ConnectionError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
