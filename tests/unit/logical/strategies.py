"""Hypothesis strategies: random well-formed match ASTs and packets that exercise them.

Generated ASTs are in parser-normal form (flattened &&/||, braces on sets), obey OVN's typing
rules, and test nominal fields/predicates only positively, so that ``parse_expr`` accepts
their text and normalization succeeds (within the flow limit, usually).
"""

from __future__ import annotations

from hypothesis import strategies as st

from pyovn.logical.expr import (
    Bare,
    BoolConst,
    ChassisResident,
    Cmp,
    Expr,
    Not,
    RelOp,
    conj,
    disj,
    symbols_used,
)
from pyovn.logical.expr_parser import parse_expr
from pyovn.logical.fields import DEFAULT_SYMTAB, Overlay, Predicate, Subfield
from pyovn.logical.values import (
    AddressSetRef,
    FieldRef,
    IntConst,
    IntFormat,
    PortGroupRef,
    StrConst,
)

ADDRESS_SETS = {"as1": ("10.0.0.1", "10.0.0.0/30", "192.168.1.5")}
PORT_GROUPS = {"pg1": ("lp1", "vm1"), "empty": ()}
PORTS = ("lp1", "lp2", "vm1", "_MC_flood")
RESIDENT_PORTS = ("cr-lrp1", "cr-lrp2")

# Ordinal references: (field, width), small enough to keep flows bounded.
ORDINAL_REFS = [
    FieldRef("tcp.dst"),
    FieldRef("udp.src"),
    FieldRef("vlan.vid"),
    FieldRef("reg0", 0, 3),
    FieldRef("xreg0", 30, 33),
    FieldRef("ct_mark", 0, 7),
    FieldRef("ip4.src", 24, 31),
    FieldRef("eth.dst", 40, 47),
    FieldRef("ip.frag", 0, 1),
]
ONE_BIT_REFS = [
    FieldRef("ct.est"),
    FieldRef("ct.trk"),
    FieldRef("flags.loopback"),
    FieldRef("eth.src", 40, 40),
    FieldRef("vlan.tci", 12, 12),
    FieldRef("reg0", 5, 5),
]
EQ_ONLY_REFS = [FieldRef("ip4.src"), FieldRef("eth.src"), FieldRef("ip6.dst"), FieldRef("arp.tpa")]
BOOLEAN_PREDICATES = ["vlan.present", "eth.mcast", "ip.first_frag", "ip4.mcast", "eth.ucast"]
NOMINAL_PREDICATES = ["ip4", "ip6", "ip", "tcp", "udp", "arp", "icmp4", "nd_ns", "nd"]
NOMINAL_VALUES = {
    "eth.type": (0x800, 0x86DD, 0x806),
    "ip.proto": (1, 6, 17, 58),
    "ip.ttl": (0, 1, 255),
    "icmp6.type": (135, 136),
}

INTERESTING = (0, 1, 2, 3, 5, 7, 8, 15, 16, 80, 255, 1000, 2000, 4095)


def ref_width(ref: FieldRef) -> int:
    if ref.lo is not None and ref.hi is not None:
        return ref.hi - ref.lo + 1
    return DEFAULT_SYMTAB.width(ref.name)


def _fmt_for(width: int) -> st.SearchStrategy[IntFormat]:
    fmts = [IntFormat.DECIMAL, IntFormat.HEXADECIMAL]
    if width == 48:
        fmts.append(IntFormat.ETHERNET)
    elif width == 32:
        fmts.append(IntFormat.IPV4)
    elif width == 128:
        fmts.append(IntFormat.IPV6)
    return st.sampled_from(fmts)


@st.composite
def int_consts(draw, width: int, masked: bool = True) -> IntConst:
    top = (1 << width) - 1
    value = draw(st.one_of(st.sampled_from(INTERESTING), st.integers(0, top))) & top
    mask = None
    if masked and draw(st.booleans()):
        mask = draw(st.integers(0, top))
        value &= mask
    return IntConst(value, mask, draw(_fmt_for(width)))


