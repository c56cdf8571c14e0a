"""Atoms and datums: conversion from and to RFC 7047 JSON, constraint checks, defaults.

Python representation (never mutated once built):
  atom     int | float | bool | str | Uuid  (Uuid is a str subclass)
  datum    a bare atom for a column with exactly one atom and no value (``Type.is_scalar``);
           a ``frozenset`` of atoms for other sets (including optional columns);
           a ``dict`` key -> value for maps (treated as immutable).
"""

from __future__ import annotations

import json
import math
import os as _os
import random as _random
import re
from collections.abc import Iterable
from typing import Any

from pyovn.ovsdb.errors import OvsdbError, constraint_violation, syntax_error
from pyovn.ovsdb.types import UNLIMITED, AtomicType, BaseType, Type, Uuid, is_valid_uuid

Atom = int | float | bool | str
Datum = Any  # Atom | frozenset[Atom] | dict[Atom, Atom]

ZERO_UUID = Uuid("00000000-0000-0000-0000-000000000000")


# Row UUIDs need uniqueness, not secrecy: a Mersenne Twister seeded from os.urandom (and
# reseeded in a forked child) makes them about 3x faster than uuid.uuid4().
_uuid_rng = _random.Random()
_os.register_at_fork(after_in_child=_uuid_rng.seed)
_UUID_MASK = (1 << 128) - 1 ^ (0xF << 76) ^ (0x3 << 62)  # clears version and variant bits
_UUID_V4 = (0x4 << 76) | (0x2 << 62)  # version 4, RFC 4122 variant


