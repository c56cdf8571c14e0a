"""Parse-once templates: logical-flow texts that differ only in per-port literals.

Every new logical port brings a handful of flows whose match and action texts are unique to it
(its name, MAC and IPv4 address), so text-level caches miss for them. Here such a text is
split, by one regular-expression pass, into a *key* (the text with each port name, unmasked
Ethernet and unmasked IPv4 literal replaced by a placeholder naming its class and its slot;
equal literals share a slot) and the slot values. The first text with a new key is parsed a
second time with a distinctive *sentinel* in each slot, and the result is kept as a template:
later texts with the same key get the template's result with the sentinels replaced by their
own values, without lexing, parsing or normalising.

Safety (a template never gives anything that a normal parse would not):

* only texts without ``!``, ``<``, ``>`` (ordering, ``!=``, negation: expansions that depend
  on the bits of values), ``$set``, ``@group`` or NUL outside strings and comments are
  templated; masked literals, strings with escapes and anything the scan is unsure about stay
  literal text in the key;
* sentinels have the top bit set (MAC ``ff:5a:17:...``, IPv4 ``255.90.23.k``) or are names
  that cannot clash (``__pyovn_slotK__``), so every width check that could fail for some value
  fails for the sentinel; a template whose text does not parse is unusable;
* matches are analysed: a slot leaf must be ``field == {constants}`` on a field stored whole
  (one storage segment, bit 0 up), and every other term that lands on the same storage field
  must use the same full mask, so that combining terms compares slot values only for
  equality; more than one residency condition next to a slot port is refused (they are
  sorted by name);
* an instance whose slot values equal a sentinel, another literal of the text, a value the
  rest of the match expands to, or each other (a MAC equal to an IPv4 value) is parsed
  normally;
* the first :data:`VERIFY` instances of each template are parsed normally too and compared
  with the substituted result; any difference, a sentinel that does not appear in the result
  or appears in an unsupported structure, makes the template unusable (all its instances are
  then parsed normally, so errors come out exactly as without templates).

:func:`templated_match` and :func:`templated_actions` are drop-in replacements of
``compile_match(text)`` and ``parse_actions(text)`` (default symbol table).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from enum import Enum
from operator import itemgetter
from typing import Any, Generic, TypeVar

from pyovn.logical.actions import Action, parse_actions
from pyovn.logical.expr import And, ChassisResident, Cmp, Expr, Not, Or, RelOp
from pyovn.logical.expr_parser import parse_expr
from pyovn.logical.fields import DEFAULT_SYMTAB
from pyovn.logical.lexer import tokenize
from pyovn.logical.matchset import MatchSet
from pyovn.logical.normalize import (
    RawConj,
    compile_match,
    prerequisite_conjunctions,
    raw_conjunctions,
)
from pyovn.logical.values import IntConst, StrConst

T = TypeVar("T")

#: Instances of each template that are also parsed normally and compared.
VERIFY = 2
#: Templates kept per cache (oldest dropped first).
MAX_TEMPLATES = 4096
#: Most distinct slots in one text (the sentinels number them).
MAX_SLOTS = 200

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_STRINGS_AND_COMMENTS = (
    r'"(?:(?P<s>[^"\\\x00-\x1f]*)"'  # a string without escapes or control characters
    r'|(?:[^"\\\n]|\\.)*"?)'  # any other string, or an unterminated one: left as it is
    r"|/(?:/[^\n]*|\*.*?(?:\*/|\Z))"  # comments: left as they are
)
_LITERALS = (
    r"|(?<![0-9A-Za-z_.:$@/])"  # not inside a name, number, mask or address
    r"(?:(?P<m>[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})"
    rf"|(?P<i>{_OCTET}(?:\.{_OCTET}){{3}}))"
    r"(?![0-9A-Za-z_.:/])"  # not followed by more of one, nor by a mask
)
_SCAN_RE = re.compile(_STRINGS_AND_COMMENTS + _LITERALS, re.DOTALL)
# Where one of these characters appears, the scan also looks for them outside strings and
# comments: negation, ordering, address sets, port groups (and NUL, kept for placeholders)
# mean no template; the action operators that contain `>' are fine.
_UNSAFE_RE = re.compile(r"[!<>$@\x00]")
_SCAN_CAREFUL_RE = re.compile(
    _STRINGS_AND_COMMENTS + r"|<?->|(?P<x>[!<>$@\x00])" + _LITERALS, re.DOTALL
)
_PLACEHOLDER_RE = re.compile("\x00([smi])([0-9]+)\x00")

_MAC_SENTINEL = 0xFF5A17000000
_IPV4_SENTINEL = 0xFF5A1700


class _NoTemplate(Exception):
    """The text must be parsed normally."""


def scan(text: str) -> tuple[str, list[str], list[str]] | None:
    """(key, slot texts, slot classes ``s``/``m``/``i``), or None if ``text`` must not be
    templated. Equal literals (same class, same text) share a slot."""
    index: dict[str, int] = {}
    raws: list[str] = []
    classes: list[str] = []

    def repl(m: re.Match[str]) -> str:
        g = m.lastgroup
        if g is None:
            return m.group()
        if g == "x":
            raise _NoTemplate
        raw = m.group(g)
        tag = g + raw
        k = index.get(tag)
        if k is None:
            k = index[tag] = len(raws)
            raws.append(raw)
            classes.append(g)
        return f"\x00{g}{k}\x00"

    pattern = _SCAN_RE if _UNSAFE_RE.search(text) is None else _SCAN_CAREFUL_RE
    try:
        key = pattern.sub(repl, text)
    except _NoTemplate:
        return None
    return key, raws, classes


def _value(cls: str, raw: str) -> int | str:
    if cls == "s":
        return raw
    if cls == "m":
        return int(raw.replace(":", ""), 16)
    a, b, c, d = raw.split(".")
    return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)


def sentinel(cls: str, k: int) -> tuple[str, int | str]:
    """Text and value of the sentinel of slot ``k`` of class ``cls``."""
    if cls == "s":
        name = f"__pyovn_slot{k}__"
        return f'"{name}"', name
    if cls == "m":
        value = _MAC_SENTINEL | k
        raw = f"{value:012x}"
        return ":".join(raw[i : i + 2] for i in range(0, 12, 2)), value
    return f"255.90.23.{k}", _IPV4_SENTINEL | k


# ---------------------------------------------------------------------- substitution plans

Builder = Callable[[Sequence[Any]], Any]


class _Unsupported(Exception):
    """The result holds a structure that substitution cannot rebuild."""


def plan(obj: Any, slots: dict[Any, int], found: set[int]) -> Builder | None:
    """A function of the slot values that rebuilds ``obj`` with each sentinel (an ``int`` or
    ``str`` equal to a key of ``slots``) replaced by its slot's value; None if ``obj`` holds no
    sentinel. Walks tuples and dataclasses; raises :class:`_Unsupported` on anything else
    that could hold one. Adds the slots met to ``found``."""
    t = type(obj)
    if t is int or t is str:
        k = slots.get(obj)
        if k is None:
            return None
        found.add(k)
        return itemgetter(k)
    if obj is None or t is bool or t is float or isinstance(obj, Enum):
        return None
    if t is tuple:
        parts = [(i, p) for i, x in enumerate(obj) if (p := plan(x, slots, found)) is not None]
        if not parts:
            return None
        base = list(obj)

        def build_tuple(values: Sequence[Any]) -> tuple[Any, ...]:
            out = base.copy()
            for i, p in parts:
                out[i] = p(values)
            return tuple(out)

        return build_tuple
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if not hasattr(obj, "__dict__"):
            raise _Unsupported(t.__name__)
        changed = [
            (f.name, p)
            for f in dataclasses.fields(obj)
            if (p := plan(getattr(obj, f.name), slots, found)) is not None
        ]
        if not changed:
            return None
        state = dict(obj.__dict__)

        def build_dataclass(values: Sequence[Any]) -> Any:
            new = object.__new__(t)
            d = new.__dict__
            d.update(state)
            for name, p in changed:
                d[name] = p(values)
            return new

        return build_dataclass
    raise _Unsupported(t.__name__)


# ---------------------------------------------------------------------- safety analysis


def _token_atoms(text: str, sentinels: frozenset[Any], occurrences: int) -> set[Any] | None:
    """Every value, mask and name in the tokens of ``text`` that is not a sentinel; None if
    sentinel values appear other than as the ``occurrences`` placeholders."""
    atoms: set[Any] = set()
    hits = 0
    for tok in tokenize(text):
        for atom in (tok.value, tok.mask):
            if atom is None:
                continue
            if atom in sentinels:
                hits += 1
            else:
                atoms.add(atom)
    return atoms if hits == occurrences else None


def _leaves(expr: Expr, out: list[Expr]) -> bool:
    if isinstance(expr, Not):
        return False
    if isinstance(expr, And | Or):
        return all(_leaves(t, out) for t in expr.terms)
    out.append(expr)
    return True


def _is_slot(value: Any, sentinels: frozenset[Any]) -> bool:
    return isinstance(value, IntConst | StrConst) and value.value in sentinels


def analyse_match(text: str, result: Any, sentinels: frozenset[Any]) -> set[Any] | None:
    """Values an instance's slots must avoid, or None if the template of match ``text``
    (whose result is ``result``) could depend on more than the equality of slot values."""
    symtab = DEFAULT_SYMTAB
    for ms in result:
        if len(ms.resident) > 1 and any(port in sentinels for port, _ in ms.resident):
            return None  # residency conditions are sorted by port name
    leaves: list[Expr] = []
    if not _leaves(parse_expr(text, symtab), leaves):
        return None
    slot_masks: dict[str, int] = {}  # storage field of an integer slot -> its full mask
    others: list[RawConj] = []
    for leaf in leaves:
        if isinstance(leaf, ChassisResident):
            continue  # residency is compared by port name only
        if not (isinstance(leaf, Cmp) and any(_is_slot(v, sentinels) for v in leaf.values)):
            others.extend(raw_conjunctions(leaf, symtab))
            continue
        if leaf.op is not RelOp.EQ:
            return None
        name = leaf.field.name
        others.extend(prerequisite_conjunctions(name, symtab))
        if symtab.is_string(name):
            if not all(isinstance(v, StrConst) for v in leaf.values):
                return None
            continue
        if not all(isinstance(v, IntConst) and v.mask is None for v in leaf.values):
            return None
        segs = symtab.segments(name, leaf.field.lo, leaf.field.hi)
        if len(segs) != 1 or segs[0].storage_lo != 0:
            return None
        mask = (1 << segs[0].nbits) - 1
        if slot_masks.setdefault(segs[0].storage, mask) != mask:
            return None
    avoid: set[Any] = set()
    for ints, strs, resident in others:
        for storage, (value, mask) in ints.items():
            if storage in slot_masks and mask != slot_masks[storage]:
                return None
            avoid.add(value)
        avoid.update(strs.values())
        avoid.update(resident)
    return avoid


# ---------------------------------------------------------------------- the caches


@dataclasses.dataclass(eq=False)
class Template:
    """One key's template. ``state``: instances verified so far, or -1 when unusable."""

    state: int = -1
    build: Builder | None = None
    avoid: frozenset[Any] = frozenset()


