"""Compiling Southbound logical flows into the flow IR.

Each logical flow's match is normalised (pyovn.logical) into match sets, port names become
port keys of the flow's datapath, and each action compiles itself through the action
registry with a ``CompileContext``. Parsed matches and actions are cached by their text, so
ten thousand flows that share a few hundred distinct strings parse a few hundred times.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pyovn.datapath.flows import (
    INPORT,
    METADATA,
    OUTPORT,
    PORT_SEC,
    T_CHK_IN_PORT_SEC,
    T_CHK_OUT_PORT_SEC,
    T_LOG_EGRESS,
    T_LOG_INGRESS,
    T_LOG_TO_PHY,
    T_REMOTE_OUTPUT,
    Flow,
    Move,
    Resubmit,
    SetField,
)
from pyovn.logical.errors import LogicalSyntaxError
from pyovn.logical.fields import DEFAULT_SYMTAB, SymbolTable
from pyovn.logical.matchset import MatchSet
from pyovn.logical.template import templated_actions, templated_match
from pyovn.logical.values import FieldRef, IntConst, StrConst

log = logging.getLogger("pyovn.controller")

# Logical string fields live in these IR fields, as port keys.
STRING_FIELDS = {"inport": INPORT, "outport": OUTPORT}
SWAP = "swap"  # scratch field for exchanges


class CompileError(Exception):
    pass


@lru_cache(maxsize=65536)
def parsed_match(text: str) -> tuple[MatchSet, ...]:
    """``compile_match(text)``; a text not seen before whose only novelty is its port names,
    MACs and IPv4 addresses is built from a parse-once template (pyovn.logical.template)."""
    return templated_match(text)


@lru_cache(maxsize=65536)
def parsed_actions(text: str) -> tuple[Any, ...]:
    """``parse_actions(text)``, through the action templates likewise."""
    return templated_actions(text)


@dataclass
class CompileContext:
    """What an action's ``compile`` needs: where "next" and "output" go, port keys, fields."""

    pipeline: str  # "ingress" or "egress"
    table: int  # the logical table of the flow being compiled
    port_key: Callable[[str], int | None]
    symtab: SymbolTable = field(default=DEFAULT_SYMTAB)

    @property
    def base(self) -> int:
        return T_LOG_INGRESS if self.pipeline == "ingress" else T_LOG_EGRESS

    def next_table(self, table: int | None, pipeline: str | None) -> int:
        if pipeline is not None and pipeline != self.pipeline:
            base = T_LOG_INGRESS if pipeline == "ingress" else T_LOG_EGRESS
            return base + (table or 0)
        return self.base + (self.table + 1 if table is None else table)

    def output_table(self) -> int:
        return T_REMOTE_OUTPUT if self.pipeline == "ingress" else T_LOG_TO_PHY

    def _key(self, name: str) -> int:
        key = self.port_key(name)
        if key is None:
            raise CompileError(f"unknown logical port {name!r}")
        return key

    def load(self, dst: FieldRef, value: IntConst | StrConst) -> list[Any]:
        if isinstance(value, StrConst):
            target = STRING_FIELDS.get(dst.name)
            if target is None:
                raise CompileError(f"cannot assign a string to {dst.name}")
            return [SetField(target, self._key(value.value))]
        out = []
        for seg in self.symtab.segments(dst.name, dst.lo, dst.hi):
            bits = (value.value >> seg.ref_lo) & ((1 << seg.nbits) - 1)
            mask = ((1 << seg.nbits) - 1) << seg.storage_lo
            if value.mask is not None:
                mask &= ((value.mask >> seg.ref_lo) & ((1 << seg.nbits) - 1)) << seg.storage_lo
            out.append(SetField(seg.storage, bits << seg.storage_lo, mask))
        return out

    def move(self, src: FieldRef, dst: FieldRef) -> list[Any]:
        if src.name in STRING_FIELDS or dst.name in STRING_FIELDS:
            s, d = STRING_FIELDS.get(src.name), STRING_FIELDS.get(dst.name)
            if s is None or d is None:
                raise CompileError("string fields move only to string fields")
            return [Move(s, 0, d, 0, 32)]
        out = []
        src_segs = self.symtab.segments(src.name, src.lo, src.hi)
        dst_segs = self.symtab.segments(dst.name, dst.lo, dst.hi)
        # split both sides into pieces at every segment boundary of either side
        cuts = sorted(
            {
                0,
                *(s.ref_lo for s in src_segs),
                *(s.ref_lo + s.nbits for s in src_segs),
                *(s.ref_lo for s in dst_segs),
                *(s.ref_lo + s.nbits for s in dst_segs),
            }
        )
        for lo, hi in itertools.pairwise(cuts):
            s = next(x for x in src_segs if x.ref_lo <= lo < x.ref_lo + x.nbits)
            d = next(x for x in dst_segs if x.ref_lo <= lo < x.ref_lo + x.nbits)
            out.append(
                Move(
                    s.storage,
                    s.storage_lo + lo - s.ref_lo,
                    d.storage,
                    d.storage_lo + lo - d.ref_lo,
                    hi - lo,
                )
            )
        return out

    def no_port(self, dst: FieldRef) -> list[Any]:
        """dst = the "none" port (key 0)."""
        target = STRING_FIELDS.get(dst.name)
        if target is None:
            raise CompileError(f"{dst.name} is not a logical port field")
        return [SetField(target, 0)]

    def port_security(self, dst: FieldRef, ingress: bool) -> list[Any]:
        """dst = 1 unless the port security table (physical.py) clears the verdict."""
        table = T_CHK_IN_PORT_SEC if ingress else T_CHK_OUT_PORT_SEC
        out: list[Any] = [SetField(PORT_SEC, 1), Resubmit(table)]
        for seg in self.symtab.segments(dst.name, dst.lo, dst.hi):
            out.append(Move(PORT_SEC, seg.ref_lo, seg.storage, seg.storage_lo, seg.nbits))
        return out

    def exchange(self, a: FieldRef, b: FieldRef) -> list[Any]:
        """a <-> b as three moves through a scratch field."""
        out: list[Any] = []
        for seg in self.symtab.segments(a.name, a.lo, a.hi):
            out.append(Move(seg.storage, seg.storage_lo, SWAP, seg.ref_lo, seg.nbits))
        out.extend(self.move(b, a))
        for seg in self.symtab.segments(b.name, b.lo, b.hi):
            out.append(Move(SWAP, seg.ref_lo, seg.storage, seg.storage_lo, seg.nbits))
        return out


