"""A tiny direct evaluator of match ASTs on concrete packets, for property tests.

It is written independently of the normalizer: it reads symbol values by composing fields,
subfields and overlays itself, and it applies negation at the leaves the way OVN defines it
(a leaf that names a field also requires that field's prerequisites, whatever the polarity).

A packet is a dict: storage field name -> int (or str for inport/outport); missing is 0 / "".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import cache

from pyovn.logical.expr import (
    And,
    Bare,
    BoolConst,
    ChassisResident,
    Cmp,
    Expr,
    Not,
    Or,
    RelOp,
)
from pyovn.logical.expr_parser import parse_expr
from pyovn.logical.fields import DEFAULT_SYMTAB, Field, Overlay, Predicate, Subfield, SymbolTable
from pyovn.logical.lexer import parse_constant
from pyovn.logical.values import AddressSetRef, FieldRef, IntConst, PortGroupRef, StrConst

Packet = Mapping[str, int | str]


@cache
def _parsed(text: str, symtab: SymbolTable) -> Expr:
    return parse_expr(text, symtab)


def read_symbol(symtab: SymbolTable, name: str, packet: Packet) -> int | str:
    sym = symtab[name]
    if isinstance(sym, Field):
        key = sym.storage or sym.name
        return packet.get(key, "" if sym.width == 0 else 0)
    if isinstance(sym, Subfield):
        parent = read_symbol(symtab, sym.parent, packet)
        assert isinstance(parent, int)
        return (parent >> sym.lo) & ((1 << (sym.hi - sym.lo + 1)) - 1)
    if isinstance(sym, Overlay):
        value = 0
        for part in sym.parts:
            piece = packet.get(part, 0)
            assert isinstance(piece, int)
            value = (value << 32) | (piece & 0xFFFFFFFF)
        return value
    raise AssertionError(f"{name} is a predicate")


def read(symtab: SymbolTable, ref: FieldRef, packet: Packet) -> int | str:
    value = read_symbol(symtab, ref.name, packet)
    if ref.lo is None:
        return value
    assert isinstance(value, int) and ref.hi is not None
    return (value >> ref.lo) & ((1 << (ref.hi - ref.lo + 1)) - 1)


class Evaluator:
    def __init__(
        self,
        symtab: SymbolTable = DEFAULT_SYMTAB,
        address_sets: Mapping[str, Sequence[str]] | None = None,
        port_groups: Mapping[str, Sequence[str]] | None = None,
        resident: Collection[str] = (),
    ) -> None:
        self.symtab = symtab
        self.address_sets = address_sets or {}
        self.port_groups = port_groups or {}
        self.resident = resident

    def __call__(self, expr: Expr, packet: Packet, neg: bool = False) -> bool:
        if isinstance(expr, BoolConst):
            return expr.value != neg
        if isinstance(expr, Not):
            return self(expr.expr, packet, not neg)
        if isinstance(expr, And | Or):
            results = (self(t, packet, neg) for t in expr.terms)
            # De Morgan: a negated conjunction is a disjunction of negated terms.
            return all(results) if isinstance(expr, And) != neg else any(results)
        if isinstance(expr, ChassisResident):
            return (expr.port in self.resident) != neg
        name = expr.field.name
        sym = self.symtab[name]
        if isinstance(sym, Predicate):
            if isinstance(expr, Bare):
                positive = not neg
            else:
                value = expr.values[0]
                assert isinstance(value, IntConst)
                positive = ((expr.op is RelOp.EQ) == (value.value == 1)) != neg
            body = self(_parsed(sym.expansion, self.symtab), packet, not positive)
            return body and self.prereqs_hold(name, packet)
        if isinstance(expr, Bare):
            raw = read(self.symtab, expr.field, packet) == 1
        else:
            raw = self.compare(expr, packet)
        return (raw != neg) and self.prereqs_hold(name, packet)

    def prereqs_hold(self, name: str, packet: Packet) -> bool:
        return all(
            self(_parsed(text, self.symtab), packet) for text in self.symtab.prerequisites(name)
        )

    def compare(self, cmp: Cmp, packet: Packet) -> bool:
        actual = read(self.symtab, cmp.field, packet)
        if isinstance(actual, str):
            names: list[str] = []
            for v in cmp.values:
                if isinstance(v, StrConst):
                    names.append(v.value)
                else:
                    assert isinstance(v, PortGroupRef)
                    names.extend(self.port_groups[v.name])
            hit = actual in names
            return hit if cmp.op is RelOp.EQ else not hit
        if cmp.field.lo is not None and cmp.field.hi is not None:
            width = cmp.field.hi - cmp.field.lo + 1
        else:
            width = self.symtab.width(cmp.field.name)
        consts: list[IntConst] = []
        for v in cmp.values:
            if isinstance(v, IntConst):
                consts.append(v)
            else:
                assert isinstance(v, AddressSetRef)
                consts.extend(parse_constant(a) for a in self.address_sets[v.name])
        if cmp.op.relational:
            c = consts[0].value
            return {
                RelOp.LT: actual < c,
                RelOp.LE: actual <= c,
                RelOp.GT: actual > c,
                RelOp.GE: actual >= c,
            }[cmp.op]
        full = (1 << width) - 1
        hit = any(actual & (full if c.mask is None else c.mask) == c.value for c in consts)
        return hit if cmp.op is RelOp.EQ else not hit
