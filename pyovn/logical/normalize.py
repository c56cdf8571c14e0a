"""Normalize a match expression into flows: a disjunction of exact bit-level match sets.

Steps (all on the typed AST, nothing is re-parsed except symbol-table text):

1. Negations are pushed to the leaves: ``!(a && b)`` is ``!a || !b``, ``!(x == c)`` is
   ``x != c``, ``!(x < c)`` is ``x >= c``; ``x == {a, b}`` negated is ``x != a && x != b``.
2. Predicates are replaced by their expansions (negated when tested negatively), and every
   leaf that names a field is ANDed with that field's prerequisites, *after* negation: so
   ``!(tcp.dst == 80)`` means ``tcp.dst != 80 && tcp`` (as in OVN).
3. Ordering tests on the same (sub)field inside one conjunction are intersected into one
   interval first (``tcp.dst >= 1000 && tcp.dst <= 2000`` is the interval [1000, 2000]).
4. Leaves become disjunctions of masked terms on *storage* fields (see
   :meth:`~pyovn.logical.fields.SymbolTable.segments`):

   * ``x == c`` / ``x == c/m``: one term; ``x == {a, b, ...}``: one term per member;
   * ``x != c``: one single-bit term per bit of the mask (as OVN does);
     ``x != {a, b, ...}``: the disjoint complement of the members (:func:`complement`);
   * ``x < c`` and friends: the interval split into prefix terms (at most 2*width);
   * strings (``inport``, ``outport``) stay names; ``@group`` expands to its ports.
5. ``&&`` is a cross product and ``||`` a union, dropping contradictions (two different
   values for the same bits, e.g. ``eth.type == 0x800 && eth.type == 0x806``) and duplicates.
6. Finally, a match set implied by another one is dropped (when there are at most
   :data:`SUBSUMPTION_LIMIT` of them).

Limit: if an intermediate or final result has more than ``max_flows`` (default
:data:`MAX_FLOWS`) match sets, :class:`~pyovn.logical.errors.ExprError` is raised. OVN avoids
some such blow-ups with OpenFlow conjunctive matches; pyovn does not (yet).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence

from pyovn.logical import bitmatch
from pyovn.logical.errors import ExprError
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
from pyovn.logical.fields import DEFAULT_SYMTAB, Level, SymbolTable
from pyovn.logical.lexer import parse_constant
from pyovn.logical.matchset import MatchSet
from pyovn.logical.values import AddressSetRef, FieldRef, IntConst, PortGroupRef, StrConst

MAX_FLOWS = 10_000
SUBSUMPTION_LIMIT = 1_000


class _Conj:
    """One conjunction under construction: integer terms, port names, residency."""

    __slots__ = ("ints", "key", "resident", "strs")

    def __init__(
        self,
        ints: dict[str, bitmatch.Term],
        strs: dict[str, str],
        resident: dict[str, bool],
    ) -> None:
        self.ints = ints
        self.strs = strs
        self.resident = resident
        self.key = (
            tuple(sorted(ints.items())),
            tuple(sorted(strs.items())),
            tuple(sorted(resident.items())),
        )

    def merge(self, other: _Conj) -> _Conj | None:
        ints = dict(self.ints)
        for name, term in other.ints.items():
            if name in ints:
                merged = bitmatch.merge(ints[name], term)
                if merged is None:
                    return None
                ints[name] = merged
            else:
                ints[name] = term
        strs = dict(self.strs)
        for name, port in other.strs.items():
            if strs.setdefault(name, port) != port:
                return None
        resident = dict(self.resident)
        for port, want in other.resident.items():
            if resident.setdefault(port, want) != want:
                return None
        return _Conj(ints, strs, resident)

    def implies(self, other: _Conj) -> bool:
        """True if every packet matching ``self`` matches ``other``."""
        for name, term in other.ints.items():
            mine = self.ints.get(name)
            if mine is None or not bitmatch.implies(mine, term):
                return False
        return all(self.strs.get(k) == v for k, v in other.strs.items()) and all(
            self.resident.get(k) == v for k, v in other.resident.items()
        )

    def to_matchset(self) -> MatchSet:
        fields: dict[str, tuple[int, int] | str] = dict(self.ints)
        fields.update(self.strs)
        return MatchSet.of(fields, self.resident)


_TRUE = _Conj({}, {}, {})


class _Shared:
    """Results that depend on the symbol table only, shared by every normalisation that uses
    the table (kept in :attr:`SymbolTable.memo`).

    ``results`` maps a key (``("prereqs", name)``, ``("pred", name, positive)``, or a leaf
    with its polarity) to its disjunction and the largest size checked against
    ``max_flows`` while computing it (-1 if none), so that a cache hit raises exactly when
    computing it would. A computation that consults address sets or port groups is never
    stored; neither is one that raises. Cached lists are never mutated.
    """

    __slots__ = ("expansions", "results")

    def __init__(self) -> None:
        self.expansions: dict[str, Expr] = {}
        self.results: dict[Hashable, tuple[list[_Conj], int]] = {}


# entries kept per symbol table; comparisons with port names and addresses are among them,
# so a long-lived controller would otherwise keep one for every port it ever saw
_MAX_SHARED_RESULTS = 50_000


def _shared(symtab: SymbolTable) -> _Shared:
    shared = symtab.memo.get("normalize")
    if shared is None:
        shared = symtab.memo["normalize"] = _Shared()
    return shared


def clear_caches(symtab: SymbolTable = DEFAULT_SYMTAB) -> None:
    """Forget the normaliser's cached results for ``symtab`` (for tests and benchmarks)."""
    symtab.memo.pop("normalize", None)


