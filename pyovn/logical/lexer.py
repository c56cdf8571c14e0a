"""Tokenizer for OVN's logical-flow language (matches and actions share it).

Lexical rules, as described in ovn-sb(5):

* identifiers may contain dots: ``eth.src``, ``reg0``, ``ct.est``, ``flags.loopback``;
* integers are decimal, hexadecimal (``0x...``, any width), Ethernet (``00:11:22:33:44:55``),
  IPv4 (``10.0.0.1``) or IPv6 (``fe80::1``); any of them may be followed by ``/`` and a mask in
  the same notation, and IPv4/IPv6 masks may be CIDR prefix lengths (``10.0.0.0/24``);
* strings use JSON syntax (``"lp1"``);
* ``$name`` names an address set, ``@name`` a port group;
* ``//`` starts a comment to the end of the line, ``/* ... */`` brackets one.

:func:`tokenize` returns every token with its offset, ending with an ``END`` token.
"""

from __future__ import annotations

import ipaddress
import json
import re
from enum import Enum
from typing import NamedTuple

from pyovn.logical.errors import LexError
from pyovn.logical.values import FORMAT_WIDTH, IntConst, IntFormat, prefix_mask


class TokenKind(Enum):
    ID = "identifier"
    STRING = "string"
    INTEGER = "integer"
    MASKED_INTEGER = "masked integer"
    MACRO = "address set"
    PORT_GROUP = "port group"
    LPAREN = "("
    RPAREN = ")"
    LCURLY = "{"
    RCURLY = "}"
    LSQUARE = "["
    RSQUARE = "]"
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LOG_NOT = "!"
    LOG_AND = "&&"
    LOG_OR = "||"
    ELLIPSIS = ".."
    COMMA = ","
    SEMICOLON = ";"
    EQUALS = "="
    EXCHANGE = "<->"
    ARROW = "->"
    DECREMENT = "--"
    COLON = ":"
    END = "end of input"


class Token(NamedTuple):
    """One token. ``value`` is the int for integers, the text for names and strings.

    A named tuple: lexing makes one per word, and tuples are the cheapest immutable records.
    """

    kind: TokenKind
    text: str
    offset: int
    value: int | str | None = None
    mask: int | None = None
    fmt: IntFormat | None = None

    def const(self) -> IntConst:
        """The integer constant carried by an INTEGER or MASKED_INTEGER token."""
        assert isinstance(self.value, int) and self.fmt is not None
        return IntConst(self.value, self.mask, self.fmt)

    def describe(self) -> str:
        return self.kind.value if self.kind is TokenKind.END else self.text


# Longest first, so that "<->" wins over "<" and "==" over "=".
_OPERATORS = sorted((k for k in TokenKind if not k.value[0].isalpha()), key=lambda k: -len(k.value))
# The same, as plain strings grouped by first character (Enum.value lookups are slow).
_OPS_BY_CHAR: dict[str, tuple[tuple[str, TokenKind], ...]] = {}
for _kind in _OPERATORS:
    _OPS_BY_CHAR[_kind.value[0]] = (*_OPS_BY_CHAR.get(_kind.value[0], ()), (_kind.value, _kind))
del _kind
# Blanks and comments (a "/*" left unmatched is an unterminated comment).
_SKIP_RE = re.compile(r"(?:\s+|//[^\n]*\n?|/\*.*?\*/)*", re.DOTALL)
_ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NAME_RE = re.compile(r"[A-Za-z0-9_.]+")
_STRING_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"')
# A string JSON reads as it is written: no escapes, no control characters.
_PLAIN_STRING_RE = re.compile(r'"([^"\\\x00-\x1f]*)"')
_HEX_RE = re.compile(r"0[xX][0-9a-fA-F]+")
_DEC_RE = re.compile(r"[0-9]+")
_MAC_RE = re.compile(r"[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5}")
_IPV4_RE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_IPV6_RE = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:.]*")
_IDCHAR = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
# An Ethernet or IPv6 literal has a colon after its first hex digits.
_HEX_COLON_RE = re.compile(r"[0-9a-fA-F]*:")
# The common tokens in one step: an identifier that cannot begin a number (a hex letter
# followed by hex digits and a colon could be an Ethernet or IPv6 literal), or an operator
# (longest first; ":" only where "::" does not begin an IPv6 literal).
# Blanks before it are skipped in the same step.
_FAST_RE = re.compile(
    r"\s*([g-zG-Z_][A-Za-z0-9_.]*|[a-fA-F](?![0-9a-fA-F]*:)[A-Za-z0-9_.]*"
    r"|<->|<=|<|->|--|==|=|!=|!|>=|>|&&|\|\||\.\.|[(){}\[\],;]|:(?!:))"
)
_OP_KINDS = {kind.value: kind for kind in _OPERATORS}


