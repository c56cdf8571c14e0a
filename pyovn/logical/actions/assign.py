"""Assignments: ``field = constant;``, ``field = field;``, ``field <-> field;``, ``ip.ttl--;``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyovn.logical.actions.base import Action, register
from pyovn.logical.actions.parser import ActionParser
from pyovn.logical.fields import SymbolTable
from pyovn.logical.lexer import Token, TokenKind
from pyovn.logical.values import FieldRef, IntConst, StrConst


def _prereqs(symtab: SymbolTable, *refs: FieldRef) -> tuple[str, ...]:
    out: list[str] = []
    for ref in refs:
        out.extend(p for p in symtab.prerequisites(ref.name) if p not in out)
    return tuple(out)


@register
@dataclass(frozen=True)
class Load(Action):
    """``dst = constant;`` (a masked constant sets only the masked bits)."""

    kind = "load"
    syntax = "field = constant"

    dst: FieldRef
    value: IntConst | StrConst

    def format(self) -> str:
        return f"{self.dst.format()} = {self.value.format()};"

    def compile(self, ctx: Any) -> Any:
        return ctx.load(self.dst, self.value)

    def execute(self, ctx: Any) -> Any:
        if isinstance(self.value, StrConst):
            ctx.write(self.dst, self.value.value)
            return
        if self.value.mask is None:
            ctx.write(self.dst, self.value.value)
            return
        mask = self.value.mask
        old = ctx.read(self.dst)
        ctx.write(self.dst, (old & ~mask) | (self.value.value & mask))

    def prerequisites(self, symtab: SymbolTable) -> tuple[str, ...]:
        return _prereqs(symtab, self.dst)

    @classmethod
    def parse_assignment(cls, p: ActionParser, dst: FieldRef, dst_tok: Token) -> Action:
        p.check_writable(dst, dst_tok)
        tok = p.peek()
        if tok.kind not in (TokenKind.INTEGER, TokenKind.MASKED_INTEGER, TokenKind.STRING):
            raise p.error("Syntax error: expecting constant or field")
        value, tok = p.value()
        assert isinstance(value, IntConst | StrConst)
        p.check_value(dst, value, tok)  # also rejects masks on nominal fields (ip.ttl = 5/5)
        return cls(dst, value)


@register
@dataclass(frozen=True)
class Move(Action):
    """``dst = src;`` copies a field (same type; same width for integer fields)."""

    kind = "move"
    syntax = "field = field"

    dst: FieldRef
    src: FieldRef

    def format(self) -> str:
        return f"{self.dst.format()} = {self.src.format()};"

    def compile(self, ctx: Any) -> Any:
        return ctx.move(self.src, self.dst)

    def execute(self, ctx: Any) -> Any:
        ctx.write(self.dst, ctx.read(self.src))

    def prerequisites(self, symtab: SymbolTable) -> tuple[str, ...]:
        return _prereqs(symtab, self.dst, self.src)

    @classmethod
    def parse_assignment(cls, p: ActionParser, dst: FieldRef, dst_tok: Token) -> Action:
        p.check_writable(dst, dst_tok)
        src, src_tok = p.readable_ref()
        p.check_same_type(dst, src, src_tok)
        return cls(dst, src)


@register
@dataclass(frozen=True)
class Exchange(Action):
    """``a <-> b;`` swaps two modifiable fields of the same type and width."""

    kind = "exchange"
    syntax = "field <-> field"

    a: FieldRef
    b: FieldRef

    def format(self) -> str:
        return f"{self.a.format()} <-> {self.b.format()};"

    def compile(self, ctx: Any) -> Any:
        return ctx.exchange(self.a, self.b)

    def execute(self, ctx: Any) -> Any:
        a, b = ctx.read(self.a), ctx.read(self.b)
        ctx.write(self.a, b)
        ctx.write(self.b, a)

    def prerequisites(self, symtab: SymbolTable) -> tuple[str, ...]:
        return _prereqs(symtab, self.a, self.b)

    @classmethod
    def parse_assignment(cls, p: ActionParser, dst: FieldRef, dst_tok: Token) -> Action:
        p.check_writable(dst, dst_tok)
        other, other_tok = p.readable_ref()
        p.check_writable(other, other_tok)
        p.check_same_type(dst, other, other_tok)
        return cls(dst, other)


@register
@dataclass(frozen=True)
class DecTtl(Action):
    """``ip.ttl--;`` decrements the IPv4 TTL / IPv6 hop limit (the packet stops at zero)."""

    kind = "dec_ttl"
    syntax = "field--"

    def format(self) -> str:
        return "ip.ttl--;"

    def execute(self, ctx: Any) -> Any:
        ttl = FieldRef("ip.ttl")
        value = ctx.read(ttl)
        if value == 0:
            ctx.error("TTL underflow")  # as ovn-trace: reported, the packet goes on
            return
        ctx.write(ttl, value - 1, shown="ip.ttl--")

    def prerequisites(self, symtab: SymbolTable) -> tuple[str, ...]:
        return ("ip",)

    @classmethod
    def parse_assignment(cls, p: ActionParser, dst: FieldRef, dst_tok: Token) -> Action:
        if dst != FieldRef("ip.ttl"):
            raise p.error("`--' is only supported on ip.ttl", dst_tok)
        return cls()