@st.composite
def ordinal_cmps(draw) -> Expr:
    ref = draw(st.sampled_from(ORDINAL_REFS + EQ_ONLY_REFS))
    width = ref_width(ref)
    if ref in EQ_ONLY_REFS:
        op = draw(st.sampled_from([RelOp.EQ, RelOp.NE] if width <= 32 else [RelOp.EQ]))
    else:
        op = draw(st.sampled_from(list(RelOp)))
    if op.relational:
        return Cmp(ref, op, (draw(int_consts(width, masked=False)),))
    if ref == FieldRef("ip4.src") and draw(st.booleans()):
        return Cmp(ref, op, (AddressSetRef("as1"),))
    n = draw(st.integers(0, 3)) if width <= 16 else 1
    values = tuple(draw(int_consts(width)) for _ in range(max(n, 0)))
    if not values:
        return Cmp(ref, op, (), braced=True)
    return Cmp(ref, op, values, braced=len(values) > 1 or draw(st.booleans()))


@st.composite
def nominal_leaves(draw) -> Expr:
    """Leaves that OVN only allows in a positive sense."""
    kind = draw(st.sampled_from(["field", "port", "pred"]))
    if kind == "pred":
        name = draw(st.sampled_from(NOMINAL_PREDICATES))
        if draw(st.booleans()):
            return Bare(FieldRef(name))
        return Cmp(FieldRef(name), RelOp.EQ, (IntConst(1),))
    if kind == "port":
        ref = FieldRef(draw(st.sampled_from(["inport", "outport"])))
        values = draw(
            st.lists(
                st.one_of(
                    st.sampled_from(PORTS).map(StrConst),
                    st.sampled_from(sorted(PORT_GROUPS)).map(PortGroupRef),
                ),
                min_size=1,
                max_size=3,
            )
        )
        return Cmp(ref, RelOp.EQ, tuple(values), braced=len(values) > 1)
    name = draw(st.sampled_from(sorted(NOMINAL_VALUES)))
    values = draw(st.lists(st.sampled_from(NOMINAL_VALUES[name]), min_size=1, max_size=2))
    consts = tuple(IntConst(v, None, IntFormat.HEXADECIMAL) for v in values)
    return Cmp(FieldRef(name), RelOp.EQ, consts, braced=len(consts) > 1)


@st.composite
def any_polarity_leaves(draw) -> Expr:
    kind = draw(st.sampled_from(["cmp", "cmp", "cmp", "bit", "pred", "bool", "chassis"]))
    if kind == "cmp":
        return draw(ordinal_cmps())
    if kind == "bit":
        return Bare(draw(st.sampled_from(ONE_BIT_REFS)))
    if kind == "pred":
        name = draw(st.sampled_from(BOOLEAN_PREDICATES))
        if draw(st.booleans()):
            return Bare(FieldRef(name))
        op = draw(st.sampled_from([RelOp.EQ, RelOp.NE]))
        return Cmp(FieldRef(name), op, (IntConst(draw(st.integers(0, 1))),))
    if kind == "bool":
        return BoolConst(draw(st.booleans()))
    return ChassisResident(draw(st.sampled_from(RESIDENT_PORTS)))


def exprs(depth: int = 3, positive: bool = True) -> st.SearchStrategy[Expr]:
    """Random match ASTs; ``positive`` tells whether we are under an even number of `!'."""
    leaves = any_polarity_leaves()
    if positive:
        leaves = st.one_of(leaves, nominal_leaves())
    if depth == 0:
        return leaves

    def compound(draw_from: st.DrawFn) -> Expr:
        kind = draw_from(st.sampled_from(["and", "or", "not"]))
        if kind == "not":
            return Not(draw_from(exprs(depth - 1, not positive)))
        terms = draw_from(st.lists(exprs(depth - 1, positive), min_size=2, max_size=3))
        return conj(*terms) if kind == "and" else disj(*terms)

    return st.one_of(leaves, leaves, st.composite(compound)())