def _scan_number(text: str, pos: int) -> tuple[int, IntFormat, int] | None:
    """Longest valid numeric literal at ``pos``: (value, notation, end) or None.

    On equal lengths the first of decimal/hexadecimal, IPv4, Ethernet, IPv6 wins. Each
    notation is only tried where it can match: IPv4 needs a dot right after the first one to
    three digits, Ethernet and IPv6 a colon after the first hex digits.
    """
    if (m := _HEX_RE.match(text, pos)) is not None:
        # "0x" can begin no other notation
        return int(m.group()[2:], 16), IntFormat.HEXADECIMAL, m.end()
    best: tuple[int, IntFormat, int] | None = None
    if (m := _DEC_RE.match(text, pos)) is not None:
        end = m.end()
        best = (int(m.group()), IntFormat.DECIMAL, end)
        if (
            end - pos <= 3
            and text.startswith(".", end)
            and (m := _IPV4_RE.match(text, pos)) is not None
            and (value := _ipv4(m.group())) is not None
        ):
            best = (value, IntFormat.IPV4, m.end())
    if _HEX_COLON_RE.match(text, pos) is None:
        return best
    if (m := _MAC_RE.match(text, pos)) is not None and (best is None or m.end() > best[2]):
        best = (_mac(m.group()), IntFormat.ETHERNET, m.end())
    if (m := _IPV6_RE.match(text, pos)) is not None and (best is None or m.end() > best[2]):
        try:
            best = (int(ipaddress.IPv6Address(m.group())), IntFormat.IPV6, m.end())
        except ValueError:
            pass
    return best


def _ipv4(text: str) -> int | None:
    """The value of dotted-quad ``text`` (four groups of 1-3 digits), or None where
    ``ipaddress`` would refuse it (an octet above 255 or with a leading zero)."""
    value = 0
    for octet in text.split("."):
        n = int(octet)
        if n > 255 or (octet[0] == "0" and len(octet) > 1):
            return None
        value = (value << 8) | n
    return value


