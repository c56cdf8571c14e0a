"""Parse and type-check match expressions (ovn-sb(5), the ``match`` column).

Grammar, loosest first::

    expr       := not_expr ('&&' not_expr)* | not_expr ('||' not_expr)*
    not_expr   := '!' not_expr | primary       (a comparison under `!' needs parentheses)
    primary    := '(' expr ')' | 'is_chassis_resident' '(' STRING ')' | comparison
    comparison := field relop values | values relop field [relop values] | field | 0 | 1
    values     := constant | '{' constant [','] ... '}'

``&&`` and ``||`` must be parenthesized when used together. ``1024 <= tcp.src <= 49151`` is
``tcp.src >= 1024 && tcp.src <= 49151``; ``80 == tcp.src`` is ``tcp.src == 80``.

Checks made here, each reported with the offset of the offending token: unknown fields, bits
out of range, constant kind (string vs integer) and width, masks on nominal fields, ordering
operators on nominal fields or with sets/masks, bare multi-bit fields, and OVN's rule that
nominal fields and nominal predicates are tested only positively once enclosing ``!`` are
taken into account (``inport != "x"`` and ``!ip4`` are errors; ``!(inport != "x")`` is fine).
"""

from __future__ import annotations

from pyovn.logical.errors import ExprError
from pyovn.logical.expr import (
    FALSE,
    TRUE,
    And,
    Bare,
    ChassisResident,
    Cmp,
    Expr,
    Not,
    Or,
    RelOp,
    conj,
    disj,
)
from pyovn.logical.fields import DEFAULT_SYMTAB, Level, SymbolTable
from pyovn.logical.lexer import Token, TokenKind
from pyovn.logical.parser_base import VALUE_TOKENS, TokenStream
from pyovn.logical.values import AddressSetRef, FieldRef, IntConst, Value

_RELOPS = {
    TokenKind.EQ: RelOp.EQ,
    TokenKind.NE: RelOp.NE,
    TokenKind.LT: RelOp.LT,
    TokenKind.LE: RelOp.LE,
    TokenKind.GT: RelOp.GT,
    TokenKind.GE: RelOp.GE,
}


class _Operand:
    """Either a field reference or a list of constants, with its first token."""

    def __init__(
        self,
        tok: Token,
        ref: FieldRef | None = None,
        values: tuple[tuple[Value, Token], ...] = (),
        braced: bool = False,
    ) -> None:
        self.tok = tok
        self.ref = ref
        self.values = values
        self.braced = braced