@dataclasses.dataclass
class Stats:
    templated: int = 0  # results built from a template
    verified: int = 0  # instances parsed normally and compared
    normal: int = 0  # parsed normally (no key, unusable template, avoided values)
    created: int = 0
    disabled: int = 0  # templates found unusable


class TemplateCache(Generic[T]):
    """``parse(text)`` through templates. ``analyse(text, result, sentinels)`` (matches) gives
    the values instances must avoid, or None when the template is unsafe."""

    def __init__(
        self,
        parse: Callable[[str], T],
        analyse: Callable[[str, Any, frozenset[Any]], set[Any] | None] | None = None,
        *,
        verify: int = VERIFY,
        max_templates: int = MAX_TEMPLATES,
    ) -> None:
        self.parse = parse
        self.analyse = analyse
        self.verify = verify
        self.max_templates = max_templates
        self.enabled = True
        self.templates: dict[str, Template] = {}
        self.stats = Stats()

    def clear(self) -> None:
        self.templates.clear()
        self.stats = Stats()

    def __call__(self, text: str) -> T:
        scanned = scan(text) if self.enabled else None
        if scanned is None or not scanned[1]:
            self.stats.normal += 1
            return self.parse(text)
        key, raws, classes = scanned
        tpl = self.templates.get(key)
        if tpl is None:
            tpl = self._create(key, classes)
        state, build = tpl.state, tpl.build
        if state < 0 or build is None:
            self.stats.normal += 1
            return self.parse(text)
        values = [_value(c, r) for c, r in zip(classes, raws, strict=True)]
        if not tpl.avoid.isdisjoint(values) or len(set(values)) != len(values):
            self.stats.normal += 1
            return self.parse(text)
        if state >= self.verify:
            self.stats.templated += 1
            return build(values)  # type: ignore[no-any-return]
        self.stats.verified += 1
        try:
            want = self.parse(text)
        except Exception:
            self._disable(tpl)  # the template parsed: it would have hidden this error
            raise
        try:
            same = build(values) == want
        except Exception:
            same = False
        if not same:
            self._disable(tpl)
        elif tpl.state >= 0:
            tpl.state += 1
        return want

    def _disable(self, tpl: Template) -> None:
        tpl.state, tpl.build, tpl.avoid = -1, None, frozenset()
        self.stats.disabled += 1

    def _create(self, key: str, classes: list[str]) -> Template:
        templates = self.templates
        while len(templates) >= self.max_templates:
            del templates[next(iter(templates))]
        tpl = templates[key] = Template()
        self.stats.created += 1
        if len(classes) > MAX_SLOTS:
            return tpl
        marks = [sentinel(c, k) for k, c in enumerate(classes)]
        text = _PLACEHOLDER_RE.sub(lambda m: marks[int(m.group(2))][0], key)
        slots = {value: k for k, (_, value) in enumerate(marks)}
        sentinels = frozenset(slots)
        try:
            result = self.parse(text)
            found: set[int] = set()
            build = plan(result, slots, found)
            if build is None or len(found) != len(marks):
                return tpl  # a slot's value does not show in the result as it is
            avoid = _token_atoms(text, sentinels, key.count("\x00") // 2)
            if avoid is None:
                return tpl
            if self.analyse is not None:
                more = self.analyse(text, result, sentinels)
                if more is None:
                    return tpl
                avoid |= more
        except Exception:
            return tpl  # the template does not parse (or cannot be rebuilt): never used
        if not sentinels.isdisjoint(avoid):
            return tpl
        tpl.build, tpl.avoid, tpl.state = build, frozenset(avoid | sentinels), 0
        return tpl


def _compile_match(text: str) -> tuple[MatchSet, ...]:
    return compile_match(text)


def _parse_actions(text: str) -> tuple[Action, ...]:
    return parse_actions(text)


MATCHES: TemplateCache[tuple[MatchSet, ...]] = TemplateCache(_compile_match, analyse_match)
ACTIONS: TemplateCache[tuple[Action, ...]] = TemplateCache(_parse_actions)


def templated_match(text: str) -> tuple[MatchSet, ...]:
    """``compile_match(text)``, through the match templates."""
    return MATCHES(text)


def templated_actions(text: str) -> tuple[Action, ...]:
    """``parse_actions(text)``, through the action templates."""
    return ACTIONS(text)


def clear_templates() -> None:
    """Forget every template (for tests and benchmarks)."""
    MATCHES.clear()
    ACTIONS.clear()


def set_enabled(enabled: bool) -> None:
    """Turn templates on or off (off: every text is parsed normally)."""
    MATCHES.enabled = ACTIONS.enabled = enabled


__all__ = [
    "ACTIONS",
    "MATCHES",
    "Stats",
    "Template",
    "TemplateCache",
    "analyse_match",
    "clear_templates",
    "plan",
    "scan",
    "sentinel",
    "set_enabled",
    "templated_actions",
    "templated_match",
]
