"""Fuzzing pyovn's OVSDB server: random bytes, random JSON and random JSON-RPC requests
on one connection must never stop the server from answering a good client.

Stronger, for well-formed requests: the server answers each one (a result or an error)
and keeps the connection open; only a "transact" may legitimately stay unanswered (a
"wait" that blocks).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyovn.ovsdb.jsonrpc import ErrorReply, Reply, Request
from pyovn.ovsdb.server.server import OvsdbServer
from tests.support.inproc import ThreadedInproc
from tests.support.rawrpc import BlockingClient

NB = "OVN_Northbound"
METHODS = sorted(OvsdbServer._METHODS)
SYNC_ID = ["fuzz", "sync"]  # never generated below: generated ids are scalars

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedInproc]:
    workdir = tmp_path_factory.mktemp("fuzz")
    with ThreadedInproc(workdir, ("nb",), max_message_bytes=4 * 1024 * 1024) as srv:
        yield srv


def check_good_client(server: ThreadedInproc) -> None:
    good = BlockingClient(server.path)
    try:
        assert good.call("echo", ["ok"]) == ["ok"]
        assert NB in good.call("list_dbs", [])
        (result,) = good.call(
            "transact", [NB, {"op": "select", "table": "NB_Global", "where": [], "columns": []}]
        )
        assert "rows" in result
    finally:
        good.close()


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
ids = st.integers(min_value=0, max_value=10**6) | st.text(min_size=1, max_size=8)

# values that look like OVSDB on purpose, so the handlers get past their first checks
ovsdb_like = st.sampled_from(
    [
        NB,
        "_Server",
        "Logical_Switch",
        "name",
        {"Logical_Switch": {}},
        {"Logical_Switch": [{"where": [["name", "==", "x"]]}]},
        {"Logical_Switch": [{"columns": ["name"], "select": {"initial": False}}]},
        {"Logical_Switch": {"columns": "name"}},
        {"op": "insert", "table": "Logical_Switch", "row": {"name": "fuzz"}},
        {"op": "select", "table": "Logical_Switch", "where": []},
        {
            "op": "wait",
            "table": "Logical_Switch",
            "where": [],
            "until": "==",
            "rows": [],
            "timeout": 0,
        },
        {"op": "assert", "lock": "x"},
        "00000000-0000-0000-0000-000000000000",
        [],
        {},
    ]
)
params = st.lists(ovsdb_like | json_values, max_size=5)


@FUZZ
@given(data=st.binary(max_size=3000))
def test_random_bytes(server: ThreadedInproc, data: bytes) -> None:
    bad = BlockingClient(server.path, timeout=5)
    try:
        bad.send(data)
    except OSError:
        pass  # the server may already have closed the connection
    finally:
        bad.close()
    check_good_client(server)


@FUZZ
@given(value=json_values)
def test_random_json(server: ThreadedInproc, value: Any) -> None:
    bad = BlockingClient(server.path, timeout=5)
    try:
        bad.send(json.dumps(value).encode())
    except OSError:
        pass
    finally:
        bad.close()
    check_good_client(server)


@FUZZ
@given(
    members=st.dictionaries(
        st.sampled_from(["method", "params", "id", "result", "error", "extra"]),
        json_values | st.sampled_from(METHODS),
        max_size=5,
    )
)
def test_random_message_shapes(server: ThreadedInproc, members: dict[str, Any]) -> None:
    bad = BlockingClient(server.path, timeout=5)
    try:
        try:
            bad.send(json.dumps(members).encode())
            bad.send(Request("echo", [], SYNC_ID))
            bad.reply(SYNC_ID)
        except OSError:
            pass  # closed, as it may be for a malformed message
    finally:
        bad.close()
    check_good_client(server)


@FUZZ
@given(method=st.sampled_from(METHODS), request_params=params, msg_id=ids)
def test_random_requests_are_answered(
    server: ThreadedInproc, method: str, request_params: list[Any], msg_id: Any
) -> None:
    client = BlockingClient(server.path, timeout=20)
    try:
        client.send(Request(method, request_params, msg_id))
        client.send(Request("echo", ["sync"], SYNC_ID))
        sync = client.reply(SYNC_ID)  # the connection stayed open
        assert isinstance(sync, Reply) and sync.result == ["sync"]
        if method != "transact":
            answers = [
                m for m in client.received if isinstance(m, (Reply, ErrorReply)) and m.id == msg_id
            ]
            assert len(answers) == 1, (method, request_params, client.received)
    finally:
        client.close()
    check_good_client(server)


def test_server_did_not_leak_sessions(server: ThreadedInproc) -> None:
    """After all the fuzzing (the tests above ran on this server), every fuzz connection
    was closed: the server forgot every session and every pending wait, and still serves."""
    import time

    check_good_client(server)
    deadline = time.monotonic() + 30
    while server.call(lambda s: len(s.server.sessions)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.call(lambda s: len(s.server.sessions)) == 0
    assert server.call(lambda s: sum(len(st.pending) for st in s.server.dbs.values())) == 0