class _Normalizer:
    def __init__(
        self,
        symtab: SymbolTable,
        address_sets: Mapping[str, Sequence[str]],
        port_groups: Mapping[str, Sequence[str]],
        max_flows: int,
    ) -> None:
        self.symtab = symtab
        self.address_sets = address_sets
        self.port_groups = port_groups
        self.max_flows = max_flows
        self._shared = _shared(symtab)
        self._peak = -1  # largest size checked in the current cached computation
        self._impure = False  # the current computation consulted address sets/port groups
        self._active: set[str] = set()

    def _memo(self, key: Hashable, compute: Callable[[], list[_Conj]]) -> list[_Conj]:
        hit = self._shared.results.get(key)
        if hit is not None:
            conjs, peak = hit
            if peak >= 0:
                self._check_size(peak)
            return conjs
        outer_peak, outer_impure = self._peak, self._impure
        self._peak, self._impure = -1, False
        try:
            conjs = compute()
            if not self._impure:
                results = self._shared.results
                if len(results) >= _MAX_SHARED_RESULTS:
                    results.clear()  # ports come and go: start again rather than grow
                results[key] = (conjs, self._peak)
        finally:
            self._peak = max(outer_peak, self._peak)
            self._impure = outer_impure or self._impure
        return conjs

    # Boolean structure.
    def dnf(self, expr: Expr, neg: bool) -> list[_Conj]:
        if isinstance(expr, BoolConst):
            return [_TRUE] if expr.value != neg else []
        if isinstance(expr, Not):
            return self.dnf(expr.expr, not neg)
        if isinstance(expr, And | Or):
            if isinstance(expr, And) != neg:
                return self._conjunction(expr.terms, neg)
            return self._union(self.dnf(t, neg) for t in expr.terms)
        if isinstance(expr, ChassisResident):
            return [_Conj({}, {}, {expr.port: not neg})]
        if isinstance(expr, Bare):
            if self.symtab.is_predicate(expr.field.name):
                return self._predicate(expr.field.name, not neg, expr.pos)
            return self._memo((expr, neg), lambda: self._bare(expr.field, neg))
        return self._memo((expr, neg), lambda: self._cmp(expr, neg))

    def _bare(self, ref: FieldRef, neg: bool) -> list[_Conj]:
        bits = [(0, 1)] if neg else [(1, 1)]
        return self._with_prereqs(ref.name, self._terms_to_conjs(ref, bits))

    def _conjunction(self, terms: Iterable[Expr], neg: bool) -> list[_Conj]:
        intervals: dict[FieldRef, tuple[int, int]] = {}
        parts: list[list[_Conj]] = []
        for term in terms:
            inner, inner_neg = term, neg
            while isinstance(inner, Not):
                inner, inner_neg = inner.expr, not inner_neg
            interval = self._interval(inner, inner_neg)
            if interval is None:
                parts.append(self.dnf(term, neg))
                continue
            assert isinstance(inner, Cmp)
            lo, hi = interval
            if inner.field in intervals:
                old_lo, old_hi = intervals[inner.field]
                lo, hi = max(lo, old_lo), min(hi, old_hi)
            intervals[inner.field] = (lo, hi)
        for ref, (lo, hi) in intervals.items():
            terms_ = bitmatch.range_to_prefixes(lo, hi, self._width(ref))
            parts.append(self._with_prereqs(ref.name, self._terms_to_conjs(ref, terms_)))
        return self._product(parts)

    def _union(self, lists: Iterable[list[_Conj]]) -> list[_Conj]:
        out: dict[tuple, _Conj] = {}
        for lst in lists:
            for c in lst:
                out.setdefault(c.key, c)
            self._check_size(len(out))
        return list(out.values())

    def _product(self, lists: Iterable[list[_Conj]]) -> list[_Conj]:
        result = [_TRUE]
        for lst in lists:
            out: dict[tuple, _Conj] = {}
            for a in result:
                for b in lst:
                    merged = a.merge(b)
                    if merged is not None:
                        out.setdefault(merged.key, merged)
            self._check_size(len(out))
            result = list(out.values())
            if not result:
                break
        return result

    def _check_size(self, n: int) -> None:
        if n > self.max_flows:
            raise ExprError(f"Match expands to more than {self.max_flows} flows")
        if n > self._peak:
            self._peak = n

    # Leaves.
    def _width(self, ref: FieldRef) -> int:
        if ref.lo is not None and ref.hi is not None:
            return ref.hi - ref.lo + 1
        return self.symtab.width(ref.name)

    def _interval(self, expr: Expr, neg: bool) -> tuple[int, int] | None:
        """The interval tested by an ordering comparison, else None."""
        if not isinstance(expr, Cmp) or not expr.op.relational:
            return None
        value = expr.values[0]
        if not isinstance(value, IntConst) or self.symtab.is_predicate(expr.field.name):
            return None
        op = expr.op.negate() if neg else expr.op
        top = (1 << self._width(expr.field)) - 1
        c = value.value
        return {
            RelOp.LT: (0, c - 1),
            RelOp.LE: (0, c),
            RelOp.GT: (c + 1, top),
            RelOp.GE: (c, top),
        }[op]

    def _cmp(self, cmp: Cmp, neg: bool) -> list[_Conj]:
        ref, name = cmp.field, cmp.field.name
        if self.symtab.is_predicate(name):
            value = cmp.values[0]
            assert isinstance(value, IntConst)
            positive = ((cmp.op is RelOp.EQ) == (value.value == 1)) != neg
            return self._predicate(name, positive, cmp.pos)
        op = cmp.op.negate() if neg else cmp.op
        nominal = self.symtab.level(name) is Level.NOMINAL
        if op is not RelOp.EQ and nominal:
            raise ExprError(
                f"Nominal field `{name}' may only be tested for equality "
                "(taking enclosing `!' operators into account)",
                cmp.pos,
                name,
            )
        if self.symtab.is_string(name):
            root = self.symtab.root(name)
            storage = getattr(root, "storage", None) or root.name
            conjs = [_Conj({}, {storage: port}, {}) for port in self._ports(cmp)]
            return self._with_prereqs(name, conjs)
        terms = self._int_terms(cmp)
        if op is RelOp.EQ:
            bits = terms
        elif op is RelOp.NE:
            if len(terms) == 1:
                bits = bitmatch.not_equal(terms[0])
            else:
                bits = bitmatch.complement(terms, self._width(ref))
        else:
            interval = self._interval(cmp, neg)
            assert interval is not None
            bits = bitmatch.range_to_prefixes(*interval, self._width(ref))
        self._check_size(len(bits))
        return self._with_prereqs(name, self._terms_to_conjs(ref, bits))

    def _ports(self, cmp: Cmp) -> list[str]:
        ports: list[str] = []
        for value in cmp.values:
            if isinstance(value, StrConst):
                ports.append(value.value)
            elif isinstance(value, PortGroupRef):
                self._impure = True
                if value.name not in self.port_groups:
                    raise ExprError(f"Unknown port group `@{value.name}'", cmp.pos, value.name)
                ports.extend(self.port_groups[value.name])
            else:
                raise ExprError(f"String field `{cmp.field.name}' needs a string", cmp.pos)
        return ports

    def _int_terms(self, cmp: Cmp) -> list[bitmatch.Term]:
        width = self._width(cmp.field)
        full = (1 << width) - 1
        consts: list[IntConst] = []
        for value in cmp.values:
            if isinstance(value, IntConst):
                consts.append(value)
            elif isinstance(value, AddressSetRef):
                self._impure = True
                if value.name not in self.address_sets:
                    raise ExprError(f"Unknown address set `${value.name}'", cmp.pos, value.name)
                try:
                    consts.extend(parse_constant(a) for a in self.address_sets[value.name])
                except ExprError:
                    raise
                except ValueError as err:
                    raise ExprError(f"Bad entry in address set `${value.name}': {err}", cmp.pos)
            else:
                raise ExprError(f"Integer field `{cmp.field.name}' needs an integer", cmp.pos)
        terms = []
        for c in consts:
            if c.n_bits > width:
                raise ExprError(
                    f"{c.n_bits}-bit constant is not compatible with {width}-bit field "
                    f"`{cmp.field.name}'",
                    cmp.pos,
                    c.format(),
                )
            mask = full if c.mask is None else c.mask
            terms.append((c.value & mask, mask))
        return terms

    def _terms_to_conjs(self, ref: FieldRef, terms: Iterable[bitmatch.Term]) -> list[_Conj]:
        segments = self.symtab.segments(ref.name, ref.lo, ref.hi)
        out: dict[tuple, _Conj] = {}
        for value, mask in terms:
            conj: _Conj | None = _TRUE
            for seg in segments:
                seg_bits = (1 << seg.nbits) - 1
                m = (mask >> seg.ref_lo) & seg_bits
                if m and conj is not None:
                    v = (value >> seg.ref_lo) & m
                    piece = _Conj({seg.storage: (v << seg.storage_lo, m << seg.storage_lo)}, {}, {})
                    conj = conj.merge(piece)
            if conj is not None:
                out.setdefault(conj.key, conj)
        return list(out.values())

    # Symbol-table expansions.
    def _predicate(self, name: str, positive: bool, pos: int) -> list[_Conj]:
        if not positive and self.symtab.level(name) is Level.NOMINAL:
            raise ExprError(f"Nominal predicate `{name}' may only be tested positively", pos, name)
        return self._memo(("pred", name, positive), lambda: self._expand(name, positive))

    def _expand(self, name: str, positive: bool) -> list[_Conj]:
        expansions = self._shared.expansions
        expansion = expansions.get(name)
        if expansion is None:
            sym = self.symtab[name]
            text = getattr(sym, "expansion", "")
            expansion = expansions[name] = self._parse_table_text(name, text)
        with _Guard(self._active, name):
            body = self.dnf(expansion, not positive)
        return self._with_prereqs(name, body)

    def _with_prereqs(self, name: str, conjs: list[_Conj]) -> list[_Conj]:
        if not conjs:
            return conjs
        prereqs = self._memo(("prereqs", name), lambda: self._prereqs(name))
        return self._product([conjs, prereqs])

    def _prereqs(self, name: str) -> list[_Conj]:
        with _Guard(self._active, "prereqs of " + name):
            parts = [
                self.dnf(self._parse_table_text(name, text), False)
                for text in self.symtab.prerequisites(name)
            ]
            return self._product(parts)

    def _parse_table_text(self, name: str, text: str) -> Expr:
        try:
            return parse_expr(text, self.symtab)
        except ExprError as err:
            raise ExprError(f"Symbol table entry `{name}' is invalid: {err}") from err