def new_uuid() -> Uuid:
    h = "%032x" % (_uuid_rng.getrandbits(128) & _UUID_MASK | _UUID_V4)
    return Uuid(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")


class Symtab:
    """uuid-name -> UUID for one transaction; names may be used before their insert."""

    __slots__ = ("created", "symbols")

    def __init__(self) -> None:
        self.symbols: dict[str, Uuid] = {}
        self.created: set[str] = set()

    def lookup(self, name: str) -> Uuid:
        found = self.symbols.get(name)
        if found is None:
            found = self.symbols[name] = new_uuid()
        return found

    def create(self, name: str, value: Uuid | None) -> Uuid:
        """Define ``name`` for an insert; returns the UUID the new row gets."""
        if name in self.created:
            raise OvsdbError(
                "duplicate uuid-name",
                'This "uuid-name" appeared on an earlier "insert" operation.',
                name,
            )
        self.created.add(name)
        existing = self.symbols.get(name)
        if value is not None:
            self.symbols[name] = value
            return value
        if existing is None:
            existing = self.symbols[name] = new_uuid()
        return existing


# ---------------------------------------------------------------------------- atoms


def atom_from_json(base: BaseType, js: Any, symtab: Symtab | None = None) -> Atom:
    """Parse one atom of ``base``'s atomic type (constraints are checked separately)."""
    atype = base.type
    if atype is AtomicType.STRING:
        if isinstance(js, str):
            return js
    elif atype is AtomicType.INTEGER:
        if isinstance(js, int) and not isinstance(js, bool):
            if -(2**63) <= js < 2**63:
                return js
            raise syntax_error(f"{js} is out of range for a 64-bit integer", js)
    elif atype is AtomicType.REAL:
        if isinstance(js, (int, float)) and not isinstance(js, bool):
            value = float(js)
            if math.isfinite(value):
                return value
    elif atype is AtomicType.BOOLEAN:
        if isinstance(js, bool):
            return js
    elif isinstance(js, list) and len(js) == 2 and isinstance(js[1], str):  # uuid
        if js[0] == "uuid":
            if is_valid_uuid(js[1]):
                return Uuid(js[1])
            if is_valid_uuid(js[1].lower()):
                return Uuid(js[1].lower())
            raise syntax_error(f'"{js[1]}" is not a valid UUID', js)
        if js[0] == "named-uuid":
            if symtab is None:
                raise syntax_error("named-uuid is not allowed here", js)
            return symtab.lookup(js[1])
    if atype is AtomicType.UUID:
        raise syntax_error('expected ["uuid", <string>]', js)
    raise syntax_error(f"expected {atype.value}", js)


def atom_to_json(base: BaseType, atom: Atom) -> Any:
    if base.type is AtomicType.UUID:
        return ["uuid", atom]
    return atom


def atom_to_text(atom: Atom) -> str:
    """An atom as ovsdb-server prints it in messages (and ovs-vsctl in its output)."""
    if isinstance(atom, bool):
        return "true" if atom else "false"
    if isinstance(atom, float):
        return real_text(atom)
    if isinstance(atom, str) and not isinstance(atom, Uuid) and _needs_quotes(atom):
        return json.dumps(atom, ensure_ascii=False)
    return str(atom)


def _needs_quotes(text: str) -> bool:
    if not _BARE_STRING_RE.match(text) or text in ("true", "false"):
        return True
    return is_valid_uuid(text.lower())


_BARE_STRING_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def datum_to_text(ctype: Type, datum: Datum) -> str:
    """A datum as ovsdb-server prints it in messages: ``a``, ``[]``, ``[1, 2]``, ``{k=v}``."""
    if ctype.is_map:
        inner = ", ".join(f"{atom_to_text(k)}={atom_to_text(v)}" for k, v in sorted(datum.items()))
        return f"{{{inner}}}" if ctype.max > 1 or not datum else inner
    atoms = sorted(datum_atoms(ctype, datum))
    inner = ", ".join(atom_to_text(a) for a in atoms)
    return f"[{inner}]" if ctype.max > 1 or not atoms else inner


def real_text(value: float) -> str:
    """A real as ovsdb-server prints it in messages (C's "%.15g")."""
    return format(value, ".15g")


def check_atom(base: BaseType, atom: Atom) -> None:
    """Raise "constraint violation" if ``atom`` breaks ``base``'s constraints."""
    if base.enum is not None:
        if atom not in base.enum:
            allowed = ", ".join(atom_to_text(a) for a in sorted(base.enum))
            raise constraint_violation(
                f"{atom_to_text(atom)} is not one of the allowed values ([{allowed}])"
            )
        return
    atype = base.type
    if atype is AtomicType.INTEGER:
        if not base.min_integer <= atom <= base.max_integer:  # type: ignore[operator]
            raise constraint_violation(
                f"{atom} is not in the valid range {base.min_integer} to {base.max_integer}"
                " (inclusive)"
            )
    elif atype is AtomicType.REAL:
        if not base.min_real <= atom <= base.max_real:  # type: ignore[operator]
            raise constraint_violation(
                f"{real_text(atom)} is not in the valid range {real_text(base.min_real)} to "  # type: ignore[arg-type]
                f"{real_text(base.max_real)} (inclusive)"
            )
    elif atype is AtomicType.STRING:
        n = len(atom)  # type: ignore[arg-type]
        if n < base.min_length:
            raise constraint_violation(
                f'"{atom}" length {n} is less than minimum allowed length {base.min_length}'
            )
        if n > base.max_length:
            raise constraint_violation(
                f'"{atom}" length {n} is greater than maximum allowed length {base.max_length}'
            )


def default_atom(base: BaseType) -> Atom:
    atype = base.type
    if atype is AtomicType.INTEGER:
        return 0
    if atype is AtomicType.REAL:
        return 0.0
    if atype is AtomicType.BOOLEAN:
        return False
    if atype is AtomicType.STRING:
        return ""
    return ZERO_UUID


# ---------------------------------------------------------------------------- datums


def default_datum(ctype: Type) -> Datum:
    if ctype.is_scalar:
        return default_atom(ctype.key)
    if ctype.is_map:
        if ctype.min == 0:
            return {}
        return {default_atom(ctype.key): default_atom(ctype.value)}  # type: ignore[arg-type]
    if ctype.min == 0:
        return frozenset()
    return frozenset((default_atom(ctype.key),))


def relaxed(ctype: Type) -> Type:
    """The same type with any number of elements (mutation and condition arguments)."""
    return Type(ctype.key, ctype.value, 0, UNLIMITED)


def datum_size(ctype: Type, datum: Datum) -> int:
    return 1 if ctype.is_scalar else len(datum)


def datum_from_json(
    ctype: Type,
    js: Any,
    symtab: Symtab | None = None,
    *,
    check_size: bool = True,
) -> Datum:
    """Parse and validate a datum of ``ctype`` (constraints and, unless told not to, size)."""
    key_base = ctype.key
    if ctype.value is not None:
        val_base = ctype.value
        if not (
            isinstance(js, list) and len(js) == 2 and js[0] == "map" and isinstance(js[1], list)
        ):
            raise syntax_error('expected ["map", <array>]', js)
        out: dict[Atom, Atom] = {}
        for pair in js[1]:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise syntax_error("expected 2-element array", pair)
            k = atom_from_json(key_base, pair[0], symtab)
            v = atom_from_json(val_base, pair[1], symtab)
            check_atom(key_base, k)
            check_atom(val_base, v)
            if k in out:
                raise OvsdbError("ovsdb error", "map contains duplicate key")
            out[k] = v
        if check_size:
            _check_size(ctype, len(out), js)
        return out
    if isinstance(js, list) and len(js) == 2 and js[0] == "set":
        if not isinstance(js[1], list):
            raise syntax_error('expected ["set", <array>]', js)
        atoms = [atom_from_json(key_base, a, symtab) for a in js[1]]
    else:
        atoms = [atom_from_json(key_base, js, symtab)]
    for atom in atoms:
        check_atom(key_base, atom)
    result = frozenset(atoms)
    if len(result) != len(atoms):
        raise OvsdbError("ovsdb error", "set contains duplicate")
    if check_size or (ctype.is_scalar and len(result) != 1):  # a scalar has one atom
        _check_size(ctype, len(result), js)
    if ctype.is_scalar:
        return atoms[0]
    return result


def _check_size(ctype: Type, n: int, js: Any) -> None:
    if n < ctype.min or n > ctype.max:
        kind = "map" if ctype.is_map else "set"
        if ctype.min == ctype.max == 1:
            wanted = "exactly one member"
        else:
            hi = "unlimited" if ctype.max == UNLIMITED else int(ctype.max)
            wanted = f"{ctype.min} to {hi} members"
        raise syntax_error(f"{kind} must have {wanted} but {n} are present", js)


def datum_to_json(ctype: Type, datum: Datum) -> Any:
    key_is_uuid = ctype.key.type is AtomicType.UUID
    if ctype.value is not None:
        val_is_uuid = ctype.value.type is AtomicType.UUID
        return [
            "map",
            [
                [["uuid", k] if key_is_uuid else k, ["uuid", v] if val_is_uuid else v]
                for k, v in sorted(datum.items())
            ],
        ]
    if ctype.is_scalar:
        return ["uuid", datum] if key_is_uuid else datum
    if len(datum) == 1:
        (only,) = datum
        return ["uuid", only] if key_is_uuid else only
    items = sorted(datum)
    if key_is_uuid:
        return ["set", [["uuid", a] for a in items]]
    return ["set", items]


def datum_atoms(ctype: Type, datum: Datum) -> Iterable[Atom]:
    """Every key atom of a datum (for maps: the keys)."""
    if ctype.is_scalar:
        return (datum,)
    return datum


def datum_refs(ctype: Type, datum: Datum, strong: bool) -> list[tuple[str, Uuid]]:
    """(ref_table, uuid) for every strong (or weak) reference held by a datum."""
    out: list[tuple[str, Uuid]] = []
    key = ctype.key
    if key.is_ref and (key.is_strong_ref == strong):
        table = key.ref_table
        assert table is not None
        for atom in datum_atoms(ctype, datum):
            out.append((table, atom))  # type: ignore[arg-type]
    val = ctype.value
    if val is not None and val.is_ref and (val.is_strong_ref == strong):
        table = val.ref_table
        assert table is not None
        for atom in datum.values():
            out.append((table, atom))
    return out
