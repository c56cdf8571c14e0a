"""The fast paths give exactly what the plain paths give.

* The normaliser shares prerequisite, predicate and leaf results per symbol table
  (``SymbolTable.memo``): compiling with a warm table must equal compiling with a fresh one,
  for every flow pyovn northd emits (with new ports, whose flows differ only in literals),
  and for random expressions, including the errors (flow limit, nominal tests, unknown
  address sets / port groups).
* The lexer skips blanks with one regex, finds operators in a per-character table and rules
  out Ethernet/IPv6 literals early: it must tokenize like the straightforward lexer below.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyovn.controller import lflow as lflow_mod
from pyovn.controller.lflow import compile_lflow
from pyovn.logical import lexer as lexer_mod
from pyovn.logical.errors import LogicalSyntaxError
from pyovn.logical.expr import Expr
from pyovn.logical.fields import DEFAULT_SYMBOLS, DEFAULT_SYMTAB, Field, Predicate, SymbolTable
from pyovn.logical.lexer import Token, TokenKind, _Lexer, _scan_number, tokenize
from pyovn.logical.normalize import clear_caches, compile_match, normalize
from pyovn.logical.values import IntFormat
from tests.support.northd import (
    GOLDEN_TOPOLOGY,
    FakeNb,
    FlowKey,
    _vm,
    apply_edit,
    flow_keys,
    port_keys,
)
from tests.unit.northd.test_golden_flows import new_graph

from .strategies import ADDRESS_SETS, PORT_GROUPS, exprs


def _outcome(fn: Any, *args: Any, **kw: Any) -> str:
    try:
        return repr(fn(*args, **kw))
    except (LogicalSyntaxError, ValueError) as err:
        return f"{type(err).__name__}: {err}"


def _northd_flows(new_ports: int = 3) -> tuple[list[FlowKey], dict[str, int]]:
    """Every flow pyovn northd writes for the golden topology and ``new_ports`` container
    ports added to it (flows that differ only in literals), and the port keys."""
    nb = FakeNb()
    graph = new_graph(nb)
    edits = list(GOLDEN_TOPOLOGY)
    for i in range(new_ports):
        spec = _vm(f"00:00:00:00:03:{i + 1:02x}", f"10.1.1.{i + 1}", parent_name="vm1")
        edits.append(("add_lsp", "sw1", f"cnew{i}", {**spec, "tag_request": 0}))
    flows: set[FlowKey] = set()
    for edit in edits:
        txn = nb.txn()
        assert apply_edit(edit, txn, nb.rows), edit
        txn.commit()
        flows |= flow_keys(graph)
    return sorted(flows), port_keys(graph)


def _compile(flow: FlowKey, ports: dict[str, int]) -> str:
    pipeline, table, priority, match, actions = flow
    return _outcome(compile_lflow, pipeline, table, priority, match, actions, 1, ports)


def _cold() -> None:
    clear_caches()
    lflow_mod.parsed_match.cache_clear()
    lflow_mod.parsed_actions.cache_clear()


def test_every_northd_flow_compiles_the_same_cold_and_warm() -> None:
    flows, ports = _northd_flows()
    assert len(flows) > 60
    cold = {}
    for flow in flows:
        _cold()
        cold[flow] = _compile(flow, ports)
        # and the match alone, against a table that has never been used
        fresh = SymbolTable(DEFAULT_SYMBOLS)
        assert _outcome(compile_match, flow[3], fresh) == _outcome(compile_match, flow[3])
    _cold()
    for order in (flows, list(reversed(flows)), random.Random(7).sample(flows, len(flows))):
        lflow_mod.parsed_match.cache_clear()  # the normaliser's shared caches stay warm
        lflow_mod.parsed_actions.cache_clear()
        for flow in order:
            assert _compile(flow, ports) == cold[flow], flow


def _normalize_fresh(expr: Expr, **kw: Any) -> str:
    return _outcome(normalize, expr, SymbolTable(DEFAULT_SYMBOLS), **kw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=exprs(), max_flows=st.sampled_from([10_000, 64, 4, 1, 0]))
def test_random_expressions_normalize_the_same_cold_and_warm(expr: Expr, max_flows: int) -> None:
    kw: dict[str, Any] = {"address_sets": ADDRESS_SETS, "port_groups": PORT_GROUPS}
    want = _normalize_fresh(expr, max_flows=max_flows, **kw)
    assert _outcome(normalize, expr, max_flows=max_flows, **kw) == want
    # warm the shared cache with a generous limit, then ask again with this one
    _outcome(normalize, expr, **kw)
    assert _outcome(normalize, expr, max_flows=max_flows, **kw) == want
    # without the address sets and port groups: those results are never shared
    assert _outcome(normalize, expr, max_flows=max_flows) == _normalize_fresh(
        expr, max_flows=max_flows
    )


@pytest.mark.parametrize(
    "text",
    [
        "ip4.src != 1.2.3.4 && tcp.dst != 5",
        "ip6.src != ::1 && ip6.dst != ::2",
        "tcp.dst != 5 || udp.src < 7",
        "nd && nd.target == fe80::1",
        "!ip4",
        "ip4 == 0",
        '!(inport == "a")',
        "ip4.src == $as1 && tcp",
        "outport == @pg1",
        "ip4.src == $nope",
    ],
)
@pytest.mark.parametrize("max_flows", [10_000, 100, 3, 1, 0, -1])
def test_errors_are_the_same_cold_and_warm(text: str, max_flows: int) -> None:
    kw: dict[str, Any] = {"address_sets": {"as1": ["10.0.0.0/8"]}, "port_groups": {"pg1": ["a"]}}
    fresh = SymbolTable(DEFAULT_SYMBOLS)
    want = _outcome(compile_match, text, fresh, max_flows=max_flows, **kw)
    for _ in range(2):
        _outcome(compile_match, text, **kw)  # warm
        assert _outcome(compile_match, text, max_flows=max_flows, **kw) == want


def test_recursive_symbols_are_reported_cold_and_warm() -> None:
    table = DEFAULT_SYMTAB.extended(
        Field("f1", 8, prereqs="p3"), Predicate("p3", "ip4", prereqs="f1 == 1")
    )
    for _ in range(2):
        assert "Recursive symbol definition" in _outcome(compile_match, "f1 == 2", table)
        assert "Recursive symbol definition" in _outcome(compile_match, "tcp && p3", table)
        assert _outcome(compile_match, "tcp", table) == _outcome(compile_match, "tcp")


# ---------------------------------------------------------------------------- the lexer


class _PlainLexer(_Lexer):
    """The lexer as first written: blanks one character at a time, operators from the
    TokenKind enum, every hex letter scanned for a number."""

    def run(self) -> list[Token]:
        while self._skip_blanks():
            self._token_plain()
        self.tokens.append(Token(TokenKind.END, "", len(self.text)))
        return self.tokens

    def _skip_blanks(self) -> bool:
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c.isspace():
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end + 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("Unterminated comment", self.pos)
                self.pos = end + 2
            else:
                return True
        return False

    def _token_plain(self) -> None:
        text, start = self.text, self.pos
        c = text[start]
        if c == '"':
            self._string()
        elif c in "$@":
            m = lexer_mod._NAME_RE.match(text, start + 1)
            if m is None:
                raise self.error(f"`{c}' must be followed by a name", start, start + 1)
            kind = TokenKind.MACRO if c == "$" else TokenKind.PORT_GROUP
            self._add(kind, start, m.end(), value=m.group())
        elif self._starts_number_plain(c, start):
            self._number()
        elif (m := lexer_mod._ID_RE.match(text, start)) is not None:
            self._add(TokenKind.ID, start, m.end(), value=m.group())
        else:
            for kind in lexer_mod._OPERATORS:
                if text.startswith(kind.value, start):
                    self._add(kind, start, start + len(kind.value))
                    return
            raise self.error(f"Invalid character `{c}'", start, start + 1)

    def _starts_number_plain(self, c: str, start: int) -> bool:
        if c.isdigit():
            return True
        if c == ":":
            return self.text.startswith("::", start)
        if c not in "0123456789abcdefABCDEF":
            return False
        num = _scan_number(self.text, start)
        return num is not None and num[1] in (IntFormat.ETHERNET, IntFormat.IPV6)


def _tokens(lexer: _Lexer) -> str:
    try:
        return repr(lexer.run())
    except LogicalSyntaxError as err:
        return f"{type(err).__name__}: {err}"


_PIECES = [
    " ", "\t", "\n", "\u00a0", "\u2003", "//", "/*", "*/", "/", "*", "<->", "<", "<=", "->",
    "-", "--", "=", "==", "!", "!=", "&&", "&", "|", "||", "..", ".", ":", "::", ",", ";",
    "(", ")", "{", "}", "[", "]", "a", "f", "g", "ab", "0", "1", "12", "0x1f", "10.0.0.1",
    "00:11:22:33:44:55", "fe80::1", "::1", "ab:cd", "ip4", "eth.src", "reg0", "_x", '"s"',
    '"', "$as", "@pg", "/24", "/0xff", "#", "é",
]  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_lexer_matches_the_plain_lexer(text: str) -> None:
    assert _tokens(_Lexer(text)) == _tokens(_PlainLexer(text))


def test_lexer_matches_the_plain_lexer_on_northd_text() -> None:
    flows, _ = _northd_flows()
    for _, _, _, match, actions in flows:
        for text in (match, actions):
            assert repr(tokenize(text)) == _tokens(_PlainLexer(text))


def test_shared_results_are_bounded(monkeypatch: Any) -> None:
    """The per-table results start again once full, and give the same answers after."""
    from pyovn.logical import normalize as normalize_mod

    monkeypatch.setattr(normalize_mod, "_MAX_SHARED_RESULTS", 5)
    clear_caches(DEFAULT_SYMTAB)
    matches = [f'inport == "p{i}" && ip4.src == 10.0.0.{i}' for i in range(20)]
    first = [compile_match(m) for m in matches]
    assert len(normalize_mod._shared(DEFAULT_SYMTAB).results) <= 5
    assert [compile_match(m) for m in matches] == first
