"""Control sockets compatible with ``ovs-appctl``: JSON-RPC requests over a unix socket.

A daemon registers commands (``register("exit", handler)``); ``ovs-appctl -t PATH exit`` or
``pyovn appctl -t PATH exit`` calls them. A handler gets the argument strings and returns the
reply text, or raises ``UnixctlError`` for an error reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable

from pyovn.ovsdb.jsonrpc import (
    Connection,
    ErrorReply,
    ProtocolError,
    Reply,
    Request,
    encode_message,
)

Handler = Callable[[list[str]], "str | Awaitable[str]"]


class UnixctlError(Exception):
    pass


class UnixctlServer:
    def __init__(self, path: str, version: str = "") -> None:
        self.path = path
        self.commands: dict[str, tuple[Handler, str]] = {}
        self._server: asyncio.Server | None = None
        self.register("list-commands", self._list_commands, "")
        self.register("version", lambda args: f"pyovn {version}".strip(), "")

    def register(self, name: str, handler: Handler, usage: str = "") -> None:
        self.commands[name] = (handler, usage)

    def _list_commands(self, args: list[str]) -> str:
        lines = ["The available commands are:"]
        for name in sorted(self.commands):
            usage = self.commands[name][1]
            lines.append(f"  {name:<24} {usage}".rstrip())
        return "\n".join(lines) + "\n"

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._server = await asyncio.start_unix_server(self._client, path=self.path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for msg in conn.receive_data(data):
                    if not isinstance(msg, Request):
                        continue
                    writer.write(encode_message(await self._call(msg)))
                    await writer.drain()
        except (ProtocolError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _call(self, req: Request) -> Reply | ErrorReply:
        entry = self.commands.get(req.method)
        if entry is None:
            return ErrorReply(
                f'"{req.method}" is not a valid command (use "list-commands" to see a list '
                "of valid commands)",
                req.id,
            )
        try:
            result = entry[0]([str(a) for a in req.params])
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
        except UnixctlError as exc:
            return ErrorReply(str(exc), req.id)
        return Reply(result if result is not None else "", req.id)


async def call(path: str, command: str, args: list[str], timeout: float = 10.0) -> tuple[bool, str]:
    """Send one command; returns (ok, text)."""
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), timeout)
    conn = Connection()
    try:
        writer.write(encode_message(Request(command, list(args), 0)))
        await writer.drain()
        while True:
            data = await asyncio.wait_for(reader.read(65536), timeout)
            if not data:
                return False, "connection closed by the daemon"
            for msg in conn.receive_data(data):
                if isinstance(msg, Reply):
                    return True, str(msg.result)
                if isinstance(msg, ErrorReply):
                    return False, str(msg.error)
    finally:
        writer.close()