def compile_lflow(
    pipeline: str,
    table: int,
    priority: int,
    match: str,
    actions: str,
    dp_key: int,
    port_keys: Mapping[str, int],
    resident: Callable[[str], bool] = lambda name: False,
    cookie: str = "",
) -> list[Flow]:
    """The IR flows for one logical flow on one datapath. Raises CompileError (or a
    LogicalSyntaxError) when the flow cannot be compiled."""
    ctx = CompileContext(pipeline, table, port_keys.get)
    ir_actions: list[Any] = []
    for action in parsed_actions(actions):
        try:
            ir_actions.extend(action.compile(ctx))
        except NotImplementedError as exc:
            raise CompileError(str(exc)) from None
    base = ctx.base
    flows = []
    for ms in parsed_match(match):
        spec: dict[str, tuple[int, int]] = {METADATA: (dp_key, -1)}
        ok = True
        for name, want in ms.fields:
            if isinstance(want, str):
                key = port_keys.get(want)
                if key is None:
                    ok = False  # a port not in this datapath: the flow cannot match
                    break
                spec[STRING_FIELDS[name]] = (key, -1)
            else:
                spec[name] = want
        if not ok:
            continue
        if any(resident(port) != want for port, want in ms.resident):
            continue
        flows.append(Flow.make(base + table, priority, spec, tuple(ir_actions), cookie))
    return flows


__all__ = [
    "CompileError",
    "LogicalSyntaxError",
    "compile_lflow",
    "pipeline_port",
    "required_inport",
]


def required_inport(match: str) -> str | None:
    """The port a match requires as a whole: NAME when ``inport == "NAME"`` is one of its
    top-level conjuncts (no ``||`` anywhere, not inside parentheses or a negation), else
    None. A text scan, so that a chassis can leave out the ingress flows of ports bound
    elsewhere without parsing them; anything unusual gives None (the flow is kept)."""
    return required_port(match, "inport")


def pipeline_port(pipeline: str, match: str) -> str | None:
    """The port whose presence on this chassis a flow needs: the required ``inport`` of an
    ingress flow (packets enter the ingress pipeline where their inport is bound), the
    required ``outport`` of an egress flow (the egress pipeline runs where the outport is
    bound: physical.py sends other ports' packets into a tunnel before it)."""
    if pipeline == "ingress":
        return required_port(match, "inport")
    if pipeline == "egress":
        return required_port(match, "outport")
    return None


@lru_cache(maxsize=65536)
def required_port(match: str, field: str) -> str | None:
    """As ``required_inport``, for ``field`` (``inport`` or ``outport``)."""
    port_re = _PORT_RE[field]
    depth = 0
    i, n = 0, len(match)
    found: str | None = None
    last = "&&"  # what precedes the current position at depth 0: start counts as "&&"
    while i < n:
        c = match[i]
        if c == '"':
            end = match.find('"', i + 1)
            if end < 0 or "\\" in match[i + 1 : end]:
                return None
            i, last = end + 1, '"'
            continue
        if c.isspace():
            i += 1
            continue
        if match.startswith("||", i):
            return None
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and last == "&&" and found is None:
            m = port_re.match(match, i)
            if m is not None:
                rest = match[m.end() :].lstrip()
                if not rest or rest.startswith("&&"):
                    found = m.group(1)
                    i, last = m.end(), '"'
                    continue
        if match.startswith("&&", i):
            i, last = i + 2, "&&"
            continue
        i, last = i + 1, c
    return found if depth == 0 else None


_PORT_RE = {f: re.compile(f + r'\s*==\s*"([^"\\]+)"') for f in ("inport", "outport")}
