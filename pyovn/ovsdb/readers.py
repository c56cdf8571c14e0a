"""Fast datum readers for the common column shapes, built once per column type.

``datum_from_json`` handles every type and constraint; most columns are much simpler (an
unconstrained string, a string-to-string map, a set of references). ``datum_reader``
returns a function specialised for the type that gives exactly what ``datum_from_json``
gives: it takes the generic path for anything it does not expect, so errors and unusual
input are reported identically. The server parses rows with them and clients decode
updates with them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from pyovn.ovsdb.data import Datum, datum_from_json
from pyovn.ovsdb.types import UNLIMITED, AtomicType, BaseType, Type, Uuid, is_valid_uuid

Reader = Callable[[Any], Datum]

_PLAIN = {t: BaseType(t) for t in AtomicType}
_INT_MIN, _INT_MAX = -(2**63), 2**63


@cache
def datum_reader(ctype: Type, check_size: bool = True) -> Reader:
    """A reader of ``ctype``'s JSON (no named-uuids: those need a transaction's symtab)."""

    def generic(js: Any) -> Datum:
        return datum_from_json(ctype, js, None, check_size=check_size)

    key = ctype.key
    plain_key = key == _PLAIN[key.type]
    if ctype.value is not None:
        if (
            plain_key
            and key.type is AtomicType.STRING
            and ctype.value == _PLAIN[AtomicType.STRING]
            and ctype.min == 0
            and ctype.max == UNLIMITED
        ):
            return _string_map(generic)
        return generic
    if ctype.min == 1 and ctype.max == 1:
        if key.type is AtomicType.UUID and key.enum is None:
            return _uuid_scalar(generic)  # references too: they have no atom constraints
        if plain_key:
            return _SCALARS[key.type](generic)
        return _checked_scalar(key, generic) or generic
    if ctype.min != 0:
        return generic
    if ctype.max == 1 and key.type in (AtomicType.STRING, AtomicType.INTEGER):
        return _optional(key, generic)
    if key.type is AtomicType.STRING and plain_key:
        return _string_set(generic, ctype.max if check_size else UNLIMITED)
    if key.type is AtomicType.UUID and key.enum is None:
        return _uuid_set(generic, ctype.max if check_size else UNLIMITED)
    return generic


@cache
def row_reader(ctype: Type) -> Reader | None:
    """A reader for a server parsing a transaction's row, or None where the JSON may hold
    named-uuids (UUID keys or values: the caller parses those with its symtab)."""
    if ctype.key.type is AtomicType.UUID or (
        ctype.value is not None and ctype.value.type is AtomicType.UUID
    ):
        return None
    return datum_reader(ctype)


def _no_datum(js: Any) -> None:
    return None


@cache
def ref_reader(ctype: Type) -> Callable[[Any], Datum | None] | None:
    """For the columns ``row_reader`` leaves out, a reader of the usual plain forms (a
    ``["uuid", ...]`` or a set of them) that gives None for anything else: named-uuids,
    errors and unusual input go to the caller's parse with its symtab. None for types
    without a plain form worth reading fast (maps with UUIDs, constrained UUIDs)."""
    key = ctype.key
    if ctype.value is not None or key.type is not AtomicType.UUID or key.enum is not None:
        return None
    if ctype.min == 1 and ctype.max == 1:
        return _uuid_scalar(_no_datum)  # type: ignore[arg-type]
    if ctype.min == 0:
        return _uuid_set(_no_datum, ctype.max)  # type: ignore[arg-type]
    return None


def _string_scalar(generic: Reader) -> Reader:
    def read(js: Any) -> Datum:
        return js if type(js) is str else generic(js)

    return read


def _integer_scalar(generic: Reader) -> Reader:
    def read(js: Any) -> Datum:
        if type(js) is int and _INT_MIN <= js < _INT_MAX:
            return js
        return generic(js)

    return read


def _boolean_scalar(generic: Reader) -> Reader:
    def read(js: Any) -> Datum:
        return js if type(js) is bool else generic(js)

    return read


def _uuid_scalar(generic: Reader) -> Reader:
    def read(js: Any) -> Datum:
        if type(js) is list and len(js) == 2 and js[0] == "uuid":
            text = js[1]
            if type(text) is str and is_valid_uuid(text):
                return Uuid(text)
        return generic(js)

    return read


def _atom_check(base: BaseType) -> Callable[[Any], bool] | None:
    """A test that a JSON value is an atom of ``base`` within its constraints (True means
    the value is that atom as it is), for integers with a range and strings with an enum
    or a length range; None for other bases."""
    if base.type is AtomicType.INTEGER and base.enum is None and base.ref_table is None:
        lo, hi = base.min_integer, base.max_integer

        def int_ok(js: Any) -> bool:
            return type(js) is int and lo <= js <= hi

        return int_ok
    if base.type is AtomicType.STRING:
        if base.enum is not None:
            allowed = base.enum

            def enum_ok(js: Any) -> bool:
                return type(js) is str and js in allowed

            return enum_ok
        short, long = base.min_length, base.max_length

        def length_ok(js: Any) -> bool:
            return type(js) is str and short <= len(js) <= long

        return length_ok
    return None


def _checked_scalar(base: BaseType, generic: Reader) -> Reader | None:
    ok = _atom_check(base)
    if ok is None:
        return None

    def read(js: Any) -> Datum:
        return js if ok(js) else generic(js)

    return read


def _optional(base: BaseType, generic: Reader) -> Reader:
    """A set of at most one string or integer: the bare atom, or ``["set", []]``."""
    ok = _atom_check(base)
    if ok is None:
        if base != _PLAIN[base.type]:
            return generic  # an enum of integers: rare
        ok = _PLAIN_OK[base.type]

    def read(js: Any) -> Datum:
        if ok(js):
            return frozenset((js,))
        if type(js) is list and len(js) == 2 and js[0] == "set" and js[1] == []:
            return frozenset()
        return generic(js)

    return read


_PLAIN_OK: dict[AtomicType, Callable[[Any], bool]] = {
    AtomicType.STRING: lambda js: type(js) is str,
    AtomicType.INTEGER: lambda js: type(js) is int and _INT_MIN <= js < _INT_MAX,
}


_SCALARS: dict[AtomicType, Callable[[Reader], Reader]] = {
    AtomicType.STRING: _string_scalar,
    AtomicType.INTEGER: _integer_scalar,
    AtomicType.BOOLEAN: _boolean_scalar,
    AtomicType.REAL: lambda generic: generic,  # int -> float and range checks: rare
}


def _string_map(generic: Reader) -> Reader:
    def read(js: Any) -> Datum:
        if type(js) is list and len(js) == 2 and js[0] == "map" and type(js[1]) is list:
            out: dict[str, str] = {}
            for pair in js[1]:
                if type(pair) is not list or len(pair) != 2:
                    return generic(js)
                k, v = pair
                if type(k) is not str or type(v) is not str or k in out:
                    return generic(js)
                out[k] = v
            return out
        return generic(js)

    return read


def _string_set(generic: Reader, limit: float) -> Reader:
    def read(js: Any) -> Datum:
        if type(js) is str:
            return frozenset((js,))
        if type(js) is list and len(js) == 2 and js[0] == "set" and type(js[1]) is list:
            atoms = js[1]
            if len(atoms) <= limit and all(type(a) is str for a in atoms):
                result = frozenset(atoms)
                if len(result) == len(atoms):
                    return result
        return generic(js)

    return read


def _uuid_set(generic: Reader, limit: float) -> Reader:
    def read(js: Any) -> Datum:
        if type(js) is list and len(js) == 2:
            tag = js[0]
            if tag == "uuid":
                text = js[1]
                if type(text) is str and is_valid_uuid(text):
                    return frozenset((Uuid(text),))
            elif tag == "set" and type(js[1]) is list and len(js[1]) <= limit:
                out = []
                for atom in js[1]:
                    if not (type(atom) is list and len(atom) == 2 and atom[0] == "uuid"):
                        return generic(js)
                    text = atom[1]
                    if type(text) is not str or not is_valid_uuid(text):
                        return generic(js)
                    out.append(Uuid(text))
                result = frozenset(out)
                if len(result) == len(out):
                    return result
        return generic(js)

    return read