class _Guard:
    """Detects a symbol whose expansion or prerequisites refer back to itself."""

    def __init__(self, active: set[str], name: str) -> None:
        self.active = active
        self.name = name

    def __enter__(self) -> None:
        if self.name in self.active:
            raise ExprError(f"Recursive symbol definition: {self.name}")
        self.active.add(self.name)

    def __exit__(self, *exc: object) -> None:
        self.active.discard(self.name)


def _drop_subsumed(conjs: list[_Conj]) -> list[_Conj]:
    """Drop each match set that implies another one (it adds nothing to the disjunction).

    Distinct match sets never imply each other both ways (terms are canonical), so this
    keeps exactly the maximal ones.
    """
    if len(conjs) > SUBSUMPTION_LIMIT:
        return conjs
    return [c for c in conjs if not any(k is not c and c.implies(k) for k in conjs)]


def normalize(
    expr: Expr,
    symtab: SymbolTable = DEFAULT_SYMTAB,
    *,
    address_sets: Mapping[str, Sequence[str]] | None = None,
    port_groups: Mapping[str, Sequence[str]] | None = None,
    max_flows: int = MAX_FLOWS,
) -> tuple[MatchSet, ...]:
    """Flows for ``expr``: a packet matches ``expr`` iff it matches one of the match sets.

    ``address_sets`` maps a ``$name`` to its addresses as text (``"10.0.0.1"``,
    ``"10.0.0.0/24"``, a MAC, an IPv6 address), as in SB ``Address_Set.addresses``;
    ``port_groups`` maps an ``@name`` to logical port names, as in SB ``Port_Group.ports``.
    """
    n = _Normalizer(symtab, address_sets or {}, port_groups or {}, max_flows)
    conjs = _drop_subsumed(n.dnf(expr, False))
    return tuple(c.to_matchset() for c in conjs)


