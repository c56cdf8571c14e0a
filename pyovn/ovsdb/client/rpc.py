"""One-shot JSON-RPC connections for command-line tools (no replica, no reconnection)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from pyovn.ovsdb.jsonrpc import (
    Connection,
    ErrorReply,
    Message,
    Notification,
    Reply,
    Request,
    encode_message,
)
from pyovn.ovsdb.stream import parse_remote


async def connect(remote_text: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open an active remote (unix:PATH or tcp:HOST:PORT)."""
    remote = parse_remote(remote_text)
    if remote.passive:
        raise ValueError(f"{remote_text}: a client needs an active remote (unix: or tcp:)")
    if remote.kind == "unix":
        assert remote.path is not None
        return await asyncio.open_unix_connection(remote.path, limit=2**26)
    return await asyncio.open_connection(remote.host, remote.port, limit=2**26)


class RpcError(Exception):
    def __init__(self, error: Any) -> None:
        super().__init__(str(error))
        self.error = error


class RpcConnection:
    """Sequential requests plus a queue of the notifications that arrive meanwhile."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = Connection(max_message_bytes=2**30)
        self.notifications: asyncio.Queue[Notification] = asyncio.Queue()
        self._pending: dict[Any, asyncio.Future[Any]] = {}
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, remote: str) -> RpcConnection:
        reader, writer = await connect(remote)
        return cls(reader, writer)

    async def _read(self) -> None:
        try:
            while True:
                data = await self.reader.read(1 << 20)
                if not data:
                    break
                for msg in self.conn.receive_data(data):
                    self._dispatch(msg)
                if self.conn.error is not None:  # bad input after the good messages
                    break
        finally:
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("connection closed"))

    def _dispatch(self, msg: Message) -> None:
        if isinstance(msg, (Reply, ErrorReply)):
            fut = self._pending.pop(msg.id, None)
            if fut is not None and not fut.done():
                if isinstance(msg, Reply):
                    fut.set_result(msg.result)
                else:
                    fut.set_exception(RpcError(msg.error))
        elif isinstance(msg, Request) and msg.method == "echo":
            self.writer.write(encode_message(Reply(msg.params, msg.id)))
        elif isinstance(msg, Notification):
            self.notifications.put_nowait(msg)

    async def call(self, method: str, params: list[Any]) -> Any:
        msg_id = self.conn.next_id()
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        self.writer.write(encode_message(Request(method, params, msg_id)))
        return await fut

    async def notifications_iter(self) -> AsyncIterator[Notification]:
        while True:
            yield await self.notifications.get()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        with contextlib.suppress(Exception):
            self.writer.close()
