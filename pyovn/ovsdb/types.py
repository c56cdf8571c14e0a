"""RFC 7047 types: atomic types, base types with constraints, and column types.

Pure model, no I/O. Every class is frozen; parse with ``from_json`` and print with ``to_json``
in the RFC's notation (the shortest form, as ovsdb-server prints schemas).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from pyovn.ovsdb.errors import OvsdbError

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
UNLIMITED = math.inf

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Uuid(str):
    """A UUID atom: a canonical lowercase UUID string, distinct from a string atom by type."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> Uuid:
        low = text.lower()
        if not _UUID_RE.match(low):
            raise OvsdbError("syntax error", f'"{text}" is not a valid UUID')
        return cls(low)

    def __repr__(self) -> str:
        return f"Uuid({str.__repr__(self)})"


def is_valid_uuid(text: str) -> bool:
    return bool(_UUID_RE.match(text))


class AtomicType(Enum):
    INTEGER = "integer"
    REAL = "real"
    BOOLEAN = "boolean"
    STRING = "string"
    UUID = "uuid"

    @classmethod
    def from_json(cls, value: Any) -> AtomicType:
        if isinstance(value, str):
            for member in cls:
                if member.value == value:
                    return member
        raise OvsdbError("syntax error", f"unknown atomic type {value!r}")


class RefType(Enum):
    STRONG = "strong"
    WEAK = "weak"


_INTERNED: dict[Any, Any] = {}  # column types read from schemas, one object per value


def _field_hash(obj: Any) -> int:
    return hash(tuple(getattr(obj, f.name) for f in fields(obj) if f.compare))


@dataclass(frozen=True, slots=True)
class BaseType:
    """An atomic type plus its constraints (RFC 7047 section 3.2, <base-type>)."""

    type: AtomicType
    enum: frozenset[Any] | None = None
    min_integer: int = INT_MIN
    max_integer: int = INT_MAX
    min_real: float = -math.inf
    max_real: float = math.inf
    min_length: int = 0
    max_length: int = 2**32 - 1
    ref_table: str | None = None
    ref_type: RefType = RefType.STRONG
    # types key caches (readers, codecs) on every row: their hash is computed once
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", _field_hash(self))

    def __hash__(self) -> int:
        return self._hash

    @property
    def is_ref(self) -> bool:
        return self.type is AtomicType.UUID and self.ref_table is not None

    @property
    def is_strong_ref(self) -> bool:
        return self.is_ref and self.ref_type is RefType.STRONG

    @property
    def is_weak_ref(self) -> bool:
        return self.is_ref and self.ref_type is RefType.WEAK

    @property
    def has_constraints(self) -> bool:
        return self != BaseType(self.type)

    @classmethod
    def from_json(cls, value: Any) -> BaseType:
        if isinstance(value, str):
            return cls(AtomicType.from_json(value))
        if not isinstance(value, dict):
            raise OvsdbError("syntax error", f"base type must be a string or object, not {value!r}")
        allowed = {
            "type",
            "enum",
            "minInteger",
            "maxInteger",
            "minReal",
            "maxReal",
            "minLength",
            "maxLength",
            "refTable",
            "refType",
        }
        unknown = set(value) - allowed
        if unknown:
            raise OvsdbError("syntax error", f"unknown member(s) {sorted(unknown)} in base type")
        atype = AtomicType.from_json(value.get("type"))
        misplaced = set(value) - {"type", "enum"} - _TYPE_MEMBERS[atype]
        if "refType" in value and "refTable" not in value:
            misplaced.add("refType")
        if misplaced:
            raise OvsdbError(
                "syntax error",
                f"Parsing ovsdb type failed: Member '{sorted(misplaced)[0]}' is present but not "
                "allowed here.",
                value,
            )
        kwargs: dict[str, Any] = {}
        if "enum" in value:
            from pyovn.ovsdb.data import datum_from_json

            enum_type = Type(BaseType(atype), None, 1, UNLIMITED)
            members = datum_from_json(enum_type, value["enum"])
            kwargs["enum"] = frozenset(members)
        if atype is AtomicType.INTEGER:
            kwargs["min_integer"] = _int_member(value, "minInteger", INT_MIN)
            kwargs["max_integer"] = _int_member(value, "maxInteger", INT_MAX)
            if kwargs["min_integer"] > kwargs["max_integer"]:
                raise OvsdbError("syntax error", "minInteger exceeds maxInteger")
        elif atype is AtomicType.REAL:
            kwargs["min_real"] = _real_member(value, "minReal", -math.inf)
            kwargs["max_real"] = _real_member(value, "maxReal", math.inf)
            if kwargs["min_real"] > kwargs["max_real"]:
                raise OvsdbError("syntax error", "minReal exceeds maxReal")
        elif atype is AtomicType.STRING:
            for key, name, default in (
                ("min_length", "minLength", 0),
                ("max_length", "maxLength", 2**32 - 1),
            ):
                kwargs[key] = _int_member(value, name, default)
                if not 0 <= kwargs[key] <= 2**32 - 1:
                    raise OvsdbError(
                        "syntax error",
                        f"{name} out of valid range 0 to 4294967295",
                        value[name],
                    )
            if kwargs["min_length"] > kwargs["max_length"]:
                raise OvsdbError("syntax error", "minLength exceeds maxLength")
        elif atype is AtomicType.UUID:
            ref_table = value.get("refTable")
            if ref_table is not None:
                if not isinstance(ref_table, str) or not ID_RE.match(ref_table):
                    raise OvsdbError("syntax error", f"invalid refTable {ref_table!r}")
                kwargs["ref_table"] = ref_table
                ref_type = value.get("refType", "strong")
                if ref_type not in ("strong", "weak"):
                    raise OvsdbError(
                        "syntax error", f"refType must be strong or weak: {ref_type!r}"
                    )
                kwargs["ref_type"] = RefType(ref_type)
        return cls(atype, **kwargs)

    def to_json(self) -> Any:
        if not self.has_constraints:
            return self.type.value
        out: dict[str, Any] = {"type": self.type.value}
        if self.enum is not None:
            from pyovn.ovsdb.data import datum_to_json

            enum_type = Type(BaseType(self.type), None, 1, UNLIMITED)
            out["enum"] = datum_to_json(enum_type, frozenset(self.enum))
        if self.min_integer != INT_MIN:
            out["minInteger"] = self.min_integer
        if self.max_integer != INT_MAX:
            out["maxInteger"] = self.max_integer
        if self.min_real != -math.inf:
            out["minReal"] = self.min_real
        if self.max_real != math.inf:
            out["maxReal"] = self.max_real
        if self.min_length != 0:
            out["minLength"] = self.min_length
        if self.max_length != 2**32 - 1:
            out["maxLength"] = self.max_length
        if self.ref_table is not None:
            out["refTable"] = self.ref_table
            if self.ref_type is RefType.WEAK:
                out["refType"] = "weak"
        return out

    def describe(self) -> str:
        """The atomic type's name, as error messages print it."""
        return self.type.value


