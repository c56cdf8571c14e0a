"""Control-flow and connection-tracking actions: ``next``, ``output``, ``drop``, ``ct_*``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyovn.logical.actions.base import Action, register
from pyovn.logical.actions.parser import ActionParser, format_actions
from pyovn.logical.fields import SymbolTable
from pyovn.logical.lexer import Token, TokenKind
from pyovn.logical.values import FieldRef, IntConst, IntFormat

#: Highest logical table number accepted by ``next(N)`` (an OpenFlow table is 8 bits).
MAX_TABLE = 254
PIPELINES = ("ingress", "egress")


@dataclass(frozen=True)
class _NoArgs(Action):
    """An action written as just its keyword."""

    def format(self) -> str:
        return f"{self.keyword};"

    @classmethod
    def parse(cls, p: ActionParser, start: Token) -> Action:
        return cls()


@register
@dataclass(frozen=True)
class Next(Action):
    """``next;``, ``next(N);`` or ``next(pipeline=P, table=N);``.

    ``table`` None means the table after the current one; ``pipeline`` None means the
    current pipeline.
    """

    kind = "next"
    keyword = "next"

    table: int | None = None
    pipeline: str | None = None

    def format(self) -> str:
        if self.pipeline is not None:
            return f"next(pipeline={self.pipeline}, table={self.table});"
        if self.table is not None:
            return f"next({self.table});"
        return "next;"

    @classmethod
    def parse(cls, p: ActionParser, start: Token) -> Action:
        if not p.accept(TokenKind.LPAREN):
            return cls()
        if p.at(TokenKind.INTEGER):
            table = cls._table(p)
            p.expect(TokenKind.RPAREN, "`)'")
            return cls(table)
        table: int | None = None
        pipeline: str | None = None
        while True:
            key = p.expect(TokenKind.ID, "`pipeline' or `table'")
            p.expect(TokenKind.EQUALS, "`='")
            if key.value == "table" and table is None:
                table = cls._table(p)
            elif key.value == "pipeline" and pipeline is None:
                tok = p.expect(TokenKind.ID, "`ingress' or `egress'")
                if tok.value not in PIPELINES:
                    raise p.error("Syntax error: expecting `ingress' or `egress'", tok)
                pipeline = str(tok.value)
            else:
                raise p.error(f"Unexpected or repeated argument `{key.value}' of next", key)
            if not p.accept(TokenKind.COMMA):
                break
        close = p.expect(TokenKind.RPAREN, "`)'")
        if table is None:
            raise p.error("next(pipeline=...) requires table=N", close)
        return cls(table, pipeline)

    def compile(self, ctx: Any) -> Any:
        from pyovn.datapath.flows import Resubmit

        return [Resubmit(ctx.next_table(self.table, self.pipeline))]

    def execute(self, ctx: Any) -> Any:
        ctx.next(self.table, self.pipeline)

    @staticmethod
    def _table(p: ActionParser) -> int:
        const, tok = p.int_constant("table number")
        if const.fmt is not IntFormat.DECIMAL or const.value > MAX_TABLE:
            raise p.error(f"Table number must be a decimal integer 0 to {MAX_TABLE}", tok)
        return const.value


@register
@dataclass(frozen=True)
class Output(_NoArgs):
    """``output;``: to the egress pipeline (ingress) or out of ``outport`` (egress)."""

    kind = "output"
    keyword = "output"

    def compile(self, ctx: Any) -> Any:
        from pyovn.datapath.flows import Resubmit

        return [Resubmit(ctx.output_table())]

    def execute(self, ctx: Any) -> Any:
        ctx.output()


@register
@dataclass(frozen=True)
class Drop(_NoArgs):
    """``drop;``: the packet goes nowhere."""

    kind = "drop"
    keyword = "drop"

    def compile(self, ctx: Any) -> Any:
        from pyovn.datapath.flows import Drop as IrDrop

        return [IrDrop()]

    def execute(self, ctx: Any) -> Any:
        ctx.drop()


@register
@dataclass(frozen=True)
class CtNext(_NoArgs):
    """``ct_next;``: send through conntrack, then continue in the next table."""

    kind = "ct_next"
    keyword = "ct_next"

    def execute(self, ctx: Any) -> Any:
        # the connection tracker is simulated: the context supplies the ct_state
        ctx.ct_next()

    def prerequisites(self, symtab: SymbolTable) -> tuple[str, ...]:
        return ("ip",)


@register
@dataclass(frozen=True)
class CtClear(_NoArgs):
    """``ct_clear;``: forget connection-tracking state."""

    kind = "ct_clear"
    keyword = "ct_clear"

    def execute(self, ctx: Any) -> Any:
        for name in ("ct_state", "ct_mark", "ct_label"):
            ctx.write(FieldRef(name), 0)


@register
@dataclass(frozen=True)
class CtCommitNat(_NoArgs):
    """``ct_commit_nat;``: apply NAT for a related connection and commit it."""

    kind = "ct_commit_nat"
    keyword = "ct_commit_nat"


@register
@dataclass(frozen=True)
class CtCommit(Action):
    """``ct_commit;`` or ``ct_commit { ct_mark = V; ct_label.blocked = 1; };``.

    ``actions`` is None for the form without braces; inside the braces only assignments of
    constants to ``ct_mark`` / ``ct_label`` (and their subfields) are allowed.
    """

    kind = "ct_commit"
    keyword = "ct_commit"

    actions: tuple[Action, ...] | None = None

    def format(self) -> str:
        if self.actions is None:
            return "ct_commit;"
        inner = format_actions(self.actions)
        return f"ct_commit {{ {inner} }};" if inner else "ct_commit { };"

    def prerequisites(self, symtab: SymbolTable) -> tuple[str, ...]:
        return ("ip",)

    def execute(self, ctx: Any) -> Any:
        # committing changes only the connection table, which is not simulated
        return None

    @classmethod
    def parse(cls, p: ActionParser, start: Token) -> Action:
        if not p.at(TokenKind.LCURLY):
            if p.at(TokenKind.LPAREN):
                raise p.error("Use `ct_commit { ct_mark = ...; };' instead of parentheses")
            return cls()
        p.in_ct_commit = True
        try:
            actions = p.block()
        finally:
            p.in_ct_commit = False
        return cls(actions)


@dataclass(frozen=True)
class _CtNat(Action):
    """``KEYWORD;`` or ``KEYWORD(IP);`` with an IPv4 or IPv6 address."""

    ip: IntConst | None = None

    def format(self) -> str:
        return f"{self.keyword};" if self.ip is None else f"{self.keyword}({self.ip.format()});"

    def prerequisites(self, symtab: SymbolTable) -> tuple[str, ...]:
        return ("ip",)

    @classmethod
    def parse(cls, p: ActionParser, start: Token) -> Action:
        if not p.accept(TokenKind.LPAREN):
            return cls()
        ip, tok = p.int_constant("IPv4 or IPv6 address")
        if ip.fmt not in (IntFormat.IPV4, IntFormat.IPV6):
            raise p.error("Syntax error: expecting IPv4 or IPv6 address", tok)
        p.expect(TokenKind.RPAREN, "`)'")
        return cls(ip)


@register
@dataclass(frozen=True)
class CtDnat(_CtNat):
    kind = "ct_dnat"
    keyword = "ct_dnat"


@register
@dataclass(frozen=True)
class CtSnat(_CtNat):
    kind = "ct_snat"
    keyword = "ct_snat"


@register
@dataclass(frozen=True)
class CtDnatInCzone(_CtNat):
    kind = "ct_dnat_in_czone"
    keyword = "ct_dnat_in_czone"


@register
@dataclass(frozen=True)
class CtSnatInCzone(_CtNat):
    kind = "ct_snat_in_czone"
    keyword = "ct_snat_in_czone"
