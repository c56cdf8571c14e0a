"""RFC 7047 conditions (``where`` clauses): parse against a table schema and evaluate on rows.

Used by the transaction engine and by monitor_cond, so it lives outside server/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyovn.ovsdb.data import Datum, Symtab, datum_from_json
from pyovn.ovsdb.errors import OvsdbError, syntax_error
from pyovn.ovsdb.schema import ColumnSchema, TableSchema
from pyovn.ovsdb.types import UNLIMITED, AtomicType, Type

Row = dict[str, Datum]

FUNCTIONS = ("<", "<=", "==", "!=", ">=", ">", "includes", "excludes")
_ORDERED = ("<", "<=", ">=", ">")


@dataclass(frozen=True, slots=True)
class Clause:
    column: ColumnSchema
    function: str
    value: Datum

    def evaluate(self, data: Row, uuid: Any, version: Any) -> bool:
        name = self.column.name
        if name == "_uuid":
            have = uuid
        elif name == "_version":
            have = version
        else:
            have = data[name]
        return _EVAL[self.function](self.column, have, self.value)


@dataclass(frozen=True, slots=True)
class Condition:
    """A conjunction of clauses (an empty condition matches every row).

    ``constant`` is True/False for the boolean literal clauses that monitor_cond allows.
    """

    clauses: tuple[Clause, ...] = ()
    constant: bool | None = None

    def evaluate(self, data: Row, uuid: Any, version: Any = None) -> bool:
        if self.constant is False:
            return False
        return all(clause.evaluate(data, uuid, version) for clause in self.clauses)

    def uuid_lookup(self) -> Any:
        """The UUID if this condition is exactly ``_uuid == <uuid>``, else None."""
        if self.constant is None and len(self.clauses) == 1:
            clause = self.clauses[0]
            if clause.column.name == "_uuid" and clause.function == "==":
                return clause.value
        return None


TRUE = Condition()


def parse_condition(
    table: TableSchema, js: Any, symtab: Symtab | None = None, *, allow_bool: bool = False
) -> Condition:
    if not isinstance(js, list):
        raise syntax_error("where must be an array of clauses", js)
    clauses: list[Clause] = []
    constant: bool | None = None
    for clause_js in js:
        if allow_bool and isinstance(clause_js, bool):
            if clause_js is False:
                constant = False
            continue
        clauses.append(parse_clause(table, clause_js, symtab))
    return Condition(tuple(clauses), constant)


def parse_clause(table: TableSchema, js: Any, symtab: Symtab | None = None) -> Clause:
    if not (
        isinstance(js, list) and len(js) == 3 and isinstance(js[0], str) and isinstance(js[1], str)
    ):
        raise syntax_error("Parse error in condition.", js)
    name, function, value_js = js
    column = table.all_columns.get(name)
    if column is None:
        raise OvsdbError("unknown column", f"No column {name} in table {table.name}.", js)
    if function not in FUNCTIONS:
        raise OvsdbError("unknown function", f"No function named {function}.")
    ctype = column.type
    if function in _ORDERED:
        # like ovsdb-server: a scalar or optional integer or real, compared with one atom
        if not (
            (ctype.is_scalar or ctype.is_optional)
            and ctype.key.type in (AtomicType.INTEGER, AtomicType.REAL)
        ):
            raise syntax_error(
                f'Type mismatch: "{function}" operator may not be applied to column {name} '
                f"of type {ctype.describe()}.",
                js,
            )
        value = datum_from_json(Type(ctype.key), value_js, symtab)
    elif function in ("includes", "excludes") and not ctype.is_scalar:
        # "includes" keeps the column's maximum size; "excludes" takes any number
        arg_max = ctype.max if function == "includes" else UNLIMITED
        value = datum_from_json(Type(ctype.key, ctype.value, 0, arg_max), value_js, symtab)
    else:
        value = datum_from_json(ctype, value_js, symtab)
    return Clause(column, function, value)


def _as_set(column: ColumnSchema, datum: Datum) -> Any:
    if column.type.is_scalar:
        return frozenset((datum,))
    return datum


def _includes(column: ColumnSchema, have: Datum, want: Datum) -> bool:
    if column.type.is_map:
        return all(k in have and have[k] == v for k, v in want.items())
    return bool(_as_set(column, want) <= _as_set(column, have))


def _excludes(column: ColumnSchema, have: Datum, want: Datum) -> bool:
    if column.type.is_map:
        return not any(k in have and have[k] == v for k, v in want.items())
    return bool(_as_set(column, have).isdisjoint(_as_set(column, want)))


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[ColumnSchema, Datum, Datum], bool]:
    def check(column: ColumnSchema, have: Datum, want: Datum) -> bool:
        if not column.type.is_scalar:  # an optional column: false when empty
            if not have:
                return False
            (have,) = have
        return op(have, want)

    return check


_EVAL: dict[str, Callable[[ColumnSchema, Datum, Datum], bool]] = {
    "==": lambda c, have, want: bool(have == want),
    "!=": lambda c, have, want: bool(have != want),
    "includes": _includes,
    "excludes": _excludes,
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
}
