"""Parse and format action strings (ovn-sb(5), the ``actions`` column).

``parse_actions(text)`` returns a tuple of registered action instances (see
:mod:`pyovn.logical.actions.base`); ``format_actions(actions)`` gives canonical text, one space
between actions, so that ``parse_actions(format_actions(a)) == a``.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyovn.logical.actions.base import REGISTRY, Action
from pyovn.logical.errors import ActionError
from pyovn.logical.fields import DEFAULT_SYMTAB, SymbolTable
from pyovn.logical.lexer import Token, TokenKind
from pyovn.logical.parser_base import TokenStream
from pyovn.logical.values import FieldRef, IntConst, StrConst

#: Fields that only ``ct_commit { ... }`` may write.
CT_COMMIT_FIELDS = frozenset({"ct_mark", "ct_label"})

_ASSIGN_FOLLOWERS = frozenset(
    {TokenKind.EQUALS, TokenKind.EXCHANGE, TokenKind.LSQUARE, TokenKind.DECREMENT}
)


class ActionParser(TokenStream):
    error_class = ActionError

    def __init__(self, text: str, symtab: SymbolTable) -> None:
        super().__init__(text, symtab)
        self.in_ct_commit = False

    def parse(self) -> tuple[Action, ...]:
        return self.action_list(TokenKind.END)

    def action_list(self, end: TokenKind) -> tuple[Action, ...]:
        actions = []
        while not self.at(end):
            actions.append(self.action())
            self.expect(TokenKind.SEMICOLON, "`;'")
        return tuple(actions)

    def block(self) -> tuple[Action, ...]:
        """``{ action; ... }``."""
        self.expect(TokenKind.LCURLY, "`{'")
        actions = self.action_list(TokenKind.RCURLY)
        self.advance()
        return actions

    def action(self) -> Action:
        tok = self.peek()
        if tok.kind is not TokenKind.ID:
            raise self.error("Syntax error: expecting action")
        name = str(tok.value)
        cls = REGISTRY.by_keyword(name)
        if cls is not None and self.peek(1).kind not in _ASSIGN_FOLLOWERS:
            if self.in_ct_commit:
                raise self.error("Only assignments to ct_mark and ct_label are allowed here")
            self.advance()
            return cls.parse(self, tok)
        if name in self.symtab:
            return self.assignment()
        raise self.error(f"Unknown action `{name}'")

    def assignment(self) -> Action:
        dst, dst_tok = self.field_ref()
        if self.in_ct_commit and not self.accept(TokenKind.EQUALS):
            raise self.error("Syntax error: expecting `='")
        if self.in_ct_commit:
            return REGISTRY.by_syntax("field = constant").parse_assignment(self, dst, dst_tok)
        if self.accept(TokenKind.DECREMENT):
            return REGISTRY.by_syntax("field--").parse_assignment(self, dst, dst_tok)
        if self.accept(TokenKind.EXCHANGE):
            return REGISTRY.by_syntax("field <-> field").parse_assignment(self, dst, dst_tok)
        self.expect(TokenKind.EQUALS, "`=', `<->' or `--'")
        tok = self.peek()
        if tok.kind is TokenKind.ID and self.at(TokenKind.LPAREN, 1):
            cls = REGISTRY.by_function(str(tok.value))
            if cls is None:
                raise self.error(f"Unknown function `{tok.value}'")
            self.advance()
            return cls.parse_result(self, dst, dst_tok, tok)
        if tok.kind is TokenKind.ID:
            return REGISTRY.by_syntax("field = field").parse_assignment(self, dst, dst_tok)
        return REGISTRY.by_syntax("field = constant").parse_assignment(self, dst, dst_tok)

    # Helpers for action classes.
    def check_writable(self, ref: FieldRef, tok: Token) -> None:
        name = ref.name
        if self.symtab.is_predicate(name):
            raise self.error(f"Predicate `{name}' may not be assigned", tok)
        root = self.symtab.root(name).name
        if self.in_ct_commit:
            if root not in CT_COMMIT_FIELDS:
                raise self.error(f"Only ct_mark and ct_label may be set here, not `{name}'", tok)
        elif not self.symtab.writable(name):
            raise self.error(f"Field `{name}' is not modifiable", tok)

    def readable_ref(self) -> tuple[FieldRef, Token]:
        ref, tok = self.field_ref()
        if self.symtab.is_predicate(ref.name):
            raise self.error(f"Predicate `{ref.name}' is not a field", tok)
        return ref, tok

    def check_same_type(self, a: FieldRef, b: FieldRef, tok: Token) -> None:
        sa, sb = self.symtab.is_string(a.name), self.symtab.is_string(b.name)
        if sa != sb:
            raise self.error(
                f"Can't mix string field and integer field (`{a.format()}', `{b.format()}')", tok
            )
        wa, wb = self.ref_width(a), self.ref_width(b)
        if not sa and wa != wb:
            raise self.error(
                f"Can't assign {wb}-bit `{b.format()}' to {wa}-bit `{a.format()}'", tok
            )

    def int_constant(self, what: str = "integer") -> tuple[IntConst, Token]:
        tok = self.peek()
        if tok.kind is not TokenKind.INTEGER:
            raise self.error(f"Syntax error: expecting {what}")
        self.advance()
        return tok.const(), tok

    def string_constant(self, what: str = "string") -> tuple[StrConst, Token]:
        tok = self.expect(TokenKind.STRING, what)
        return StrConst(str(tok.value)), tok


def parse_actions(text: str, symtab: SymbolTable = DEFAULT_SYMTAB) -> tuple[Action, ...]:
    """Parse an actions string. Raises :class:`~pyovn.logical.errors.ActionError` (or
    :class:`~pyovn.logical.errors.LexError`) naming the offset of the problem."""
    return ActionParser(text, symtab).parse()


def format_actions(actions: Iterable[Action]) -> str:
    """Canonical text of ``actions`` (empty string for no actions)."""
    return " ".join(a.format() for a in actions)
