"""Sans-IO JSON-RPC 1.0 as OVSDB uses it (RFC 7047 section 4): bytes in, messages out.

Nothing here touches a socket or a clock.  A :class:`Connection` is fed whatever bytes
arrived with :meth:`Connection.receive_data` and hands back complete messages; messages
to send are turned into bytes with :meth:`Connection.send`.  The transport (asyncio, a
test, a replay file) lives elsewhere.

Framing: OVSDB peers send JSON objects back to back with no delimiter (sometimes with
whitespace or newlines in between), so the receiver has to find where each object ends.
The splitter does that exactly for any valid JSON, in linear time, with the per-byte
work done in C:

* Messages that start and end inside one chunk (the common case for small messages)
  are decoded by ``json``'s C ``raw_decode``, which reports where each value ended.
* While a big message is incomplete, each new chunk is only *summarised* with bulk byte
  operations (``replace`` and ``translate``, in C): string contents go, the brackets
  left are reduced pairwise, and what remains tells how far the nesting depth can fall
  within the chunk.  If it cannot reach zero the chunk is just queued: no Python loop
  over its bytes and no re-parsing.
* Only in the chunk where a message ends (or where one begins but does not end) does
  an exact tokenizer walk its strings and brackets, one Python step per token.  The
  message's bytes are then joined once and parsed once (``orjson`` when importable and
  sure to give the same value, else the stdlib).

Structural scanning never has to be right about invalid JSON: the JSON parser has the
last word, and its errors become :class:`ProtocolError`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

try:  # optional accelerator; the stdlib path below is complete on its own
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised in a subprocess test
    _orjson = None

# fmt: off
__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES", "Connection", "ErrorReply", "Message", "Notification",
    "ProtocolError", "Reply", "Request", "echo_reply", "echo_request", "encode_many",
    "encode_message", "is_echo", "is_echo_reply", "json_backend", "message_to_json",
    "parse_message", "request_ids",
]
# fmt: on

from pyovn.ovsdb.jsonsplit import (
    _BLOCK,
    _NOT_WS,
    _START,
    _WS_RUN,
    _WS_STR,
    _find_end,
    _ScanState,
    _summarise,
)

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
ECHO_ID = "echo"


class ProtocolError(Exception):
    """The peer broke JSON or JSON-RPC rules; the connection should be closed."""


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class Request:
    """A call that expects a reply with the same ``id`` (which is never null)."""

    method: str
    params: list
    id: Any

    def __post_init__(self) -> None:  # a null id makes it a Notification
        _check_method(self.method, self.params, ValueError)
        _non_null(self, "id")


@dataclass(frozen=True)
class Notification:
    """A call without a reply; on the wire its ``id`` is null."""

    method: str
    params: list

    def __post_init__(self) -> None:
        _check_method(self.method, self.params, ValueError)


@dataclass(frozen=True)
class Reply:
    """A successful response: non-null ``result``, null ``error``."""

    result: Any
    id: Any

    def __post_init__(self) -> None:
        _non_null(self, "result", "id")


@dataclass(frozen=True)
class ErrorReply:
    """A failed response: null ``result``, non-null ``error``."""

    error: Any
    id: Any

    def __post_init__(self) -> None:
        _non_null(self, "error", "id")


Message = Request | Notification | Reply | ErrorReply

_REQUEST_KEYS = frozenset(("method", "params", "id"))
_RESPONSE_KEYS = frozenset(("result", "error", "id"))


def _non_null(msg: object, *fields: str) -> None:
    for name in fields:
        if getattr(msg, name) is None:
            raise ValueError(f"{type(msg).__name__}.{name} must not be null")


def _check_method(method: object, params: object, exc: type[Exception]) -> None:
    if not isinstance(method, str):
        raise exc(f"method must be a string, not {type(method).__name__}")
    if not isinstance(params, list):
        raise exc(f"params must be an array, not {type(params).__name__}")


def parse_message(obj: object) -> Message:
    """Validate a decoded JSON value as a JSON-RPC 1.0 message.

    A request or notification has the members ``method`` (string), ``params`` (array)
    and ``id`` (null for a notification).  A response has ``id`` (non-null) and exactly
    one of ``result``/``error`` non-null.  Real peers bend JSON-RPC 1.0 in two ways that
    are accepted here: Open vSwitch sends error replies without a ``result`` member
    (``{"id":7,"error":"unknown monitor"}``), so a missing ``result`` or ``error`` counts
    as null; and some requests carry ``"params": null`` (ovsdb-server(7) documents
    ``get_server_id`` that way), which counts as ``[]``.  Anything else, including
    unknown members, raises :class:`ProtocolError`.
    """
    if not isinstance(obj, dict):
        raise ProtocolError(f"message must be a JSON object, not {_json_type(obj)}")
    keys = obj.keys()
    if "method" in obj:
        if keys != _REQUEST_KEYS:
            raise ProtocolError(_members_error("request", keys, _REQUEST_KEYS))
        method, params, msg_id = obj["method"], obj["params"], obj["id"]
        if params is None:
            params = []
        _check_method(method, params, ProtocolError)
        if msg_id is None:
            return Notification(method, params)
        return Request(method, params, msg_id)
    if "id" not in keys or not keys <= _RESPONSE_KEYS:
        raise ProtocolError(_members_error("response", keys, _RESPONSE_KEYS, optional=True))
    result, error, msg_id = obj.get("result"), obj.get("error"), obj["id"]
    if msg_id is None:
        raise ProtocolError("response has a null id")
    if (result is None) == (error is None):
        raise ProtocolError("response must have exactly one of result and error non-null")
    if error is None:
        return Reply(result, msg_id)
    return ErrorReply(error, msg_id)


def _members_error(
    kind: str, keys: Iterable[str], expected: frozenset[str], optional: bool = False
) -> str:
    keys = set(keys)
    parts = []
    if missing := sorted({"id"} - keys if optional else expected - keys):
        parts.append("missing " + ", ".join(missing))
    if extra := sorted(keys - expected):
        parts.append("unexpected " + ", ".join(extra))
    return f"{kind} has wrong members ({'; '.join(parts)})"


_JSON_TYPES = {list: "an array", str: "a string", bool: "a boolean", int: "a number",
               float: "a number", type(None): "null"}  # fmt: skip


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def message_to_json(msg: Message) -> dict[str, Any]:
    """The JSON object for ``msg``, with every member JSON-RPC 1.0 asks for."""
    if isinstance(msg, Request):
        return {"method": msg.method, "params": msg.params, "id": msg.id}
    if isinstance(msg, Notification):
        return {"method": msg.method, "params": msg.params, "id": None}
    if isinstance(msg, Reply):
        return {"result": msg.result, "error": None, "id": msg.id}
    if isinstance(msg, ErrorReply):
        return {"result": None, "error": msg.error, "id": msg.id}
    raise TypeError(f"not a JSON-RPC message: {msg!r}")


# --------------------------------------------------------------------------- helpers


def request_ids(start: int = 0) -> Iterator[int]:
    """Fresh request ids: 0, 1, 2, ... (OVS clients use integers too)."""
    return itertools.count(start)


def echo_request(params: list | None = None) -> Request:
    """The inactivity probe OVS peers send: method ``echo`` with id ``"echo"``."""
    return Request("echo", [] if params is None else params, ECHO_ID)


def echo_reply(request: Request) -> Reply:
    """The answer to an echo request: its params, echoed back."""
    return Reply(request.params, request.id)


def is_echo(msg: Message) -> bool:
    """True for an ``echo`` request, which must be answered with :func:`echo_reply`."""
    return isinstance(msg, Request) and msg.method == "echo"


def is_echo_reply(msg: Message) -> bool:
    """True for the reply to one of our own probes (id ``"echo"``)."""
    return isinstance(msg, Reply | ErrorReply) and msg.id == ECHO_ID


# --------------------------------------------------------------------------- codec


def json_backend() -> str:
    """``"orjson"`` when the accelerator is in use, else ``"json"``."""
    return "json" if _orjson is None else "orjson"


_STDLIB_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0:  # inf (NaN cannot be spelled as a JSON number)
        raise ValueError(f"number {text[:40]} is out of range")
    return value


# A Python call per float (rare in OVSDB) buys the range check.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)

if _orjson is not None:
    _ORJSON_OPTIONS = _orjson.OPT_PASSTHROUGH_DATACLASS | _orjson.OPT_PASSTHROUGH_DATETIME

_DIGIT_SHAPE = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))  # digits -> "0"


def _has_long_digit_run(data: bytes) -> bool:
    """Whether ``data`` may hold an integer past 64 bits, which orjson would turn into a
    float: that takes 20 digits in a row (a false alarm only costs speed)."""
    return b"00000000000000000000" in data.translate(_DIGIT_SHAPE)


# orjson 3.8 has no nesting limit and overflows the C stack (the process dies) on a
# peer's [[[[... of some 100,000 levels.  The stdlib raises RecursionError well before
# this depth, so deeper input is left to it.
_ORJSON_MAX_DEPTH = 1000


def _nesting_bound(data: bytes) -> int:
    """An upper bound of the nesting depth of the JSON text ``data``."""
    state = _ScanState(0, False, False, 0)
    for pos in range(0, len(data), _BLOCK):
        state = _summarise(data[pos : pos + _BLOCK], state)[1]
    return state.peak


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON (no spaces, non-ASCII kept as is).

    With orjson, NaN/Infinity are written as null and ``uuid.UUID`` as a string, where
    the stdlib would raise; neither belongs in an OVSDB message.
    """
    if _orjson is not None:
        try:
            return _orjson.dumps(obj, option=_ORJSON_OPTIONS)
        except TypeError:
            pass  # integers beyond 64 bits, non-string keys, ...: let the stdlib decide
    return _STDLIB_ENCODER.encode(obj).encode("utf-8")


