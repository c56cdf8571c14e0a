"""Finding where each JSON message ends in a byte stream, without re-parsing.

The splitter behind ``jsonrpc.Connection``: small messages are found by the stdlib's
``raw_decode``; a big message in progress is only summarised chunk by chunk with bulk byte
operations (quotes, brackets, escapes), and the chunk where it ends is scanned exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NOT_WS = re.compile(rb"[^ \t\r\n]")
_WS_STR = " \t\r\n"
_WS_RUN = re.compile(r"[ \t\r\n]*")
# One token of the exact scan: a whole string (possibly cut off by the end of the chunk,
# group 2 then holds a dangling backslash) or a bracket.  Group 1 is the closing quote.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:(")|(\\)?\Z)|[\[\]{}]', re.DOTALL)
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_QUOTED = re.compile(rb'"[^"]*"')
_DROP = bytes(b for b in range(256) if b not in b'"[]{}')
_ESCAPE_BYTES = b"\\/bfnrtu"  # a backslash and what JSON allows after one, but '"'
_DROP_BUT_ESCAPES = bytes(b for b in _DROP if b not in _ESCAPE_BYTES)
_PARENS = bytes.maketrans(b"[{]}", b"(())")
_MAX_REDUCE_PASSES = 32
_BLOCK = 64 * 1024
_QUOTE = ord('"')
_OPENERS = frozenset(b"[{")


@dataclass(frozen=True)
class _ScanState:
    """Where the scan of an incomplete message stopped."""

    depth: int  # open brackets not yet closed
    in_string: bool  # inside a string literal
    escape: bool  # inside a string, right after a backslash
    peak: int  # no less than the deepest nesting seen so far


_START = _ScanState(1, False, False, 1)  # just past a message's opening bracket


def _scan_exact(data: bytes, pos: int, state: _ScanState) -> tuple[int | None, _ScanState]:
    """Scan ``data[pos:]`` for the end of a message, given the state at ``data[pos]``.

    Returns the index just past the closing bracket (None if the message goes on) and
    the state there (depth 0 when the message ended).
    """
    n = len(data)
    if pos >= n:
        return None, state
    depth, peak = state.depth, state.peak
    if state.in_string:
        if state.escape:
            pos += 1
            if pos >= n:
                return None, _ScanState(depth, True, False, peak)
        end = _STRING_REST.match(data, pos).end()
        if end >= n or data[end] != _QUOTE:
            return None, _ScanState(depth, True, end < n, peak)
        pos = end + 1
    for m in _TOKEN.finditer(data, pos):
        c = data[m.start()]
        if c == _QUOTE:
            if m.end() == n and m.group(1) is None:
                return None, _ScanState(depth, True, m.group(2) is not None, peak)
        elif c in _OPENERS:
            depth += 1
            if depth > peak:
                peak = depth
        else:
            depth -= 1
            if depth <= 0:
                return m.end(), _ScanState(0, False, False, peak)
    return None, _ScanState(depth, False, False, peak)


def _summarise(data: bytes, state: _ScanState) -> tuple[int, _ScanState]:
    """Bulk (C-speed) summary of a chunk: (lowest depth reached, state at the end).

    Exact for valid JSON, except that ``peak`` is only a bound.  Every byte but quotes
    and brackets goes, and escapes with them (backslash pairs, then escaped quotes, as
    JSON reads them left to right); adjacent quote pairs are dropped (that never
    changes whether a bracket is inside a string), bracketed strings are cut out, and
    matched bracket pairs are reduced away, innermost first, leaving ``)))(((``: the
    leading closers are how far the depth falls.  The depth never rises above the
    trailing openers plus the number of reduction passes.
    """
    if not data:
        return state.depth, state
    if state.escape:
        data = data[1:]
    escape = False
    if b"\\" in data:
        # Keep the bytes that may follow a backslash too, so each escape stays whole.
        s = data.translate(None, _DROP_BUT_ESCAPES)
        if b"\\\\" in s:  # a run of backslashes pairs up from its left
            s = s.replace(b"\\\\", b"")
        s = s.replace(b'\\"', b"")  # what is left escapes the next byte
        escape = s.endswith(b"\\")
        s = s.translate(None, _ESCAPE_BYTES)
    else:
        s = data.translate(None, _DROP)
    if state.in_string:
        s = b'"' + s
    s = s.replace(b'""', b"")
    in_string = False
    if b'"' in s:
        if s.count(b'"') % 2:
            s = s[: s.rindex(b'"')]
            in_string = True
        s = _QUOTED.sub(b"", s)
    s = s.translate(_PARENS)
    for passes in range(_MAX_REDUCE_PASSES + 1):
        reduced = s.replace(b"()", b"")
        if len(reduced) == len(s):
            closers = len(s) - len(s.lstrip(b")"))
            rise = passes + len(s) - closers
            break
        s = reduced
    else:  # absurdly deep nesting: finish with a plain loop over what is left
        depth = lowest = highest = 0
        for c in s:
            depth += 1 if c == 40 else -1
            lowest = min(lowest, depth)
            highest = max(highest, depth)
        closers = -lowest
        rise = _MAX_REDUCE_PASSES + 1 + highest
    new_depth = state.depth + len(s) - 2 * s.count(b")")
    peak = max(state.peak, state.depth + rise)
    return state.depth - closers, _ScanState(new_depth, in_string, escape and in_string, peak)


def _find_end(data: bytes, pos: int, state: _ScanState) -> tuple[int | None, _ScanState]:
    """Like :func:`_scan_exact`, but skips in C over blocks where the message cannot end."""
    n = len(data)
    while n - pos > _BLOCK:
        lowest, after = _summarise(data[pos : pos + _BLOCK], state)
        if lowest <= 0:
            break
        pos += _BLOCK
        state = after
    return _scan_exact(data, pos, state)
