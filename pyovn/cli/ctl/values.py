"""Database values as ovn-nbctl / ovn-sbctl read and print them.

Reading (the "Database Values" section of ovn-nbctl(8)): a token is a JSON-style quoted
string or a run of characters up to white space or one of ``:=,[]{}!<>`` (a backslash takes
the next character literally). Sets may be wrapped in ``[]``, maps in ``{}``; elements are
separated by white space or one comma; integer sets also accept ranges ``N-M``. ``@name``
stands for a row created earlier in the same invocation (``--id=@name``).

Printing: ``string`` data quotes strings only when needed (``ch1`` but ``"10.0.0.1"``),
``bare`` data never quotes and drops the punctuation, ``json`` data is RFC 7047 JSON.

Parsed values use pyovn's datum representation (scalar atom, frozenset, dict); a row
created in the same transaction appears as its ``NamedUuid``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from pyovn.ovsdb.client.txn import NamedUuid
from pyovn.ovsdb.data import Datum, check_atom, datum_to_json, real_text
from pyovn.ovsdb.errors import OvsdbError
from pyovn.ovsdb.types import INT_MAX, INT_MIN, UNLIMITED, AtomicType, BaseType, Type, Uuid

DELIMITERS = frozenset(":=,[]{}!<>")
_INT_RE = re.compile(r"^\s*[+-]?[0-9]+$")
_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_BARE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")

# "@name" -> the UUID (real or named) of a row created earlier in this invocation
Symbols = Callable[[str], Any]


class CtlError(Exception):
    """A command failed; the message is printed after "PROG: " and the exit code is 1."""


def is_uuid(text: str) -> bool:
    return bool(_UUID_RE.match(text))


# ---------------------------------------------------------------------------- english


def base_english(base: BaseType, plural: bool = False) -> str:
    word = base.type.value
    return word + "s" if plural else word


def type_english(ctype: Type) -> str:
    """How ovn-nbctl names a column type in its messages ("set of up to 1 integers")."""
    key = ctype.key
    if ctype.is_scalar:
        return base_english(key)
    if ctype.value is not None:
        pair = f"({base_english(key)}, {base_english(ctype.value)}) pairs"
        return f"map of {_count_words(ctype)}{pair}"
    return f"set of {_count_words(ctype)}{base_english(key, True)}"


def _count_words(ctype: Type) -> str:
    if ctype.max == UNLIMITED:
        return "" if ctype.min == 0 else f"{ctype.min} or more "
    if ctype.min == 0:
        return f"up to {int(ctype.max)} "
    if ctype.min == ctype.max:
        return f"{ctype.min} "
    return f"{ctype.min} to {int(ctype.max)} "


# ---------------------------------------------------------------------------- atoms


def parse_quoted(text: str) -> tuple[str, int]:
    """A JSON string at the start of ``text`` -> (value, characters used)."""
    i = 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            try:
                return json.loads(text[: i + 1]), i + 1
            except json.JSONDecodeError as exc:
                raise CtlError(f"{text}: {exc.msg}") from None
        i += 1
    raise CtlError(f"{text}: missing quote at end of quoted string")


def parse_atom(base: BaseType, text: str, symbols: Symbols | None = None) -> Any:
    """One atom from its text (``column:key=VALUE`` uses this for VALUE, unsplit)."""
    atype = base.type
    value: Any
    if atype is AtomicType.STRING:
        if text.startswith('"'):
            value, used = parse_quoted(text)
            if used != len(text):
                raise CtlError(f"{text}: missing quote at end of quoted string")
        elif text == "":
            raise CtlError(
                'An empty string is not valid as input; use "" to represent the empty string'
            )
        else:
            value = text
    elif atype is AtomicType.INTEGER:
        if not _INT_RE.match(text):
            raise CtlError(f'"{text}" is not a valid integer')
        value = int(text)
        if not INT_MIN <= value <= INT_MAX:
            raise CtlError(f'"{text}" is not a valid integer')
    elif atype is AtomicType.REAL:
        try:
            value = float(text)
        except ValueError:
            raise CtlError(f'"{text}" is not a valid real number') from None
    elif atype is AtomicType.BOOLEAN:
        if text in ("true", "yes", "on", "1"):
            value = True
        elif text in ("false", "no", "off", "0"):
            value = False
        else:
            raise CtlError(f'"{text}" is not a valid boolean (use "true" or "false")')
    else:
        if text.startswith("@") and symbols is not None:
            value = symbols(text)
        elif is_uuid(text):
            value = Uuid(text.lower())
        else:
            raise CtlError(f'"{text}" is not a valid UUID')
    if not isinstance(value, NamedUuid):
        try:
            check_atom(base, value)
        except OvsdbError as exc:
            raise CtlError(str(exc)) from None
    return value


# ---------------------------------------------------------------------------- tokens


class _Scanner:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.pos = 0
        self.what = what  # English for "unexpected ..." messages

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    @staticmethod
    def _ends_token(c: str) -> bool:
        return c.isspace() or c in DELIMITERS

    def unexpected(self) -> CtlError:
        return CtlError(f'{self.text}: unexpected "{self.peek()}" parsing {self.what}')

    def token(self) -> tuple[str, bool]:
        """The next token: (text, quoted). A quoted token keeps its quotes (the atom parser
        reads them); an unquoted one comes back with its backslashes resolved."""
        c = self.peek()
        if c == "" or c in DELIMITERS or c.isspace():
            raise self.unexpected()
        if c == '"':
            _, used = parse_quoted(self.text[self.pos :])
            end = self.pos + used
            if end < len(self.text) and not self._ends_token(self.text[end]):
                while end < len(self.text) and not self._ends_token(self.text[end]):
                    end += 1
                raise CtlError(
                    f"{self.text[self.pos : end]}: missing quote at end of quoted string"
                )
            tok = self.text[self.pos : self.pos + used]
            self.pos += used
            return tok, True
        out = []
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c.isspace() or c in DELIMITERS:
                break
            if c == '"':
                raise CtlError(f"{self.text}: quoted string extends past end of argument")
            if c == "\\" and self.pos + 1 < len(self.text):
                self.pos += 1
                c = self.text[self.pos]
            out.append(c)
            self.pos += 1
        return "".join(out), False


def _token_atoms(
    base: BaseType, token: tuple[str, bool], symbols: Symbols | None, ranges: bool
) -> list[Any]:
    tok, quoted = token
    if base.type is AtomicType.STRING and not quoted:
        try:
            check_atom(base, tok)
        except OvsdbError as exc:
            raise CtlError(str(exc)) from None
        return [tok]
    if ranges and base.type is AtomicType.INTEGER and not quoted:
        m = re.match(r"^([+-]?[0-9]+)-([+-]?[0-9]+)$", tok)
        if m:
            lo, hi = int(m[1]), int(m[2])
            if hi < lo:
                raise CtlError(f'"{tok}" is not a valid range. Range end cannot be before start.')
            return [parse_atom(base, str(i), symbols) for i in range(lo, hi + 1)]
        if not _INT_RE.match(tok):
            raise CtlError(f'"{tok}" is not a valid integer or range')
    return [parse_atom(base, tok, symbols)]


def read_token(text: str, pos: int, what: str) -> tuple[tuple[str, bool], int]:
    """The token at ``pos`` of ``text`` and the position after it."""
    scan = _Scanner(text, what)
    scan.pos = pos
    tok = scan.token()
    return tok, scan.pos


def token_atom(base: BaseType, token: tuple[str, bool], symbols: Symbols | None = None) -> Any:
    return _token_atoms(base, token, symbols, False)[0]


def parse_datum(ctype: Type, text: str, symbols: Symbols | None = None) -> Datum:
    """A whole column value (``column=VALUE``) -> datum."""
    scan = _Scanner(text, type_english(ctype))
    scan.skip_ws()
    closer = ""
    if ctype.value is not None:
        if scan.peek() == "{":
            closer = "}"
            scan.pos += 1
    elif scan.peek() == "[":
        closer = "]"
        scan.pos += 1
    keys: list[Any] = []
    values: list[Any] = []
    while True:
        scan.skip_ws()
        c = scan.peek()
        if c == "" or (closer and c == closer):
            break
        key_start = scan.pos
        keys.extend(_token_atoms(ctype.key, scan.token(), symbols, ctype.value is None))
        if ctype.value is not None:
            scan.skip_ws()
            if scan.peek() != "=":
                rest = text[key_start:]
                raise CtlError(f'{rest}: syntax error at "{scan.peek()}" expecting "="')
            scan.pos += 1
            scan.skip_ws()
            if ctype.value.type is AtomicType.STRING and scan.peek() in ("", closer, ","):
                parse_atom(ctype.value, "")  # raises: an empty value must be written ""
            values.extend(_token_atoms(ctype.value, scan.token(), symbols, False))
        scan.skip_ws()
        if scan.peek() == ",":
            scan.pos += 1
            scan.skip_ws()
            if scan.peek() in ("", ",") or scan.peek() == closer:
                raise scan.unexpected()
        elif scan.peek() not in ("", closer) and scan.peek() in DELIMITERS:
            raise scan.unexpected()
    if closer:
        if scan.peek() != closer:
            raise CtlError(f'{text}: missing "{closer}" at end of data')
        scan.pos += 1
        scan.skip_ws()
        if scan.pos < len(text):
            raise scan.unexpected()
    return _build_datum(ctype, text, keys, values)


def _build_datum(ctype: Type, text: str, keys: list[Any], values: list[Any]) -> Datum:
    if ctype.value is not None:
        out: dict[Any, Any] = {}
        for k, v in zip(keys, values, strict=True):
            if k in out:
                raise CtlError(f"{text}: map contains duplicate key")
            out[k] = v
        check_size(ctype, len(out), text)
        return out
    if len(set(keys)) != len(keys):
        raise CtlError(f"{text}: set contains duplicate value")
    check_size(ctype, len(keys), text)
    if ctype.is_scalar:
        return keys[0]
    return frozenset(keys)


def check_size(ctype: Type, n: int, text: str) -> None:
    if n < ctype.min:
        raise CtlError(f"{text}: {n} value(s) specified but the minimum number is {ctype.min}")
    if n > ctype.max:
        raise CtlError(f"{text}: {n} value(s) specified but the maximum number is {int(ctype.max)}")


def parse_key(base: BaseType, text: str, symbols: Symbols | None = None) -> Any:
    """A map key written on its own (``remove T R options KEY``, ``get T R col:KEY``)."""
    scan = _Scanner(text, base_english(base))
    tok = scan.token()
    if scan.pos != len(text):
        raise scan.unexpected()
    return _token_atoms(base, tok, symbols, False)[0]


def parse_elements(ctype: Type, text: str, symbols: Symbols | None = None) -> Datum:
    """Values for ``add``/``remove``: any number of elements of the column's type (maps:
    ``key=value`` pairs), as a set or map datum without size limits."""
    relaxed = Type(ctype.key, ctype.value, 0, UNLIMITED)
    return parse_datum(relaxed, text, symbols)


# ---------------------------------------------------------------------------- printing


def string_needs_quotes(s: str) -> bool:
    return not _BARE_RE.match(s) or s in ("true", "false") or is_uuid(s)


def placeholder(named: NamedUuid) -> str:
    """Stands for a row created in this invocation until the commit tells its UUID."""
    return f"\x00{named.name}\x00"


def plain(datum: Datum) -> Datum:
    """``datum`` with rows created in this invocation replaced by their placeholders."""
    if isinstance(datum, NamedUuid):
        return Uuid(placeholder(datum))
    if isinstance(datum, frozenset):
        return frozenset(plain(a) for a in datum)
    if isinstance(datum, dict):
        return {plain(k): plain(v) for k, v in datum.items()}
    return datum


def atom_text(base: BaseType, atom: Any, bare: bool = False) -> str:
    atype = base.type
    if isinstance(atom, NamedUuid):
        return placeholder(atom)
    if atype is AtomicType.STRING:
        s = str(atom)
        if bare or not string_needs_quotes(s):
            return s
        return json.dumps(s, ensure_ascii=False)
    if atype is AtomicType.BOOLEAN:
        return "true" if atom else "false"
    if atype is AtomicType.REAL:
        return real_text(float(atom))
    return str(atom)


def datum_text(ctype: Type, datum: Datum, data_format: str = "string") -> str:
    """A column value as ovn-nbctl prints it, in data format "string", "bare" or "json"."""
    datum = plain(datum)
    if data_format == "json":
        return json.dumps(datum_to_json(ctype, datum), separators=(",", ":"), ensure_ascii=False)
    bare = data_format == "bare"
    key = ctype.key
    if ctype.value is not None:
        val = ctype.value
        items = [
            f"{atom_text(key, k, bare)}={atom_text(val, v, bare)}"
            for k, v in sorted(datum.items(), key=lambda kv: sort_key(kv[0]))
        ]
        return " ".join(items) if bare else "{" + ", ".join(items) + "}"
    if ctype.is_scalar:
        return atom_text(key, datum, bare)
    atoms = sorted(datum, key=sort_key)
    if bare:
        return " ".join(atom_text(key, a, True) for a in atoms)
    if ctype.max == 1 and len(atoms) == 1:
        return atom_text(key, atoms[0])
    return "[" + ", ".join(atom_text(key, a) for a in atoms) + "]"


def sort_key(atom: Any) -> Any:
    """Atoms sort as OVSDB sorts them (strings by UTF-8 bytes = by code point)."""
    if isinstance(atom, NamedUuid):
        return "~" + atom.name
    return atom


def _elements(ctype: Type, datum: Datum) -> list[Any]:
    if ctype.value is not None:
        return sorted(datum.items(), key=lambda kv: (sort_key(kv[0]), sort_key(kv[1])))
    if ctype.is_scalar:
        return [datum]
    return sorted(datum, key=sort_key)


def datum_compare(ctype: Type, a: Datum, b: Datum) -> int:
    """OVS's ordering of column values: equal, else more elements is larger, else the first
    differing element in sorted order decides (maps: keys first, then values)."""
    ea, eb = _elements(ctype, a), _elements(ctype, b)
    if ctype.value is not None:
        ka, kb = [k for k, _ in ea], [k for k, _ in eb]
        if ka == kb:
            ea, eb = [v for _, v in ea], [v for _, v in eb]
        else:
            ea, eb = ka, kb
    if ea == eb:
        return 0
    if len(ea) != len(eb):
        return -1 if len(ea) < len(eb) else 1
    for x, y in zip(ea, eb, strict=True):
        if x != y:
            return -1 if sort_key(x) < sort_key(y) else 1
    return 0


def datum_json(ctype: Type, datum: Datum) -> Any:
    return datum_to_json(ctype, plain(datum))


def as_mapping(datum: Datum) -> Mapping[Any, Any]:
    return datum if isinstance(datum, Mapping) else {}
