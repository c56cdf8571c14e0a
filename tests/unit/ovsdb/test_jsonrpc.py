"""pyovn.ovsdb.jsonrpc: message shapes, the byte-stream splitter, the codec."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyovn.ovsdb import jsonrpc
from pyovn.ovsdb.jsonrpc import (
    Connection,
    ErrorReply,
    Notification,
    ProtocolError,
    Reply,
    Request,
    echo_reply,
    echo_request,
    encode_many,
    is_echo,
    is_echo_reply,
    message_to_json,
    parse_message,
    request_ids,
)
from pyovn.ovsdb.jsonsplit import _START, _scan_exact, _summarise

BACKENDS = ["json"] + (["orjson"] if jsonrpc._orjson is not None else [])


@pytest.fixture(params=BACKENDS, autouse=True)
def backend(request, monkeypatch):
    """Run every test with the stdlib codec and, when installed, with orjson."""
    if request.param == "json":
        monkeypatch.setattr(jsonrpc, "_orjson", None)
    assert jsonrpc.json_backend() == request.param
    return request.param


def feed(data: bytes, cuts: list[int] | None = None, **kwargs) -> list[jsonrpc.Message]:
    conn = Connection(**kwargs)
    bounds = [0, *sorted(cuts or []), len(data)]
    out = []
    for lo, hi in itertools.pairwise(bounds):
        out += conn.receive_data(data[lo:hi])
    conn.receive_eof()
    return out


# ----------------------------------------------------------------------- message shapes

SAMPLES = [
    (
        {"method": "transact", "params": ["db", {"op": "select"}], "id": 1},
        Request("transact", ["db", {"op": "select"}], 1),
    ),
    ({"method": "update", "params": [None, {}], "id": None}, Notification("update", [None, {}])),
    ({"result": [{"count": 1}], "error": None, "id": "x"}, Reply([{"count": 1}], "x")),
    (
        {"result": None, "error": {"error": "syntax error"}, "id": 3},
        ErrorReply({"error": "syntax error"}, 3),
    ),
    ({"result": {}, "error": None, "id": [1, 2]}, Reply({}, [1, 2])),
]


@pytest.mark.parametrize(("obj", "msg"), SAMPLES)
def test_parse_and_back(obj, msg):
    assert parse_message(obj) == msg
    assert message_to_json(msg) == obj
    assert json.loads(Connection().send(msg)) == obj


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        ([1, 2], "array"),
        ("x", "string"),
        (None, "null"),
        ({}, "missing id"),
        ({"method": "m", "params": []}, "missing id"),
        ({"method": "m", "params": [], "id": 1, "extra": 0}, "unexpected extra"),
        ({"method": 1, "params": [], "id": 1}, "method must be a string"),
        ({"method": "m", "params": {}, "id": 1}, "params must be an array"),
        ({"method": "m", "params": 3, "id": None}, "params must be an array"),
        ({"method": "m", "params": [], "id": 1, "result": 2}, "unexpected result"),
        ({"error": "e"}, "missing id"),
        ({"result": 1, "id": 1, "extra": 0}, "unexpected extra"),
        ({"id": 1}, "exactly one"),
        ({"result": 1, "error": None}, "missing id"),
        ({"result": 1, "error": None, "id": None}, "null id"),
        ({"result": None, "error": None, "id": 1}, "exactly one"),
        ({"result": 1, "error": "e", "id": 1}, "exactly one"),
    ],
)
def test_parse_rejects(obj, fragment):
    with pytest.raises(ProtocolError, match=fragment):
        parse_message(obj)


@pytest.mark.parametrize(
    ("obj", "msg"),
    [
        # Open vSwitch's servers send error replies without a "result" member
        ({"id": 7, "error": "unknown monitor"}, ErrorReply("unknown monitor", 7)),
        ({"id": 5, "error": "canceled"}, ErrorReply("canceled", 5)),
        # ... and some peers leave out a null "error" in replies
        ({"id": 1, "result": {}}, Reply({}, 1)),
        # "params": null (as ovsdb-server(7) writes get_server_id) counts as []
        ({"method": "get_server_id", "params": None, "id": 1}, Request("get_server_id", [], 1)),
        ({"method": "m", "params": None, "id": None}, Notification("m", [])),
    ],
)
def test_parse_accepts_what_real_peers_send(obj, msg):
    assert parse_message(obj) == msg
    # the same through the byte-level connection, both the fast and the split paths
    data = json.dumps(obj).encode()
    assert feed(data) == [msg]
    assert feed(data, [len(data) // 2]) == [msg]


@pytest.mark.parametrize(
    "build",
    [
        lambda: Request("m", [], None),
        lambda: Request(1, [], 1),
        lambda: Request("m", (), 1),
        lambda: Notification("m", None),
        lambda: Reply(None, 1),
        lambda: Reply(1, None),
        lambda: ErrorReply(None, 1),
        lambda: ErrorReply("e", None),
    ],
)
def test_constructors_validate(build):
    with pytest.raises(ValueError):
        build()


def test_message_to_json_rejects_other_objects():
    with pytest.raises(TypeError):
        message_to_json({"method": "m"})


def test_echo_helpers():
    probe = echo_request()
    assert probe == Request("echo", [], "echo")
    assert is_echo(probe)
    assert not is_echo(Notification("echo", []))
    assert not is_echo(Request("transact", [], 1))
    assert echo_reply(Request("echo", ["x"], 7)) == Reply(["x"], 7)
    assert is_echo_reply(echo_reply(probe))
    assert not is_echo_reply(Reply([], 1))
    assert not is_echo_reply(probe)


def test_request_ids():
    ids = request_ids()
    assert [next(ids) for _ in range(3)] == [0, 1, 2]
    conn = Connection()
    assert [conn.next_id(), conn.next_id()] == [0, 1]
    assert next(request_ids(10)) == 10


# ----------------------------------------------------------------------- sending


def test_send_is_compact_utf8():
    msg = Request("transact", ["db", {"name": "ü→", "n": [1, 2]}], 5)
    data = Connection().send(msg)
    assert data == '{"method":"transact","params":["db",{"name":"ü→","n":[1,2]}],"id":5}'.encode()


def test_send_many_concatenates():
    msgs = [echo_request(), Reply({}, 1), Notification("update", [None, {}])]
    data = encode_many(msgs)
    assert data == b"".join(Connection().send(m) for m in msgs)
    assert Connection().send_many(msgs) == data
    assert feed(data) == msgs


def test_send_values_orjson_cannot_encode():
    big = 2**70
    msg = Request("m", [big, {"k": -big}], 1)
    assert json.loads(Connection().send(msg)) == message_to_json(msg)
    assert jsonrpc.dumps({1: "x"}) == b'{"1":"x"}'


def test_send_rejects_unserialisable():
    with pytest.raises(TypeError):
        Connection().send(Request("m", [object()], 1))


# ----------------------------------------------------------------------- splitting

TRICKY = [
    Request("echo", ['{"}[', "\\", '\\"', "]}}}", 'a"b'], "echo"),
    Notification("update", [{"ü": "ñ€𝄞", "x": '\\\\"{'}, "\n\t\r\u0000\u001f"]),
    Reply({"rows": [{"s": "}" * 5 + "\\" * 7}, {"t": [[], {}, [[[]]]]}]}, 17),
    ErrorReply({"error": "e", "details": "[[[{{{"}, [1, "two"]),
    Reply([1.5, -0.0, 1e300, 2**63, -(2**63), 123456789012345678901234567890, True, False], 2),
]


def test_back_to_back_with_whitespace():
    parts = [Connection().send(m) for m in TRICKY]
    data = b"\n".join(parts) + b" \r\n\t " + parts[0] + parts[1]
    assert feed(data) == [*TRICKY, TRICKY[0], TRICKY[1]]


def test_every_single_cut_point():
    data = b"  " + encode_many(TRICKY) + b"\n"
    for cut in range(len(data) + 1):
        assert feed(data, [cut]) == TRICKY, cut


def test_byte_at_a_time():
    data = encode_many(TRICKY)
    assert feed(data, list(range(1, len(data)))) == TRICKY


def test_non_ascii_escaped_and_raw_agree():
    msg = Request("m", ["ü€𝄞"], 1)
    raw = json.dumps(message_to_json(msg), ensure_ascii=False).encode()
    escaped = json.dumps(message_to_json(msg), ensure_ascii=True).encode()
    assert b"\\u" in escaped
    data = raw + escaped
    for cut in range(len(data) + 1):
        assert feed(data, [cut]) == [msg, msg]


def test_big_message_in_small_chunks():
    rows = {
        f"uuid-{i}": {"name": f'n{{"{i}', "tags": ["set", [[str(i), "}"]]]} for i in range(5000)
    }
    msg = Reply({"T": rows}, 1)
    data = encode_many([msg, echo_request(), msg])
    for size in (1000, 4096, 65536, 300_000):
        cuts = list(range(size, len(data), size))
        assert feed(data, cuts) == [msg, echo_request(), msg]


def test_big_chunk_with_big_tail_uses_block_skipping():
    msg = Reply({"k": ["x" * 50, "]}\\" * 20, {"a": [1, 2, 3]}] * 20_000}, 4)
    data = encode_many([echo_request(), msg])
    for cut in (len(data) - 1, len(data) // 2, 200_000):
        assert feed(data, [cut]) == [echo_request(), msg]


def test_deep_nesting_beyond_reduce_passes():
    value: object = "leaf"
    for _ in range(200):
        value = [value, {"k": value if isinstance(value, str) else 0}]
    msg = Reply(value, 1)
    data = Connection().send(msg)
    for size in (7, 100, 333):
        assert feed(data, list(range(size, len(data), size))) == [msg]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from('abfnrtu{}[]"\\/ü€\n\t\b\f\r𝄞\x00 ,:'), max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet='a{"\\]ü', max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)
json_ids = (
    st.integers(0, 2**40) | st.text(max_size=5).filter(bool) | st.lists(st.integers(), max_size=2)
)
messages = st.one_of(
    st.builds(Request, st.text(max_size=8), st.lists(json_values, max_size=3), json_ids),
    st.builds(Notification, st.text(max_size=8), st.lists(json_values, max_size=3)),
    st.builds(Reply, json_values.filter(lambda v: v is not None), json_ids),
    st.builds(ErrorReply, json_values.filter(lambda v: v is not None), json_ids),
)
encoders = st.sampled_from(
    [
        lambda o: jsonrpc.dumps(o),
        lambda o: json.dumps(o).encode(),
        lambda o: json.dumps(o, ensure_ascii=False, indent=1).encode(),
        lambda o: json.dumps(o).replace("/", "\\/").encode(),  # "\/" is a valid escape too
    ]
)
whitespace = st.text(alphabet=" \t\r\n", max_size=3).map(str.encode)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    msgs=st.lists(messages, max_size=6),
    encode=encoders,
    gaps=st.lists(whitespace, min_size=7, max_size=7),
    data=st.data(),
)
def test_any_messages_any_chunking(msgs, encode, gaps, data):
    blob = b"".join(gap + encode(message_to_json(m)) for gap, m in zip(gaps, msgs, strict=False))
    blob += gaps[-1]
    cuts = data.draw(st.lists(st.integers(0, len(blob)), max_size=12))
    assert feed(blob, cuts) == msgs


@settings(max_examples=300)
@given(value=json_values, data=st.data())
def test_summary_agrees_with_exact_scan(value, data):
    text = json.dumps([value, "}"], ensure_ascii=data.draw(st.booleans()))
    if data.draw(st.booleans()):
        text = text.replace("/", "\\/")
    text = text.encode()
    cut = data.draw(st.integers(1, len(text)))
    found, state = _scan_exact(text[:cut], 1, _START)
    if found is not None:  # the whole value fits in the first piece
        return
    lowest, _ = _summarise(text[cut:], state)
    found, end = _scan_exact(text[cut:], 0, state)
    assert found == len(text) - cut
    assert lowest <= 0
    assert end.peak == _depth(value) + 1
    mid = data.draw(st.integers(cut, len(text)))
    lowest, after = _summarise(text[cut:mid], state)
    found, exact = _scan_exact(text[cut:mid], 0, state)
    if mid < len(text):
        assert lowest > 0
        assert found is None
        assert (after.depth, after.in_string, after.escape) == (
            exact.depth,
            exact.in_string,
            exact.escape,
        )
        assert after.peak >= exact.peak


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


def test_nesting_bound():
    assert jsonrpc._nesting_bound(b'{"a":[1,{"b":"[[[["}],"c":[[]]}') == 3
    deep = b"[" * 5000 + b"]" * 5000
    assert jsonrpc._nesting_bound(deep) >= 5000
    assert jsonrpc._nesting_bound(b'["\\"]]]]]') == 1


# ----------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "data",
    [
        b'{"method" "m"}',
        b"xyz",
        b"]",
        b'"just a string"',
        b"42",
        b'{"result":1,"error":null,"id":1,}',
        b'{"method":"m","params":[NaN],"id":1}',
        b'{"method":"m","params":[Infinity],"id":1}',
        b'{"method":"m","params":[1e400],"id":1}',
        b'{"method":"m","params":["\xff"],"id":1}',
        b'{"method":"m","params":["\xc3"],"id":1}',
        b'{"method":"m","params":[],"id":1]',
        b'[{"method":"m","params":[],"id":1}]',
        b'{"method":"m","params":{},"id":1}',
        b'{"result":1,"error":null,"id":1}\x00',
    ],
)
def test_malformed_input(data):
    for cuts in ([], [len(data) // 2], list(range(1, len(data)))):
        conn = Connection()
        with pytest.raises(ProtocolError):
            for piece in _pieces(data, cuts):
                conn.receive_data(piece)
            conn.receive_eof()
        assert isinstance(conn.error, ProtocolError)
        with pytest.raises(ProtocolError):  # a broken connection stays broken
            conn.receive_data(b"{}")
        with pytest.raises(ProtocolError):
            conn.receive_eof()


def test_good_messages_before_bad_input_are_delivered():
    good = Connection().send(echo_request())
    conn = Connection()
    assert conn.receive_data(good + good + b"}{") == [echo_request(), echo_request()]
    assert isinstance(conn.error, ProtocolError)
    with pytest.raises(ProtocolError, match="expected a JSON object"):
        conn.receive_data(good)
    conn = Connection()
    assert conn.receive_data(good[:5]) == []
    assert conn.receive_data(good[5:] + b'{"a" 1}') == [echo_request()]
    with pytest.raises(ProtocolError, match="invalid JSON"):
        conn.receive_eof()


def _pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *cuts, len(data)]
    return [data[lo:hi] for lo, hi in itertools.pairwise(bounds)]


def test_eof_in_the_middle_of_a_message():
    conn = Connection()
    assert conn.receive_data(b'{"method":"echo",') == []
    assert conn.pending_bytes == 17
    with pytest.raises(ProtocolError, match="middle of a message"):
        conn.receive_eof()


def test_eof_after_whitespace_is_clean():
    conn = Connection()
    conn.receive_data(Connection().send(echo_request()) + b"\n  ")
    assert conn.pending_bytes == 0
    conn.receive_eof()


def test_big_integers_and_lone_surrogates_decode_like_the_stdlib():
    data = b'{"method":"m","params":[123456789012345678901234567890,"\\ud800"],"id":1}'
    expected = Request("m", [123456789012345678901234567890, "\ud800"], 1)
    assert feed(data) == [expected]
    assert feed(data + data, [len(data) - 3]) == [expected, expected]


def test_size_limit():
    msg = Request("m", ["x" * 100], 1)
    data = Connection().send(msg)
    assert feed(data, max_message_bytes=len(data)) == [msg]
    assert feed(data * 3, [5, len(data) + 5], max_message_bytes=len(data)) == [msg] * 3
    for cuts in ([], [10], [len(data) - 1], list(range(1, len(data), 7))):
        conn = Connection(max_message_bytes=len(data) - 1)
        with pytest.raises(ProtocolError, match="exceeds"):
            for piece in _pieces(data, cuts):
                conn.receive_data(piece)


def test_size_limit_on_unterminated_garbage():
    conn = Connection(max_message_bytes=1000)
    conn.receive_data(b"[" * 500)
    with pytest.raises(ProtocolError, match="exceeds"):
        conn.receive_data(b'"' + b"{" * 600)


def test_invalid_max_message_bytes():
    with pytest.raises(ValueError):
        Connection(max_message_bytes=0)


def test_very_deep_nesting_is_refused_without_crashing():
    # Run in a child: some orjson releases overflow the C stack on such input.
    code = (
        "from pyovn.ovsdb import jsonrpc as j\n"
        "deep = b'{\"method\":\"echo\",\"params\":' + b'[' * 300000 + b']' * 300000\n"
        "deep += b',\"id\":1}'\n"
        "for size in (len(deep), 65536, 4096):\n"
        "    c = j.Connection()\n"
        "    try:\n"
        "        for i in range(0, len(deep), size):\n"
        "            c.receive_data(deep[i : i + size])\n"
        "        c.receive_eof()\n"
        "    except j.ProtocolError as e:\n"
        "        assert 'deep' in str(e) or 'recursion' in str(e).lower(), e\n"
        "    else:\n"
        "        raise AssertionError('accepted')\n"
        "try:\n"
        "    j.loads(deep)\n"
        "except j.ProtocolError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('accepted')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_works_without_orjson_installed():
    code = (
        "import sys; sys.modules['orjson'] = None\n"
        "from pyovn.ovsdb import jsonrpc as j\n"
        "assert j.json_backend() == 'json'\n"
        "c = j.Connection()\n"
        "data = c.send_many([j.echo_request(), j.Reply({'ü': 2**70}, 1)])\n"
        "assert c.receive_data(data[:9]) == []\n"
        "assert c.receive_data(data[9:]) == [j.echo_request(), j.Reply({'ü': 2**70}, 1)]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- one-message chunks

_PAD = "x" * 600  # past the size from which a chunk that is one message goes to orjson


@pytest.mark.parametrize(
    "text",
    [
        '{"method":"update3","params":["%s",{"T":{"r":{"insert":{"n":1}}}}],"id":null}',
        # integers orjson would read as floats
        '{"method":"echo","params":["%s", 18446744073709551616, -9223372036854775809],"id":1}',
        '{"method":"echo","params":["%s", "\\ud800"],"id":2}',  # a lone surrogate
        '{"method":"echo","params":["%s", 1.5e300, -0, 0.1],"id":3}',
        '{"method":"echo","params":["%s"],"id":4}{"method":"echo","params":[],"id":5}',
        '{"id":6,"result":{"k":"%s","k":"last wins"},"error":null}',
    ],
)
def test_one_message_chunk_reads_as_the_stdlib_reads_it(text: str) -> None:
    text = text.replace("%s", _PAD)
    data = text.encode()
    assert len(data) > 512
    want = [jsonrpc.parse_message(m) for m in _stdlib_messages(text)]
    assert Connection().receive_data(data) == want


@pytest.mark.parametrize(
    "text",
    [
        '{"method":"echo","params":["%s", NaN],"id":1}',
        '{"method":"echo","params":["%s", 1e400],"id":1}',
        '{"method":"echo","params":["%s"],"id":1,"extra":2}',
        '{"method":"echo","params":' + "[" * 1200 + '"%s"' + "]" * 1200 + ',"id":1}',
    ],
)
def test_one_message_chunk_errors_as_before(text: str) -> None:
    with pytest.raises(ProtocolError):
        Connection().receive_data(text.replace("%s", _PAD).encode())


def _stdlib_messages(text: str) -> list[object]:
    decoder = json.JSONDecoder()
    out, i = [], 0
    while i < len(text):
        obj, i = decoder.raw_decode(text, i)
        out.append(obj)
    return out