def _mac(text: str) -> int:
    value = 0
    for octet in text.split(":"):
        value = (value << 8) | int(octet, 16)
    return value


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []

    def error(self, message: str, pos: int, end: int | None = None) -> LexError:
        near = self.text[pos : end if end is not None else pos + 10]
        return LexError(message, pos, near)

    def run(self) -> list[Token]:
        text, n = self.text, len(self.text)
        tokens = self.tokens
        skip, fast, ops = _SKIP_RE.match, _FAST_RE.match, _OP_KINDS
        ident = TokenKind.ID
        pos = 0
        while pos < n:
            m = fast(text, pos)
            if m is not None:
                word = m.group(1)
                start = m.start(1)
                kind = ops.get(word)
                if kind is None:
                    tokens.append(Token(ident, word, start, word))
                else:
                    tokens.append(Token(kind, word, start))
                pos = m.end()
                continue
            c = text[pos]
            if c.isspace() or c == "/":
                # skip blanks and comments (str.isspace is what the regex's \s matches)
                m = skip(text, pos)
                assert m is not None
                if m.end() >= n:
                    break
                if text.startswith("/*", m.end()):
                    raise self.error("Unterminated comment", m.end())
                if m.end() > pos:
                    pos = m.end()
                    continue
            self.pos = pos
            self._token()
            pos = self.pos
        tokens.append(Token(TokenKind.END, "", n))
        return tokens

    def _add(self, kind: TokenKind, start: int, end: int, **kw: object) -> None:
        self.tokens.append(Token(kind, self.text[start:end], start, **kw))  # type: ignore[arg-type]
        self.pos = end

    def _add_value(self, kind: TokenKind, start: int, end: int, value: int | str) -> None:
        self.tokens.append(Token(kind, self.text[start:end], start, value))
        self.pos = end

    def _token(self) -> None:
        text, start = self.text, self.pos
        c = text[start]
        if c == '"':
            self._string()
        elif c in "$@":
            m = _NAME_RE.match(text, start + 1)
            if m is None:
                raise self.error(f"`{c}' must be followed by a name", start, start + 1)
            kind = TokenKind.MACRO if c == "$" else TokenKind.PORT_GROUP
            self._add_value(kind, start, m.end(), m.group())
        elif self._starts_number(c, start):
            self._number()
        elif (m := _ID_RE.match(text, start)) is not None:
            word = m.group()
            self.tokens.append(Token(TokenKind.ID, word, start, word))
            self.pos = m.end()
        else:
            for op, kind in _OPS_BY_CHAR.get(c, ()):
                if text.startswith(op, start):
                    self.tokens.append(Token(kind, op, start))
                    self.pos = start + len(op)
                    return
            raise self.error(f"Invalid character `{c}'", start, start + 1)

    def _starts_number(self, c: str, start: int) -> bool:
        if c.isdigit():
            return True
        if c == ":":
            return self.text.startswith("::", start)
        if c not in _HEXDIGITS or _HEX_COLON_RE.match(self.text, start) is None:
            return False
        # A letter a-f starts an identifier unless an Ethernet or IPv6 address is here.
        num = _scan_number(self.text, start)
        return num is not None and num[1] in (IntFormat.ETHERNET, IntFormat.IPV6)

    def _string(self) -> None:
        start = self.pos
        m = _PLAIN_STRING_RE.match(self.text, start)
        if m is not None:
            self._add_value(TokenKind.STRING, start, m.end(), m.group(1))
            return
        m = _STRING_RE.match(self.text, start)
        if m is None:
            raise self.error("Unterminated string constant", start)
        try:
            value = json.loads(m.group())
        except ValueError:
            raise self.error("Invalid escape in string constant", start, m.end())
        self._add_value(TokenKind.STRING, start, m.end(), value)

    def _literal(self, pos: int) -> tuple[int, IntFormat, int]:
        num = _scan_number(self.text, pos)
        if num is None:
            raise self.error("Invalid numeric constant", pos)
        end = num[2]
        text = self.text
        if end < len(text) and (
            text[end] in _IDCHAR
            or (text[end] == ":" and num[1] is not IntFormat.IPV4)
            or (text[end] == "." and text[end + 1 : end + 2].isdigit())
        ):
            stop = end
            while stop < len(text) and (text[stop] in _IDCHAR or text[stop] in ".:"):
                stop += 1
            raise self.error("Invalid numeric constant", pos, stop)
        return num

    def _number(self) -> None:
        start = self.pos
        value, fmt, end = self._literal(start)
        if end >= len(self.text) or self.text[end] != "/":
            self.tokens.append(
                Token(TokenKind.INTEGER, self.text[start:end], start, value, None, fmt)
            )
            self.pos = end
            return
        mask, mask_fmt, mask_end = self._literal(end + 1)
        width = FORMAT_WIDTH.get(fmt)
        if fmt in (IntFormat.IPV4, IntFormat.IPV6) and mask_fmt is IntFormat.DECIMAL:
            assert width is not None
            if mask > width:
                raise self.error(f"Prefix length {mask} exceeds {width} bits", end + 1, mask_end)
            mask = prefix_mask(mask, width)
        if value & ~mask:
            raise self.error("Value contains unmasked 1-bits", start, mask_end)
        self._add(TokenKind.MASKED_INTEGER, start, mask_end, value=value, mask=mask, fmt=fmt)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; the last one has kind ``END``. Raises :class:`LexError`."""
    return _Lexer(text).run()


def parse_constant(text: str) -> IntConst:
    """Read one (possibly masked) integer constant, e.g. an Address_Set entry."""
    tokens = tokenize(text)
    if len(tokens) != 2 or tokens[0].kind not in (TokenKind.INTEGER, TokenKind.MASKED_INTEGER):
        raise LexError("Expected one integer constant", 0, text)
    return tokens[0].const()