RawConj = tuple[Mapping[str, bitmatch.Term], Mapping[str, str], Mapping[str, bool]]


def raw_conjunctions(
    expr: Expr, symtab: SymbolTable = DEFAULT_SYMTAB, *, max_flows: int = MAX_FLOWS
) -> list[RawConj]:
    """The conjunctions ``expr`` expands to, before subsumption, as (integer terms by storage
    field, port names by field, residency) triples: for analyses such as
    :mod:`pyovn.logical.template` (no address sets or port groups). Do not mutate them."""
    n = _Normalizer(symtab, {}, {}, max_flows)
    return [(c.ints, c.strs, c.resident) for c in n.dnf(expr, False)]


def prerequisite_conjunctions(
    name: str, symtab: SymbolTable = DEFAULT_SYMTAB, *, max_flows: int = MAX_FLOWS
) -> list[RawConj]:
    """The conjunctions that the prerequisites of field ``name`` expand to (as above)."""
    n = _Normalizer(symtab, {}, {}, max_flows)
    return [(c.ints, c.strs, c.resident) for c in n._with_prereqs(name, [_TRUE])]


def compile_match(
    text: str,
    symtab: SymbolTable = DEFAULT_SYMTAB,
    *,
    address_sets: Mapping[str, Sequence[str]] | None = None,
    port_groups: Mapping[str, Sequence[str]] | None = None,
    max_flows: int = MAX_FLOWS,
) -> tuple[MatchSet, ...]:
    """:func:`parse_expr` then :func:`normalize`."""
    return normalize(
        parse_expr(text, symtab),
        symtab,
        address_sets=address_sets,
        port_groups=port_groups,
        max_flows=max_flows,
    )