class ExprParser(TokenStream):
    error_class = ExprError

    def parse(self) -> Expr:
        expr = self.expr()
        if not self.at(TokenKind.END):
            raise self.error("Syntax error: expecting `&&', `||' or end of input")
        check_polarity(expr, self.symtab)
        return expr

    def expr(self) -> Expr:
        first = self.not_expr()
        if not (self.at(TokenKind.LOG_AND) or self.at(TokenKind.LOG_OR)):
            return first
        op = self.peek().kind
        other = TokenKind.LOG_OR if op is TokenKind.LOG_AND else TokenKind.LOG_AND
        terms = [first]
        while self.accept(op):
            terms.append(self.not_expr())
        if self.at(other):
            raise self.error("&& and || must be parenthesized when used together")
        return conj(*terms) if op is TokenKind.LOG_AND else disj(*terms)

    def not_expr(self) -> Expr:
        if not self.accept(TokenKind.LOG_NOT):
            return self.primary()[0]
        if self.at(TokenKind.LOG_NOT):
            return Not(self.not_expr())
        start = self.peek()
        inner, is_comparison = self.primary()
        if is_comparison:
            raise self.error("Missing parentheses around operand of !", start)
        return Not(inner)

    def primary(self) -> tuple[Expr, bool]:
        """An expression, and whether it is an unparenthesized comparison."""
        if self.accept(TokenKind.LPAREN):
            inner = self.expr()
            self.expect(TokenKind.RPAREN)
            return inner, False
        if self.at_id("is_chassis_resident") and self.at(TokenKind.LPAREN, 1):
            tok = self.advance()
            self.advance()
            port = self.expect(TokenKind.STRING, "logical port name (a quoted string)")
            self.expect(TokenKind.RPAREN)
            return ChassisResident(str(port.value), tok.offset), False
        return self.comparison()

    def operand(self) -> _Operand:
        tok = self.peek()
        if tok.kind is TokenKind.ID:
            ref, _ = self.field_ref()
            return _Operand(tok, ref=ref)
        if self.accept(TokenKind.LCURLY):
            values = []
            while not self.accept(TokenKind.RCURLY):
                if not self.at_value():
                    raise self.error("Syntax error: expecting constant or `}'")
                values.append(self.value())
                self.accept(TokenKind.COMMA)
            return _Operand(tok, values=tuple(values), braced=True)
        if self.at_value():
            return _Operand(tok, values=(self.value(),))
        raise self.error("Syntax error: expecting field or constant")

    def at_value(self) -> bool:
        return self.peek().kind in VALUE_TOKENS

    def relop(self) -> RelOp | None:
        op = _RELOPS.get(self.peek().kind)
        if op is not None:
            self.advance()
        return op

    def comparison(self) -> tuple[Expr, bool]:
        lhs = self.operand()
        op_tok = self.peek()
        op = self.relop()
        if op is None:
            return self.lone_operand(lhs), False
        rhs = self.operand()
        if lhs.ref is not None and rhs.ref is None:
            return self.make_cmp(lhs.ref, op, rhs, lhs.tok), True
        if lhs.ref is None and rhs.ref is not None:
            first = self.make_cmp(rhs.ref, op.flip(), lhs, rhs.tok)
            op2_tok = self.peek()
            op2 = self.relop()
            if op2 is None:
                return first, True
            if not (
                (op in (RelOp.LT, RelOp.LE) and op2 in (RelOp.LT, RelOp.LE))
                or (op in (RelOp.GT, RelOp.GE) and op2 in (RelOp.GT, RelOp.GE))
            ):
                raise self.error(
                    "Range expressions must have the form `x < field < y' "
                    "or `x > field > y', with each `<' optionally replaced by "
                    "`<=' or `>' by `>='",
                    op2_tok,
                )
            second = self.make_cmp(rhs.ref, op2, self.operand(), rhs.tok)
            return And((first, second)), True
        if lhs.ref is not None:
            raise self.error("Can't compare two fields", rhs.tok)
        raise self.error("Syntax error: a comparison needs a field", op_tok)

    def lone_operand(self, operand: _Operand) -> Expr:
        """A field or constant not followed by a relational operator."""
        if operand.ref is None:
            value = operand.values[0][0] if operand.values else None
            if (
                not operand.braced
                and isinstance(value, IntConst)
                and value.mask is None
                and value.value in (0, 1)
            ):
                return TRUE if value.value else FALSE
            raise self.error("Syntax error: a constant must be compared to a field", operand.tok)
        ref, name = operand.ref, operand.ref.name
        if self.symtab.is_predicate(name):
            return Bare(ref, operand.tok.offset)
        if self.symtab.is_string(name):
            raise self.error(f"String field `{name}' must be compared to a string", operand.tok)
        if self.ref_width(ref) != 1:
            raise self.error(
                f"Explicit `!= 0' is required for inequality test of multibit field `{name}'",
                operand.tok,
            )
        return Bare(ref, operand.tok.offset)

    def make_cmp(self, ref: FieldRef, op: RelOp, rhs: _Operand, tok: Token) -> Cmp:
        if rhs.ref is not None:
            raise self.error("Can't compare two fields", rhs.tok)
        name = ref.name
        values = tuple(v for v, _ in rhs.values)
        if self.symtab.is_predicate(name):
            ok = (
                op in (RelOp.EQ, RelOp.NE)
                and len(values) == 1
                and not rhs.braced
                and isinstance(values[0], IntConst)
                and values[0].mask is None
                and values[0].value in (0, 1)
            )
            if not ok:
                raise self.error(
                    f"Predicate `{name}' may only be compared with == or != to 0 or 1", rhs.tok
                )
            return Cmp(ref, op, values, False, tok.offset)
        for value, vtok in rhs.values:
            self.check_value(ref, value, vtok)
        if op.relational:
            if self.symtab.is_string(name) or self.symtab.level(name) is Level.NOMINAL:
                raise self.error(
                    f"Only == and != operators may be used with nominal field `{name}'", tok
                )
            value = values[0] if len(values) == 1 else None
            if rhs.braced or not isinstance(value, IntConst) or value.mask is not None:
                what = "an address set" if isinstance(value, AddressSetRef) else "a set or mask"
                raise self.error(f"Only == and != operators may be used with {what}", rhs.tok)
        return Cmp(ref, op, values, rhs.braced, tok.offset)


def check_polarity(expr: Expr, symtab: SymbolTable, negated: bool = False) -> None:
    """Reject tests of nominal fields and predicates that are negative after pushing `!' in."""
    if isinstance(expr, Not):
        check_polarity(expr.expr, symtab, not negated)
    elif isinstance(expr, And | Or):
        for term in expr.terms:
            check_polarity(term, symtab, negated)
    elif isinstance(expr, Bare | Cmp):
        name = expr.field.name
        if symtab.level(name) is not Level.NOMINAL:
            return
        if isinstance(expr, Bare):
            positive = not negated
        elif symtab.is_predicate(name):
            value = expr.values[0]
            assert isinstance(value, IntConst)
            positive = ((expr.op is RelOp.EQ) == (value.value == 1)) != negated
        else:
            positive = (expr.op is RelOp.EQ) != negated
        if positive:
            return
        if symtab.is_predicate(name):
            message = (
                f"Nominal predicate `{name}' may only be tested positively, "
                f"e.g. `{name}' or `{name} == 1' but not `!{name}' or `{name} == 0'"
            )
        else:
            message = (
                f"Nominal field `{name}' may only be tested for equality "
                "(taking enclosing `!' operators into account)"
            )
        raise ExprError(message, expr.pos, name)


def parse_expr(text: str, symtab: SymbolTable = DEFAULT_SYMTAB) -> Expr:
    """Parse and type-check match ``text``. Raises :class:`~pyovn.logical.errors.ExprError`
    (or :class:`~pyovn.logical.errors.LexError`) naming the offset of the problem."""
    return ExprParser(text, symtab).parse()


__all__ = ["ExprParser", "check_polarity", "parse_expr"]