_TYPE_MEMBERS = {
    AtomicType.INTEGER: {"minInteger", "maxInteger"},
    AtomicType.REAL: {"minReal", "maxReal"},
    AtomicType.BOOLEAN: set(),
    AtomicType.STRING: {"minLength", "maxLength"},
    AtomicType.UUID: {"refTable", "refType"},
}


def _int_member(obj: dict[str, Any], key: str, default: int) -> int:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise OvsdbError("syntax error", f"{key} must be an integer")
    return value


def _real_member(obj: dict[str, Any], key: str, default: float) -> float:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OvsdbError("syntax error", f"{key} must be a number")
    return float(value)


@dataclass(frozen=True, slots=True)
class Type:
    """A column type: key, optional value, and the number of elements allowed."""

    key: BaseType
    value: BaseType | None = None
    min: int = 1
    max: float = 1  # an int, or UNLIMITED
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", _field_hash(self))

    def __hash__(self) -> int:
        return self._hash

    @property
    def is_map(self) -> bool:
        return self.value is not None

    @property
    def is_scalar(self) -> bool:
        """Exactly one atom and no value: stored as a bare atom."""
        return self.value is None and self.min == 1 and self.max == 1

    @property
    def is_set(self) -> bool:
        return self.value is None and not self.is_scalar

    @property
    def is_optional(self) -> bool:
        return self.min == 0 and self.max == 1

    @property
    def has_refs(self) -> bool:
        return self.key.is_ref or (self.value is not None and self.value.is_ref)

    @classmethod
    def from_json(cls, value: Any) -> Type:
        if isinstance(value, str):
            return cls(BaseType.from_json(value))
        if not isinstance(value, dict):
            raise OvsdbError("syntax error", f"type must be a string or object, not {value!r}")
        unknown = set(value) - {"key", "value", "min", "max"}
        if unknown:
            raise OvsdbError("syntax error", f"unknown member(s) {sorted(unknown)} in type")
        if "key" not in value:
            raise OvsdbError("syntax error", "type is missing required member key")
        key = BaseType.from_json(value["key"])
        val = BaseType.from_json(value["value"]) if "value" in value else None
        tmin = value.get("min", 1)
        if isinstance(tmin, bool) or not isinstance(tmin, int) or tmin not in (0, 1):
            raise OvsdbError("syntax error", f"min must be 0 or 1, not {tmin!r}")
        tmax_json = value.get("max", 1)
        tmax: float
        if tmax_json == "unlimited":
            tmax = UNLIMITED
        elif (
            isinstance(tmax_json, int)
            and not isinstance(tmax_json, bool)
            and 1 <= tmax_json <= 2**32 - 1
        ):
            tmax = tmax_json
        else:
            raise OvsdbError(
                "syntax error", f'max must be a positive integer or "unlimited": {tmax_json!r}'
            )
        if tmin > tmax:
            raise OvsdbError("syntax error", "min exceeds max")
        # equal types of a schema's columns are one object: the caches keyed by type
        # (readers, codecs) then find theirs by identity, without comparing fields
        made = cls(key, val, tmin, tmax)
        return _INTERNED.setdefault(made, made)

    def to_json(self) -> Any:
        if self.value is None and self.min == 1 and self.max == 1 and not self.key.has_constraints:
            return self.key.type.value
        out: dict[str, Any] = {"key": self.key.to_json()}
        if self.value is not None:
            out["value"] = self.value.to_json()
        if self.min != 1:
            out["min"] = self.min
        if self.max != 1:
            out["max"] = "unlimited" if self.max == UNLIMITED else int(self.max)
        return out

    def describe(self) -> str:
        """English for error messages, e.g. 'set of 1 to 2 strings'."""
        key = self.key.describe()
        if self.is_scalar:
            return key
        if self.value is not None:
            pair = f"({key}, {self.value.describe()}) pairs"
            if self.max == UNLIMITED:
                return f"map of {pair}" if self.min == 0 else f"map of 1 or more {pair}"
            if self.min == 0:
                return f"map of up to {int(self.max)} {pair}"
            return f"map of {self.min} to {int(self.max)} {pair}"
        if self.min == 0 and self.max == 1:
            return f"optional {key}"
        plural = f"{key}s"
        if self.max == UNLIMITED:
            return f"set of {plural}" if self.min == 0 else f"set of 1 or more {plural}"
        if self.min == 0:
            return f"set of up to {int(self.max)} {plural}"
        return f"set of {self.min} to {int(self.max)} {plural}"
