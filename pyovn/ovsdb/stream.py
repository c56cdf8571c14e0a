"""The asyncio edge of JSON-RPC: OVS remote names, connecting, listening.

Remote syntax follows Open vSwitch:

* ``unix:PATH``: connect to a Unix domain socket.
* ``tcp:HOST:PORT``: connect over TCP (IPv6 in brackets: ``tcp:[::1]:6641``).
* ``punix:PATH``: listen on a Unix domain socket.
* ``ptcp:PORT[:IP]``: listen on TCP; IP defaults to 0.0.0.0 (every interface).

The port may be left out (``tcp:HOST``, ``ptcp:``) and then is 6640, the OVSDB port.
SSL remotes (``ssl:``, ``pssl:``) are not supported.

All protocol work is done by the sans-IO :class:`~pyovn.ovsdb.jsonrpc.Connection`;
:class:`JsonRpcStream` only moves bytes between it and an asyncio stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import stat
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from pyovn.ovsdb.jsonrpc import DEFAULT_MAX_MESSAGE_BYTES, Connection, Message, ProtocolError

__all__ = [
    "DEFAULT_PORT",
    "JsonRpcStream",
    "Remote",
    "bound_port",
    "bound_remote",
    "open_stream",
    "parse_remote",
    "serve",
]

log = logging.getLogger(__name__)

DEFAULT_PORT = 6640
READ_SIZE = 64 * 1024
_SYNTAX = "expected unix:PATH, tcp:HOST:PORT, punix:PATH or ptcp:PORT[:IP]"
_unix_peers = itertools.count(1)


@dataclass(frozen=True)
class Remote:
    """A parsed OVS remote.  ``path`` is set for unix, ``host`` and ``port`` for tcp."""

    kind: Literal["unix", "tcp"]
    passive: bool
    path: str | None = None
    host: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        if self.kind == "unix":
            return f"{'p' if self.passive else ''}unix:{self.path}"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        if self.passive:
            return f"ptcp:{self.port}:{host}"
        return f"tcp:{host}:{self.port}"

    def to_active(self) -> Remote:
        """The remote a client uses to reach this one (a wildcard IP becomes loopback)."""
        if not self.passive:
            return self
        host = self.host
        if host == "0.0.0.0":
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        return Remote(self.kind, False, self.path, host, self.port)


def parse_remote(text: str) -> Remote:
    """Parse an OVS remote name; raise ValueError with the reason if it is not one.

    ``ptcp:PORT`` listens on every interface (0.0.0.0); tests should always spell out
    ``ptcp:0:127.0.0.1`` so nothing is exposed beyond the machine.
    """
    method, sep, rest = text.partition(":")
    if not sep:
        raise ValueError(f"remote {text!r} has no type: {_SYNTAX}")
    if method in ("ssl", "pssl"):
        raise ValueError(
            f"remote {text!r}: SSL remotes are not supported by pyovn; use tcp: or unix: "
            "(for example behind a TLS-terminating tunnel)"
        )
    if method in ("unix", "punix"):
        if not rest:
            raise ValueError(f"remote {text!r} has an empty path")
        return Remote("unix", method == "punix", path=rest)
    if method == "tcp":
        host, port = _host_and_port(text, rest)
        if not host:
            raise ValueError(f"remote {text!r} has no host: expected tcp:HOST:PORT")
        port = _port(text, port, allow_zero=False)
        return Remote("tcp", False, host=host, port=port)
    if method == "ptcp":
        port, _, host = rest.partition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host:
            host = "0.0.0.0"
        elif "[" in host or "]" in host:
            raise ValueError(f"remote {text!r} has a malformed IP address {host!r}")
        return Remote("tcp", True, host=host, port=_port(text, port, allow_zero=True))
    raise ValueError(f"remote {text!r} has unknown type {method!r}: {_SYNTAX}")


def _host_and_port(text: str, rest: str) -> tuple[str, str]:
    if rest.startswith("["):
        host, bracket, tail = rest[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            raise ValueError(f"remote {text!r} has a malformed [IPv6] address")
        return host, tail[1:]
    if rest.count(":") > 1:
        raise ValueError(f"remote {text!r}: write IPv6 addresses in brackets, e.g. tcp:[::1]:6641")
    host, _, port = rest.partition(":")
    return host, port


def _port(text: str, port: str, *, allow_zero: bool) -> int:
    if not port:
        return DEFAULT_PORT
    if not port.isdecimal() or not port.isascii():
        raise ValueError(f"remote {text!r} has a bad port {port!r}")
    value = int(port)
    if value > 65535 or (value == 0 and not allow_zero):
        raise ValueError(f"remote {text!r} has port {value} out of range")
    return value


def _as_remote(remote: Remote | str) -> Remote:
    return parse_remote(remote) if isinstance(remote, str) else remote


class JsonRpcStream:
    """JSON-RPC messages over one asyncio stream.

    ``send`` only queues bytes (it never blocks); call ``drain`` to wait for the
    buffer to flush, or watch ``write_buffer_size`` to bound a slow peer's backlog.
    ``recv`` returns None at a clean end of stream and raises
    :class:`~pyovn.ovsdb.jsonrpc.ProtocolError` on malformed input or when the peer
    closed in the middle of a message; socket errors propagate as ``OSError``.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        peer: str,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.peer = peer
        self.connection = Connection(max_message_bytes)
        self._reader = reader
        self._writer = writer
        self._inbox: deque[Message] = deque()
        self._eof = False

    def __repr__(self) -> str:
        return f"<JsonRpcStream {self.peer}>"

    async def recv(self) -> Message | None:
        """The next message, or None once the peer has closed."""
        while not self._inbox:
            if self.connection.error is not None:
                raise self.connection.error
            if self._eof:
                return None
            data = await self._reader.read(READ_SIZE)
            if not data:
                self._eof = True
                self.connection.receive_eof()
                return None
            self._inbox.extend(self.connection.receive_data(data))
        return self._inbox.popleft()

    def __aiter__(self) -> JsonRpcStream:
        return self

    async def __anext__(self) -> Message:
        msg = await self.recv()
        if msg is None:
            raise StopAsyncIteration
        return msg

    def send(self, msg: Message) -> None:
        """Queue one message for writing."""
        self._write(self.connection.send(msg))

    def send_many(self, msgs: Iterable[Message]) -> None:
        """Queue several messages as one write."""
        self._write(self.connection.send_many(msgs))

    def _write(self, data: bytes) -> None:
        if self._writer.is_closing():
            raise ConnectionResetError(f"{self.peer}: stream is closed")
        self._writer.write(data)

    async def drain(self) -> None:
        """Wait until the write buffer is below the transport's high-water mark."""
        await self._writer.drain()

    def write_buffer_size(self) -> int:
        """Bytes queued but not yet handed to the kernel."""
        return self._writer.transport.get_write_buffer_size()

    def is_closing(self) -> bool:
        return self._writer.is_closing()

    def close(self) -> None:
        """Close the stream (queued bytes are still flushed by the transport)."""
        self._writer.close()

    async def wait_closed(self) -> None:
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def __aenter__(self) -> JsonRpcStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await self.wait_closed()


