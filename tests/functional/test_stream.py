"""pyovn.ovsdb.stream over real sockets: a unix socket in tmp_path and TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from pyovn.ovsdb.jsonrpc import (
    ErrorReply,
    Notification,
    ProtocolError,
    Reply,
    Request,
    echo_reply,
    echo_request,
    is_echo,
)
from pyovn.ovsdb.stream import (
    JsonRpcStream,
    bound_port,
    bound_remote,
    open_stream,
    parse_remote,
    serve,
)

TIMEOUT = 10


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


@pytest.fixture(params=["unix", "tcp"])
def listen(request, tmp_path):
    """A passive remote to serve on: punix in tmp_path, or ptcp port 0 on loopback."""
    if request.param == "unix":
        return f"punix:{tmp_path / 'db.sock'}"
    return "ptcp:0:127.0.0.1"


async def echo_server(stream: JsonRpcStream) -> None:
    """Answers echo like OVS, replies to other requests with their params, and
    closes after a "bye" notification."""
    async for msg in stream:
        if is_echo(msg):
            stream.send(echo_reply(msg))
        elif isinstance(msg, Request):
            stream.send(Reply({"method": msg.method, "params": msg.params}, msg.id))
        elif isinstance(msg, Notification) and msg.method == "bye":
            await stream.drain()
            return
        await stream.drain()


def test_echo_round_trip(listen):
    async def main():
        server = await serve(listen, echo_server)
        async with server:
            client = await open_stream(bound_remote(server))
            client.send(echo_request(["ping", {"ü": "{}"}]))
            await client.drain()
            assert await client.recv() == Reply(["ping", {"ü": "{}"}], "echo")
            client.send_many([Request("transact", ["db", i], i) for i in range(50)])
            await client.drain()
            for i in range(50):
                assert await client.recv() == Reply({"method": "transact", "params": ["db", i]}, i)
            client.send(Notification("bye", []))
            assert await client.recv() is None  # the server closed: EOF
            assert await client.recv() is None
            client.close()
            await client.wait_closed()

    run(main())


def test_tcp_port_zero_exposes_bound_port():
    async def main():
        server = await serve(parse_remote("ptcp:0:127.0.0.1"), echo_server)
        async with server:
            port = bound_port(server)
            assert port > 0
            assert bound_remote(server) == parse_remote(f"tcp:127.0.0.1:{port}")
            async with await open_stream(f"tcp:127.0.0.1:{port}") as client:
                assert client.peer == f"tcp:127.0.0.1:{port}"
                client.send(echo_request())
                assert await client.recv() == Reply([], "echo")

    run(main())


def test_large_message_round_trip(listen):
    rows = {
        f"row-{i}": {"name": f"lsp-{i}", "tags": ["set", ["{", "}", '"', "ü"]]}
        for i in range(60_000)
    }
    big = Request("transact", ["OVN_Northbound", rows], 1)

    async def main():
        server = await serve(listen, echo_server)
        async with server, await open_stream(bound_remote(server)) as client:
            client.send(big)
            assert client.write_buffer_size() > 0  # more than the kernel takes at once
            client.send(echo_request())
            await client.drain()
            reply = await client.recv()
            assert reply == Reply({"method": "transact", "params": big.params}, 1)
            assert await client.recv() == Reply([], "echo")

    run(main())


def test_eof_mid_message_is_a_protocol_error(listen):
    async def half_then_close(stream: JsonRpcStream) -> None:
        stream._writer.write(b'{"result":{"x":[1,2')
        await stream.drain()

    async def main():
        server = await serve(listen, half_then_close)
        async with server, await open_stream(bound_remote(server)) as client:
            with pytest.raises(ProtocolError, match="middle of a message"):
                await client.recv()

    run(main())


def test_malformed_input_closes_only_that_connection(listen, caplog):
    seen = []

    async def record(stream: JsonRpcStream) -> None:
        async for msg in stream:
            seen.append(msg)

    async def main():
        server = await serve(listen, record)
        async with server:
            async with await open_stream(bound_remote(server)) as bad:
                bad.send(echo_request())
                bad._writer.write(b'{"method": 1, "params": [], "id": 2}')
                assert await bad.recv() is None  # the server hung up
            async with await open_stream(bound_remote(server)) as good:
                good.send(ErrorReply("oops", 3))
                good.send(Notification("bye", []))
                await good.drain()
            for _ in range(100):
                if len(seen) == 3:
                    break
                await asyncio.sleep(0.01)

    with caplog.at_level(logging.WARNING, logger="pyovn.ovsdb.stream"):
        run(main())
    assert seen == [echo_request(), ErrorReply("oops", 3), Notification("bye", [])]
    assert "method must be a string" in caplog.text


def test_handler_exception_is_logged_and_connection_closed(listen, caplog):
    async def boom(stream: JsonRpcStream) -> None:
        await stream.recv()
        raise RuntimeError("handler bug")

    async def main():
        server = await serve(listen, boom)
        async with server:
            for _ in range(2):  # the server survives the failure
                async with await open_stream(bound_remote(server)) as client:
                    client.send(echo_request())
                    assert await client.recv() is None

    with caplog.at_level(logging.ERROR, logger="pyovn.ovsdb.stream"):
        run(main())
    failures = [r for r in caplog.records if "handler failed" in r.getMessage()]
    assert len(failures) == 2
    assert all("handler bug" in str(r.exc_info[1]) for r in failures)


def test_punix_replaces_a_stale_socket_file(tmp_path):
    path = tmp_path / "stale.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # leaves the file behind, as a crashed server would
    assert path.exists()

    async def main():
        server = await serve(f"punix:{path}", echo_server)
        async with server, await open_stream(f"unix:{path}") as client:
            client.send(echo_request())
            assert await client.recv() == Reply([], "echo")

    run(main())


def test_punix_refuses_to_remove_a_regular_file(tmp_path):
    path = tmp_path / "precious"
    path.write_text("data")
    with pytest.raises(FileExistsError):
        run(serve(f"punix:{path}", echo_server))
    assert path.read_text() == "data"


def test_connect_refused(tmp_path):
    with pytest.raises(OSError):
        run(open_stream(f"unix:{tmp_path / 'nobody.sock'}"))


def test_send_after_close_raises(listen):
    async def main():
        server = await serve(listen, echo_server)
        async with server:
            client = await open_stream(bound_remote(server))
            client.close()
            assert client.is_closing()
            with pytest.raises(ConnectionResetError):
                client.send(echo_request())
            await client.wait_closed()

    run(main())