def loads(data: bytes, max_depth: int | None = None) -> Any:
    """Decode one JSON text; any error becomes :class:`ProtocolError`.

    The stdlib decoder is the reference (NaN, Infinity and out-of-range numbers are
    rejected); orjson is used whenever it is sure to give the identical value and to
    survive the nesting depth (``max_depth``, a bound the caller knows, else computed).
    """
    if (
        _orjson is not None
        and (max_depth if max_depth is not None else _nesting_bound(data)) <= _ORJSON_MAX_DEPTH
        and not _has_long_digit_run(data)
    ):
        try:
            return _orjson.loads(data)
        except ValueError:
            pass  # an error, or something orjson rejects but JSON allows (lone surrogates)
    try:
        return _DECODER.decode(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"invalid UTF-8 in message: {exc}") from None
    except ValueError as exc:
        raise ProtocolError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError("invalid JSON: nesting too deep") from None


def encode_message(msg: Message) -> bytes:
    """One message as compact UTF-8 JSON bytes."""
    return dumps(message_to_json(msg))


def encode_many(msgs: Iterable[Message]) -> bytes:
    """Several messages, back to back, ready for a single write."""
    return b"".join(dumps(message_to_json(m)) for m in msgs)


class Connection:
    """One JSON-RPC connection's protocol state, without any I/O.

    Feed received bytes to :meth:`receive_data`; call :meth:`receive_eof` when the peer
    closed.  Both raise :class:`ProtocolError` on malformed input or a message larger
    than ``max_message_bytes``; the connection is then unusable and should be closed.
    """

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        if max_message_bytes <= 0:
            raise ValueError("max_message_bytes must be positive")
        self.max_message_bytes = max_message_bytes
        self._parts: list[bytes] = []  # bytes of the incomplete message, first is "{"
        self._size = 0
        self._state = _START
        self._error: ProtocolError | None = None
        self._ids = request_ids()

    # -- receiving

    @property
    def pending_bytes(self) -> int:
        """Bytes of a message received only in part."""
        return self._size

    @property
    def error(self) -> ProtocolError | None:
        """Set once the peer broke the protocol; the connection should then be closed."""
        return self._error

    def receive_data(self, data: bytes) -> list[Message]:
        """Consume ``data`` and return the messages it completed, in order.

        If ``data`` holds good messages followed by bad input, the good ones are
        returned and the error is raised by the next call (and kept in :attr:`error`),
        as a peer reading byte by byte would see it.
        """
        if self._error is not None:
            raise self._error
        out: list[Message] = []
        try:
            self._receive(data, out)
        except ProtocolError as exc:
            self._error = exc
            self._parts.clear()
            self._size = 0
            if not out:
                raise
        return out

    def receive_eof(self) -> None:
        """The peer closed; raise :class:`ProtocolError` if a message was cut short."""
        if self._error is None and self._parts:
            self._error = ProtocolError(f"connection closed in the middle of a message "
                                        f"({self._size} bytes)")  # fmt: skip
        if self._error is not None:
            raise self._error

    def _receive(self, data: bytes, out: list[Message]) -> None:
        if not data:
            return
        pos = 0
        # A chunk that is exactly one message (an update, a reply): orjson at twice the
        # stdlib's speed. Its nesting is bounded by its brackets, so orjson is safe;
        # anything it refuses (several messages, bad input) or might read differently
        # (integers past 64 bits) takes the exact path below.
        if (
            not self._parts
            and _orjson is not None
            and data[-1:] == b"}"
            and 512 < len(data) <= self.max_message_bytes
            and data.count(b"[") + data.count(b"{") <= _ORJSON_MAX_DEPTH
            and not _has_long_digit_run(data)
        ):
            try:
                obj = _orjson.loads(data)
            except ValueError:
                pass
            else:
                if isinstance(obj, dict):
                    out.append(parse_message(obj))
                    return
        if self._parts:
            lowest, after = _summarise(data, self._state)
            if lowest > 0:
                self._append(data, after)
                return
            found, after = _find_end(data, 0, self._state)
            if found is None:  # only for invalid JSON
                self._append(data, after)
                return
            self._check_size(self._size + found)
            self._parts.append(data[:found])
            blob = b"".join(self._parts)
            self._parts, self._size = [], 0
            out.append(parse_message(loads(blob, after.peak)))
            pos = found
        pos = self._decode_run(data, pos, out)
        n = len(data)
        while pos < n:  # the incomplete tail, or a message the fast path refused
            m = _NOT_WS.search(data, pos)
            if m is None:
                break
            pos = m.start()
            if data[pos] not in b"{[":
                raise ProtocolError(f"expected a JSON object, got {data[pos : pos + 20]!r}")
            found, after = _find_end(data, pos + 1, _START)
            if found is None:
                self._append(data[pos:], after)
                break
            self._check_size(found - pos)
            out.append(parse_message(loads(data[pos:found], after.peak)))
            pos = found

    def _decode_run(self, data: bytes, pos: int, out: list[Message]) -> int:
        """Decode whole messages from ``data[pos:]`` in C; return where it stopped.

        ``raw_decode`` finds each value's end itself, so a chunk of many small messages
        costs one parse each.  It stops at the first thing it cannot decode: the
        incomplete tail (the usual case), invalid UTF-8 or invalid JSON, all of which
        the exact byte path then handles.
        """
        end = len(data)
        try:
            text = data[pos:].decode("utf-8")
        except UnicodeDecodeError as exc:  # a character cut by the chunk, or bad bytes
            end = pos + exc.start
            text = data[pos:end].decode("utf-8")
        limit = self.max_message_bytes
        whole = end - pos <= limit
        decode = _DECODER.raw_decode
        i, n = 0, len(text)
        while i < n:
            if text[i] in _WS_STR:
                i = _WS_RUN.match(text, i).end()
                if i == n:
                    break
            if text[i] not in "{[":
                break
            try:
                obj, stop = decode(text, i)
            except (ValueError, RecursionError):
                break
            if not whole and len(text[i:stop].encode("utf-8")) > limit:
                break
            out.append(parse_message(obj))
            i = stop
        if text.isascii():
            return pos + i
        return end - len(text[i:].encode("utf-8"))

    def _append(self, data: bytes, state: _ScanState) -> None:
        self._check_size(self._size + len(data))
        self._parts.append(data)
        self._size += len(data)
        self._state = state

    def _check_size(self, size: int) -> None:
        if size > self.max_message_bytes:
            raise ProtocolError(f"message exceeds {self.max_message_bytes} bytes")

    # -- sending

    def next_id(self) -> int:
        """A request id not used before on this connection."""
        return next(self._ids)

    def send(self, msg: Message) -> bytes:
        """The bytes to write for ``msg``."""
        return encode_message(msg)

    def send_many(self, msgs: Iterable[Message]) -> bytes:
        """The bytes to write for several messages, in one buffer."""
        return encode_many(msgs)
