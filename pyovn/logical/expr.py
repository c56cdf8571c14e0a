"""Match expressions: the typed AST and its canonical text.

The AST is made of frozen dataclasses:

* :class:`Cmp` ``field op value`` or ``field op {v1, v2, ...}`` (``braced`` records the braces);
* :class:`Bare` a mention of a 1-bit field or a predicate (``ip4``, ``eth.src[40]``);
* :class:`BoolConst` the literals ``1`` (true) and ``0`` (false);
* :class:`ChassisResident` ``is_chassis_resident("port")``;
* :class:`Not`, :class:`And`, :class:`Or`.

:func:`parse_expr` (in :mod:`pyovn.logical.expr_parser`) builds the AST and type-checks it;
:func:`format_expr` prints canonical text: one space around binary operators, parentheses only
where OVN's grammar needs them, constants in the notation they were written in. For every
parsed ``e``, ``parse_expr(format_expr(e)) == e``.

Source offsets (``pos``) are kept for error messages but are not part of equality.

:func:`normalize` (in :mod:`pyovn.logical.normalize`) turns an AST into flows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from pyovn.logical.values import FieldRef, StrConst, Value


class RelOp(Enum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    def negate(self) -> RelOp:
        """The operator of ``!(a op b)``."""
        return _NEGATE[self]

    def flip(self) -> RelOp:
        """The operator of ``b op' a`` for ``a op b``."""
        return _FLIP[self]

    @property
    def relational(self) -> bool:
        """True for the ordering operators ``< <= > >=``."""
        return self not in (RelOp.EQ, RelOp.NE)


_NEGATE = {
    RelOp.EQ: RelOp.NE,
    RelOp.NE: RelOp.EQ,
    RelOp.LT: RelOp.GE,
    RelOp.GE: RelOp.LT,
    RelOp.GT: RelOp.LE,
    RelOp.LE: RelOp.GT,
}
_FLIP = {
    RelOp.EQ: RelOp.EQ,
    RelOp.NE: RelOp.NE,
    RelOp.LT: RelOp.GT,
    RelOp.GT: RelOp.LT,
    RelOp.LE: RelOp.GE,
    RelOp.GE: RelOp.LE,
}


@dataclass(frozen=True)
class Cmp:
    """``field op value`` or, with several values or braces, ``field op {v1, v2}``."""

    field: FieldRef
    op: RelOp
    values: tuple[Value, ...]
    braced: bool = False
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Bare:
    """A 1-bit field or a predicate used as a condition, e.g. ``ip4`` or ``eth.dst[40]``."""

    field: FieldRef
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class BoolConst:
    value: bool


@dataclass(frozen=True)
class ChassisResident:
    """``is_chassis_resident("port")``: true on the chassis where ``port`` is bound."""

    port: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Not:
    expr: Expr


@dataclass(frozen=True)
class And:
    terms: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Expr, ...]


Expr = Cmp | Bare | BoolConst | ChassisResident | Not | And | Or

TRUE = BoolConst(True)
FALSE = BoolConst(False)


def conj(*terms: Expr) -> Expr:
    """``&&`` of ``terms``, flattening nested conjunctions (``1`` when empty)."""
    flat: list[Expr] = []
    for t in terms:
        flat.extend(t.terms if isinstance(t, And) else (t,))
    if not flat:
        return TRUE
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def disj(*terms: Expr) -> Expr:
    """``||`` of ``terms``, flattening nested disjunctions (``0`` when empty)."""
    flat: list[Expr] = []
    for t in terms:
        flat.extend(t.terms if isinstance(t, Or) else (t,))
    if not flat:
        return FALSE
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def format_value_list(values: tuple[Value, ...], braced: bool) -> str:
    if not braced and len(values) == 1:
        return values[0].format()
    return "{" + ", ".join(v.format() for v in values) + "}"


def format_expr(expr: Expr) -> str:
    """Canonical text of ``expr``."""
    if isinstance(expr, Cmp):
        values = format_value_list(expr.values, expr.braced)
        return f"{expr.field.format()} {expr.op.value} {values}"
    if isinstance(expr, Bare):
        return expr.field.format()
    if isinstance(expr, BoolConst):
        return "1" if expr.value else "0"
    if isinstance(expr, ChassisResident):
        return f"is_chassis_resident({StrConst(expr.port).format()})"
    if isinstance(expr, Not):
        inner = expr.expr
        text = format_expr(inner)
        atomic = isinstance(inner, Bare | BoolConst | ChassisResident | Not)
        return f"!{text}" if atomic else f"!({text})"
    sep = " && " if isinstance(expr, And) else " || "
    parts = []
    for term in expr.terms:
        text = format_expr(term)
        parts.append(f"({text})" if isinstance(term, And | Or) else text)
    return sep.join(parts)


def symbols_used(expr: Expr) -> frozenset[str]:
    """Names of the symbols ``expr`` mentions directly (predicates are not expanded)."""
    if isinstance(expr, Cmp | Bare):
        return frozenset((expr.field.name,))
    if isinstance(expr, Not):
        return symbols_used(expr.expr)
    if isinstance(expr, And | Or):
        return frozenset().union(*(symbols_used(t) for t in expr.terms))
    return frozenset()
