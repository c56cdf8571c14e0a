"""pyovn.ovsdb.stream: OVS remote syntax (no sockets here; see tests/functional)."""

from __future__ import annotations

import asyncio

import pytest

from pyovn.ovsdb.stream import DEFAULT_PORT, Remote, open_stream, parse_remote, serve


@pytest.mark.parametrize(
    ("text", "expected", "canonical"),
    [
        ("unix:/run/ovn/ovnnb_db.sock", Remote("unix", False, path="/run/ovn/ovnnb_db.sock"), None),
        ("unix:relative/db.sock", Remote("unix", False, path="relative/db.sock"), None),
        ("unix:/a:b", Remote("unix", False, path="/a:b"), None),
        ("punix:/tmp/x.sock", Remote("unix", True, path="/tmp/x.sock"), None),
        ("tcp:127.0.0.1:6641", Remote("tcp", False, host="127.0.0.1", port=6641), None),
        ("tcp:ovn-central:6642", Remote("tcp", False, host="ovn-central", port=6642), None),
        ("tcp:[::1]:6641", Remote("tcp", False, host="::1", port=6641), None),
        ("tcp:[fe80::1%eth0]:1", Remote("tcp", False, host="fe80::1%eth0", port=1), None),
        (
            "tcp:10.0.0.1",
            Remote("tcp", False, host="10.0.0.1", port=DEFAULT_PORT),
            "tcp:10.0.0.1:6640",
        ),
        ("tcp:[::1]", Remote("tcp", False, host="::1", port=DEFAULT_PORT), "tcp:[::1]:6640"),
        ("ptcp:6641", Remote("tcp", True, host="0.0.0.0", port=6641), "ptcp:6641:0.0.0.0"),
        ("ptcp:6641:127.0.0.1", Remote("tcp", True, host="127.0.0.1", port=6641), None),
        ("ptcp:0:127.0.0.1", Remote("tcp", True, host="127.0.0.1", port=0), None),
        ("ptcp:6641:[::1]", Remote("tcp", True, host="::1", port=6641), None),
        ("ptcp:6641:::1", Remote("tcp", True, host="::1", port=6641), "ptcp:6641:[::1]"),
        ("ptcp:", Remote("tcp", True, host="0.0.0.0", port=DEFAULT_PORT), "ptcp:6640:0.0.0.0"),
        (
            "ptcp::127.0.0.1",
            Remote("tcp", True, host="127.0.0.1", port=DEFAULT_PORT),
            "ptcp:6640:127.0.0.1",
        ),
    ],
)
def test_parse_remote(text, expected, canonical):
    remote = parse_remote(text)
    assert remote == expected
    assert str(remote) == (canonical or text)
    assert parse_remote(str(remote)) == remote


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "no type"),
        ("/tmp/db.sock", "no type"),
        ("ssl:127.0.0.1:6641", "SSL remotes are not supported"),
        ("pssl:6641", "SSL remotes are not supported"),
        ("udp:1.2.3.4:5", "unknown type 'udp'"),
        ("unix:", "empty path"),
        ("punix:", "empty path"),
        ("tcp:", "no host"),
        ("tcp::6641", "no host"),
        ("tcp:::1:6641", "brackets"),
        ("tcp:[::1:6641", "malformed"),
        ("tcp:[::1]6641", "malformed"),
        ("tcp:host:port", "bad port 'port'"),
        ("tcp:host:-1", "bad port"),
        ("tcp:host:65536", "out of range"),
        ("tcp:host:0", "out of range"),
        ("ptcp:99999", "out of range"),
        ("ptcp:x", "bad port"),
        ("ptcp:6641:[::1", "malformed"),
        ("tcp:host:٣", "bad port"),
    ],
)
def test_parse_remote_rejects(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_remote(text)


def test_to_active():
    assert parse_remote("ptcp:6641").to_active() == parse_remote("tcp:127.0.0.1:6641")
    assert parse_remote("ptcp:6641:::").to_active() == parse_remote("tcp:[::1]:6641")
    assert parse_remote("ptcp:6641:10.1.2.3").to_active() == parse_remote("tcp:10.1.2.3:6641")
    assert parse_remote("punix:/x").to_active() == parse_remote("unix:/x")
    remote = parse_remote("unix:/x")
    assert remote.to_active() is remote


def test_wrong_direction_is_refused():
    async def handler(stream):  # pragma: no cover - never called
        pass

    with pytest.raises(ValueError, match="passive"):
        asyncio.run(open_stream("ptcp:6641:127.0.0.1"))
    with pytest.raises(ValueError, match="active"):
        asyncio.run(serve("tcp:127.0.0.1:6641", handler))