def constants_in(expr: Expr) -> set[int]:
    """Integer constants appearing in ``expr`` (to aim random packets at them)."""
    out: set[int] = set()
    if isinstance(expr, Cmp):
        top_bit = 1 << max(ref_width(expr.field) - 1, 0)
        for v in expr.values:
            if isinstance(v, IntConst):
                out.update({v.value, v.value + 1, max(v.value - 1, 0), v.value ^ top_bit})
                if v.mask is not None:
                    out.add(v.value | (~v.mask & 0xFFFF))
    elif isinstance(expr, Not):
        out |= constants_in(expr.expr)
    elif hasattr(expr, "terms"):
        for t in expr.terms:  # type: ignore[union-attr]
            out |= constants_in(t)
    return out


DEFAULT_VALUES = {
    "eth.type": (0x800, 0x800, 0x86DD, 0x86DD, 0x806, 0x8035, 0x1234),
    "ip.proto": (1, 6, 6, 17, 17, 58, 58, 2, 132, 99),
    "ip.ttl": (0, 1, 64, 255),
    "icmp6.type": (128, 133, 134, 135, 136),
    "icmp6.code": (0, 1),
    "icmp4.type": (0, 3, 8),
    "icmp4.code": (0, 1),
    "ip.frag": (0, 1, 2, 3),
    "ct_state": (0, 0x20, 0x21, 0x22, 0x24, 0x2A, 0x02),
    "vlan.tci": (0, 0x1005, 0x0005, 0x1FFF, 0xF00A),
    "flags": (0, 1, 2, 3),
}


def relevant_storage(expr: Expr) -> frozenset[str]:
    """Storage fields that ``expr`` can depend on, through predicates and prerequisites.

    Computed from the symbol table rows directly (not with the normalizer under test).
    """
    out: set[str] = set()
    seen: set[str] = set()
    todo = list(symbols_used(expr))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        sym = DEFAULT_SYMTAB[name]
        texts = list(DEFAULT_SYMTAB.prerequisites(name))
        if isinstance(sym, Predicate):
            texts.append(sym.expansion)
        elif isinstance(sym, Subfield):
            todo.append(sym.parent)
        elif isinstance(sym, Overlay):
            out.update(sym.parts)
        else:
            out.add(sym.storage or sym.name)
        for text in texts:
            todo.extend(symbols_used(parse_expr(text)))
    return frozenset(out)


_ND = {"ip.proto": 58, "icmp6.code": 0, "ip.ttl": 255}
PROFILES: tuple[dict[str, int], ...] = (
    {},
    {"eth.type": 0x800, "ip.proto": 6},
    {"eth.type": 0x86DD, "ip.proto": 6},
    {"eth.type": 0x800, "ip.proto": 17},
    {"eth.type": 0x86DD, "ip.proto": 17},
    {"eth.type": 0x800, "ip.proto": 1},
    {"eth.type": 0x86DD, "icmp6.type": 135, **_ND},
    {"eth.type": 0x86DD, "icmp6.type": 136, **_ND},
    {"eth.type": 0x806},
)


@st.composite
def packets(
    draw, aim: frozenset[int] = frozenset(), fields: frozenset[str] | None = None
) -> dict[str, int | str]:
    """A packet; values biased to ``aim`` and to common protocol values.

    Only ``fields`` (default: all storage fields) are drawn; the others are absent (0 / "").
    """
    packet: dict[str, int | str] = {}
    profile = draw(st.sampled_from(PROFILES))
    for name, width in DEFAULT_SYMTAB.storage_fields().items():
        if fields is not None and name not in fields:
            continue
        if name in profile and draw(st.integers(0, 9)) < 8:
            packet[name] = profile[name]
            continue
        if width == 0:
            packet[name] = draw(st.sampled_from(PORTS))
            continue
        top = (1 << width) - 1
        near = sorted(v for v in aim if v <= top)
        source = draw(st.integers(0, 9))
        if name in DEFAULT_VALUES and source < 8:
            packet[name] = draw(st.sampled_from(DEFAULT_VALUES[name]))
        elif near and source < 7:
            packet[name] = draw(st.sampled_from(near))
        elif near and source < 9:
            # Aimed values in high bits too, for subfields like ip4.src[24..31].
            shift = draw(st.sampled_from(sorted({0, 24, 30, 32, 40} & set(range(width)))))
            packet[name] = (draw(st.sampled_from(near)) << shift) & top
        else:
            packet[name] = draw(st.integers(0, top))
    return packet
