"""Errors raised while reading OVN's logical-flow language.

Every error names the offset (0-based character index into the source text) and the text found
there, so a bad match or action written by northd points straight at the problem.
"""

from __future__ import annotations


class LogicalSyntaxError(ValueError):
    """A problem in a match or action string, at a known position."""

    def __init__(self, message: str, pos: int | None = None, near: str | None = None) -> None:
        self.message = message
        self.pos = pos
        self.near = near
        where = ""
        if pos is not None:
            where = f" (at offset {pos}"
            where += f", near `{near}')" if near else ")"
        super().__init__(f"{message}{where}")


class LexError(LogicalSyntaxError):
    """The text cannot be split into tokens (bad character, bad constant, bad string)."""


class ExprError(LogicalSyntaxError):
    """A match expression is malformed, ill-typed, or cannot be normalized."""


class ActionError(LogicalSyntaxError):
    """An action string is malformed or ill-typed."""
