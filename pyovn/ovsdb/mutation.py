"""RFC 7047 mutations: parse ``[column, mutator, value]`` and apply them to a datum."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyovn.ovsdb.data import Datum, Symtab, check_atom, datum_from_json
from pyovn.ovsdb.errors import OvsdbError, constraint_violation, syntax_error
from pyovn.ovsdb.schema import ColumnSchema, TableSchema
from pyovn.ovsdb.types import INT_MAX, INT_MIN, UNLIMITED, AtomicType, BaseType, Type

ARITHMETIC = ("+=", "-=", "*=", "/=", "%=")
MUTATORS = (*ARITHMETIC, "insert", "delete")


@dataclass(frozen=True, slots=True)
class Mutation:
    column: ColumnSchema
    mutator: str
    arg: Datum  # an atom for arithmetic; a set or map for insert/delete


def parse_mutation(table: TableSchema, js: Any, symtab: Symtab | None = None) -> Mutation:
    if not (
        isinstance(js, list) and len(js) == 3 and isinstance(js[0], str) and isinstance(js[1], str)
    ):
        raise syntax_error("Parse error in mutation.", js)
    name, mutator, arg_js = js
    column = table.all_columns.get(name)
    if column is None:
        raise OvsdbError("unknown column", f"No column {name} in table {table.name}.", js)
    if not column.mutable:
        raise constraint_violation(
            f"Cannot mutate immutable column {name} in table {table.name}.", js
        )
    if mutator not in MUTATORS:
        raise OvsdbError("unknown mutator", f"No mutator named {mutator}.")
    ctype = column.type
    if mutator in ARITHMETIC:
        key = ctype.key.type
        ok = (key is AtomicType.INTEGER or (key is AtomicType.REAL and mutator != "%=")) and (
            ctype.value is None
        )
        if not ok:
            raise syntax_error(
                f'Type mismatch: "{mutator}" operator may not be applied to column {name} '
                f"of type {ctype.describe()}.",
                js,
            )
        arg = datum_from_json(Type(BaseType(ctype.key.type)), arg_js, symtab)
        return Mutation(column, mutator, arg)
    if ctype.is_scalar:
        raise syntax_error(
            f'Type mismatch: "{mutator}" operator may not be applied to column {name} '
            f"of type {ctype.describe()}.",
            js,
        )
    # like ovsdb-server: "delete" takes any number of elements, "insert" up to the maximum
    arg_max = UNLIMITED if mutator == "delete" else ctype.max
    if (
        mutator == "delete"
        and ctype.is_map
        and not (isinstance(arg_js, list) and arg_js[:1] == ["map"])
    ):
        arg_type = Type(ctype.key, None, 0, arg_max)
    else:
        arg_type = Type(ctype.key, ctype.value, 0, arg_max)
    arg = datum_from_json(arg_type, arg_js, symtab)
    return Mutation(column, mutator, arg)


def _int_op(mutator: str) -> Callable[[int, int], int]:
    def apply(a: int, b: int) -> int:
        if mutator == "+=":
            r = a + b
        elif mutator == "-=":
            r = a - b
        elif mutator == "*=":
            r = a * b
        else:
            if b == 0:
                raise OvsdbError("domain error", "Division by zero.")
            if a == INT_MIN and b == -1:  # overflows in C for "%=" too, like "/="
                raise OvsdbError("range error", f'Result of "{mutator}" operation is out of range.')
            # C semantics: truncate toward zero, remainder has the dividend's sign
            q = abs(a) // abs(b)
            if (a < 0) != (b < 0):
                q = -q
            r = q if mutator == "/=" else a - b * q
        if not INT_MIN <= r <= INT_MAX:
            raise OvsdbError("range error", f'Result of "{mutator}" operation is out of range.')
        return r

    return apply


def _real_op(mutator: str) -> Callable[[float, float], float]:
    def apply(a: float, b: float) -> float:
        if mutator == "+=":
            r = a + b
        elif mutator == "-=":
            r = a - b
        elif mutator == "*=":
            r = a * b
        else:
            if b == 0:
                raise OvsdbError("domain error", "Division by zero.")
            r = a / b
        if r in (float("inf"), float("-inf")) or r != r:
            raise OvsdbError("range error", f'Result of "{mutator}" operation is out of range.')
        return r

    return apply


def apply_mutation(mutation: Mutation, datum: Datum) -> Datum:
    """The datum after ``mutation``; raises an OvsdbError on range or size violations."""
    ctype = mutation.column.type
    mutator = mutation.mutator
    if mutator in ARITHMETIC:
        op: Callable[[Any, Any], Any] = (
            _int_op(mutator) if ctype.key.type is AtomicType.INTEGER else _real_op(mutator)
        )
        if ctype.is_scalar:
            result = op(datum, mutation.arg)
            check_atom(ctype.key, result)
            return result
        values = [op(a, mutation.arg) for a in datum]
        for value in values:
            check_atom(ctype.key, value)
        out = frozenset(values)
        if len(out) != len(values):
            raise constraint_violation(f'Result of "{mutator}" operation contains duplicates.')
        return out
    arg = mutation.arg
    if ctype.is_map:
        if mutator == "insert":
            new = dict(datum)
            for k, v in arg.items():
                new.setdefault(k, v)
        elif isinstance(arg, dict):
            new = {k: v for k, v in datum.items() if not (k in arg and arg[k] == v)}
        else:
            new = {k: v for k, v in datum.items() if k not in arg}
        _check_count(ctype, len(new))
        return new
    result = datum | arg if mutator == "insert" else datum - arg
    _check_count(ctype, len(result))
    return result


def _check_count(ctype: Type, n: int) -> None:
    if n < ctype.min or n > ctype.max:
        raise constraint_violation(f"Attempted to store {n} elements in {ctype.describe()}.")


__all__ = ["MUTATORS", "UNLIMITED", "Mutation", "apply_mutation", "parse_mutation"]
