"""Token stream and the grammar pieces that matches and actions share.

Field references (``reg0``, ``eth.src[40]``, ``reg0[0..15]``) and constants are read and
type-checked here against a :class:`~pyovn.logical.fields.SymbolTable`.
"""

from __future__ import annotations

from pyovn.logical.errors import LogicalSyntaxError
from pyovn.logical.fields import Level, SymbolTable
from pyovn.logical.lexer import Token, TokenKind, tokenize
from pyovn.logical.values import (
    AddressSetRef,
    FieldRef,
    IntConst,
    PortGroupRef,
    StrConst,
    Value,
)

VALUE_TOKENS = frozenset(
    {
        TokenKind.INTEGER,
        TokenKind.MASKED_INTEGER,
        TokenKind.STRING,
        TokenKind.MACRO,
        TokenKind.PORT_GROUP,
    }
)


class TokenStream:
    """Tokens of one string with a cursor; errors are of type ``error_class``."""

    error_class: type[LogicalSyntaxError] = LogicalSyntaxError

    def __init__(self, text: str, symtab: SymbolTable) -> None:
        self.text = text
        self.symtab = symtab
        self.tokens = tokenize(text)
        self.index = 0

    # Cursor.
    def peek(self, ahead: int = 0) -> Token:
        # ``index`` never passes the final END token (see advance)
        if not ahead:
            return self.tokens[self.index]
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.index]
        if tok.kind is not TokenKind.END:
            self.index += 1
        return tok

    def at(self, kind: TokenKind, ahead: int = 0) -> bool:
        if not ahead:
            return self.tokens[self.index].kind is kind
        return self.peek(ahead).kind is kind

    def at_id(self, name: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind is TokenKind.ID and tok.value == name

    def accept(self, kind: TokenKind) -> Token | None:
        return self.advance() if self.at(kind) else None

    def expect(self, kind: TokenKind, what: str | None = None) -> Token:
        if not self.at(kind):
            raise self.error(f"Syntax error: expecting {what or '`' + kind.value + chr(39)}")
        return self.advance()

    def expect_id(self, name: str) -> Token:
        if not self.at_id(name):
            raise self.error(f"Syntax error: expecting `{name}'")
        return self.advance()

    def error(self, message: str, tok: Token | None = None) -> LogicalSyntaxError:
        tok = tok or self.peek()
        return self.error_class(message, tok.offset, tok.describe())

    # Grammar pieces.
    def field_ref(self) -> tuple[FieldRef, Token]:
        """``name`` or ``name[bit]`` or ``name[lo..hi]``, checked against the table."""
        tok = self.expect(TokenKind.ID, "field name")
        name = str(tok.value)
        if name not in self.symtab:
            raise self.error(f"Unknown field `{name}'", tok)
        if not self.at(TokenKind.LSQUARE):
            return FieldRef(name), tok
        bracket = self.advance()
        lo_tok = self.expect(TokenKind.INTEGER, "bit index")
        hi_tok = lo_tok
        if self.accept(TokenKind.ELLIPSIS):
            hi_tok = self.expect(TokenKind.INTEGER, "bit index")
        self.expect(TokenKind.RSQUARE)
        lo, hi = int(lo_tok.value or 0), int(hi_tok.value or 0)
        if self.symtab.is_predicate(name):
            raise self.error(f"Can't select bits from predicate `{name}'", bracket)
        if self.symtab.is_string(name):
            raise self.error(f"Can't select bits from string field `{name}'", bracket)
        if self.symtab.level(name) is Level.NOMINAL:
            raise self.error(f"Can't select bits from nominal field `{name}'", bracket)
        width = self.symtab.width(name)
        if lo > hi:
            raise self.error(f"Invalid bit range {lo} > {hi}", lo_tok)
        if hi >= width:
            raise self.error(f"Bit {hi} is out of range for {width}-bit field `{name}'", hi_tok)
        return FieldRef(name, lo, hi), tok

    def ref_width(self, ref: FieldRef) -> int:
        if ref.lo is not None and ref.hi is not None:
            return ref.hi - ref.lo + 1
        return self.symtab.width(ref.name)

    def value(self) -> tuple[Value, Token]:
        """One constant: integer (maybe masked), string, ``$set`` or ``@group``."""
        tok = self.advance()
        if tok.kind in (TokenKind.INTEGER, TokenKind.MASKED_INTEGER):
            return tok.const(), tok
        if tok.kind is TokenKind.STRING:
            return StrConst(str(tok.value)), tok
        if tok.kind is TokenKind.MACRO:
            return AddressSetRef(str(tok.value)), tok
        if tok.kind is TokenKind.PORT_GROUP:
            return PortGroupRef(str(tok.value)), tok
        raise self.error("Syntax error: expecting constant", tok)

    def check_value(self, ref: FieldRef, value: Value, tok: Token) -> None:
        """Type-check a constant against field ``ref`` (kind, width, mask)."""
        name = ref.name
        if self.symtab.is_string(name):
            if not isinstance(value, StrConst | PortGroupRef):
                raise self.error(f"String field `{name}' needs a string constant", tok)
            return
        if isinstance(value, StrConst | PortGroupRef):
            raise self.error(f"Integer field `{name}' needs an integer constant", tok)
        if isinstance(value, AddressSetRef):
            return
        assert isinstance(value, IntConst)
        width = self.ref_width(ref)
        if value.n_bits > width:
            raise self.error(
                f"{value.n_bits}-bit constant is not compatible with {width}-bit field `{name}'",
                tok,
            )
        if value.mask is not None and self.symtab.level(name) is Level.NOMINAL:
            raise self.error(f"Can't use a masked constant with nominal field `{name}'", tok)
