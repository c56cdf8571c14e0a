"""The action registry: one class per action kind, parse and format side by side.

Every action is a frozen dataclass subclassing :class:`Action` and registered with
:func:`register`. A class says how it is written through one of three class attributes:

* ``keyword``: the action starts with this identifier (``next``, ``arp``, ``put_arp``); the
  parser consumes the keyword and calls ``cls.parse(p, keyword_token)``.
* ``syntax``: an assignment form that starts with a field (``"field = constant"``,
  ``"field = field"``, ``"field <-> field"``, ``"field--"``); the parser reads the
  destination and the operator and calls ``cls.parse_assignment(p, dst, dst_token)``.
* ``function``: ``dst = function(args)``; the parser reads ``dst =`` and the function name
  and calls ``cls.parse_result(p, dst, dst_token, name_token)``.

``format()`` returns the canonical text including the final ``;``.

The execution side lives on the same classes: ``compile(ctx)`` (logical action to flow IR)
and ``execute(ctx)`` (simulator) raise :class:`NotImplementedError` until a kind implements
them, so adding them later is one method per class. ``prerequisites(symtab)`` lists the match
conditions the action implies (assigning ``tcp.dst`` only makes sense for TCP).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pyovn.logical.fields import SymbolTable

if TYPE_CHECKING:
    from pyovn.logical.actions.parser import ActionParser
    from pyovn.logical.lexer import Token
    from pyovn.logical.values import FieldRef


@dataclass(frozen=True)
class Action:
    """Base class of every logical action."""

    kind: ClassVar[str] = ""
    keyword: ClassVar[str | None] = None
    syntax: ClassVar[str | None] = None
    function: ClassVar[str | None] = None

    def format(self) -> str:
        raise NotImplementedError(f"{type(self).__name__}.format")

    def __str__(self) -> str:
        return self.format()

    def prerequisites(self, symtab: SymbolTable) -> tuple[str, ...]:
        """Expressions (text) that the flow's match implicitly requires."""
        return ()

    def compile(self, ctx: Any) -> Any:
        """Translate to flow IR. Each kind implements this when the controller needs it."""
        raise NotImplementedError(f"action `{self.kind}' cannot be compiled yet")

    def execute(self, ctx: Any) -> Any:
        """Run in the packet simulator. Each kind implements this when the simulator needs it."""
        raise NotImplementedError(f"action `{self.kind}' cannot be executed yet")

    # Parsing hooks, overridden according to the syntax form of the class.
    @classmethod
    def parse(cls, p: ActionParser, start: Token) -> Action:
        raise NotImplementedError(cls.__name__)

    @classmethod
    def parse_assignment(cls, p: ActionParser, dst: FieldRef, dst_tok: Token) -> Action:
        raise NotImplementedError(cls.__name__)

    @classmethod
    def parse_result(
        cls, p: ActionParser, dst: FieldRef, dst_tok: Token, name_tok: Token
    ) -> Action:
        raise NotImplementedError(cls.__name__)


A = TypeVar("A", bound=type[Action])


class ActionRegistry:
    """All action kinds, looked up by kind, keyword, assignment syntax or function name."""

    def __init__(self) -> None:
        self._kinds: dict[str, type[Action]] = {}
        self._keywords: dict[str, type[Action]] = {}
        self._syntaxes: dict[str, type[Action]] = {}
        self._functions: dict[str, type[Action]] = {}

    def register(self, cls: A) -> A:
        if not cls.kind or cls.kind in self._kinds:
            raise ValueError(f"action kind {cls.kind!r} is empty or already registered")
        forms = [
            (table, name)
            for table, name in (
                (self._keywords, cls.keyword),
                (self._syntaxes, cls.syntax),
                (self._functions, cls.function),
            )
            if name
        ]
        if len(forms) != 1:
            raise ValueError(f"{cls.__name__}: exactly one of keyword, syntax, function")
        table, name = forms[0]
        assert name is not None
        if name in table:
            raise ValueError(f"{cls.__name__}: {name!r} is already registered")
        table[name] = cls
        self._kinds[cls.kind] = cls
        return cls

    @property
    def kinds(self) -> Mapping[str, type[Action]]:
        return MappingProxyType(self._kinds)

    def by_keyword(self, name: str) -> type[Action] | None:
        return self._keywords.get(name)

    def by_syntax(self, syntax: str) -> type[Action]:
        return self._syntaxes[syntax]

    def by_function(self, name: str) -> type[Action] | None:
        return self._functions.get(name)


REGISTRY = ActionRegistry()
register = REGISTRY.register