async def open_stream(
    remote: Remote | str, *, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> JsonRpcStream:
    """Connect to an active remote (``unix:`` or ``tcp:``)."""
    remote = _as_remote(remote)
    if remote.passive:
        raise ValueError(
            f"cannot connect to passive remote {remote}; did you mean {remote.to_active()}?"
        )
    if remote.kind == "unix":
        reader, writer = await asyncio.open_unix_connection(remote.path, limit=READ_SIZE)
    else:
        reader, writer = await asyncio.open_connection(remote.host, remote.port, limit=READ_SIZE)
    return JsonRpcStream(reader, writer, peer=str(remote), max_message_bytes=max_message_bytes)


async def serve(
    remote: Remote | str,
    on_connect: Callable[[JsonRpcStream], Awaitable[None]],
    *,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> asyncio.Server:
    """Listen on a passive remote; run ``on_connect(stream)`` for every peer.

    The stream is closed when ``on_connect`` returns or raises (an exception is logged
    and ends only that connection).  ``punix:`` removes a stale socket file first;
    ``ptcp:`` sets SO_REUSEADDR, and with port 0 the kernel picks one: see
    :func:`bound_port` / :func:`bound_remote`.
    """
    remote = _as_remote(remote)
    if not remote.passive:
        raise ValueError(f"cannot listen on active remote {remote}; use punix: or ptcp:")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stream = JsonRpcStream(
            reader, writer, peer=_peer_name(writer), max_message_bytes=max_message_bytes
        )
        try:
            await on_connect(stream)
        except (ProtocolError, OSError) as exc:
            log.warning("%s: closing connection: %s", stream.peer, exc)
        except Exception:
            log.exception("%s: connection handler failed", stream.peer)
        finally:
            stream.close()
            await stream.wait_closed()

    if remote.kind == "unix":
        assert remote.path is not None
        _remove_stale_socket(remote.path)
        return await asyncio.start_unix_server(handle, remote.path, limit=READ_SIZE)
    return await asyncio.start_server(
        handle, remote.host, remote.port, reuse_address=True, limit=READ_SIZE
    )


def _remove_stale_socket(path: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(f"{path} exists and is not a socket; not removing it")
    os.unlink(path)


def _peer_name(writer: asyncio.StreamWriter) -> str:
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family == socket.AF_UNIX:
        return f"unix#{next(_unix_peers)}"
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = peer[0]
        return f"tcp:[{host}]:{peer[1]}" if ":" in host else f"tcp:{host}:{peer[1]}"
    return str(peer)


def bound_port(server: asyncio.Server) -> int:
    """The TCP port a ``ptcp:`` server is listening on (useful with port 0)."""
    for sock in server.sockets:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            return sock.getsockname()[1]
    raise ValueError("server is not listening on TCP")


def bound_remote(server: asyncio.Server) -> Remote:
    """The active remote that reaches ``server`` (its first socket)."""
    if not server.sockets:
        raise ValueError("server has no listening socket")
    sock = server.sockets[0]
    name = sock.getsockname()
    if sock.family == socket.AF_UNIX:
        return Remote("unix", False, path=name)
    return Remote("tcp", True, host=name[0], port=name[1]).to_active()
