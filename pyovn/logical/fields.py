"""The symbol table: every field, subfield and predicate a logical flow may name.

The table is data: one tuple of frozen dataclasses (:data:`DEFAULT_SYMBOLS`). To add a symbol,
add a row. Four kinds of rows:

* :class:`Field`: a packet header or metadata field with its own storage (``eth.src``,
  ``reg0``, ``inport``). ``width == 0`` means a string field (logical port names). A field
  that OpenFlow can mask bit by bit is *ordinal*; otherwise it is *nominal* (equality only).
* :class:`Subfield`: a bit range of another symbol (``vlan.vid`` is ``vlan.tci[0..11]``).
* :class:`Overlay`: a wide register made of 32-bit registers, most significant first
  (``xxreg0`` is ``reg0 reg1 reg2 reg3``).
* :class:`Predicate`: a name for a boolean expression (``ip4`` is ``eth.type == 0x800``).

Any row may have prerequisites: an expression (text) implied by every use of the symbol
(``tcp.dst`` requires ``tcp``). A subfield also carries its parent's prerequisites.

The *storage* of a symbol is the base field (or fields) that hold its bits;
:meth:`SymbolTable.segments` maps symbol bits to storage bits. Normalized matches name storage
fields only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any

from pyovn.logical.lexer import TokenKind, tokenize


class Level(Enum):
    """Level of measurement (ovn-sb(5), "Level of Measurement")."""

    ORDINAL = "ordinal"  # bits can be examined one by one: all relations allowed
    NOMINAL = "nominal"  # only == (and != under an odd number of `!')
    BOOLEAN = "boolean"  # predicates over ordinal fields only


@dataclass(frozen=True)
class Field:
    """A field with its own storage. ``width == 0`` means a string field."""

    name: str
    width: int
    maskable: bool = True
    prereqs: str | None = None
    writable: bool = True
    storage: str | None = None  # share the storage of another field (e.g. rarp.op -> arp.op)
    doc: str = ""


@dataclass(frozen=True)
class Subfield:
    """Bits ``lo..hi`` of ``parent``."""

    name: str
    parent: str
    lo: int
    hi: int
    prereqs: str | None = None
    doc: str = ""


@dataclass(frozen=True)
class Overlay:
    """A register made of 32-bit registers ``parts``, most significant first."""

    name: str
    parts: tuple[str, ...]
    doc: str = ""


@dataclass(frozen=True)
class Predicate:
    """A boolean expression with a name."""

    name: str
    expansion: str
    prereqs: str | None = None
    doc: str = ""


Symbol = Field | Subfield | Overlay | Predicate


@dataclass(frozen=True)
class Segment:
    """Symbol bits ``[ref_lo, ref_lo + nbits)`` live in ``storage`` bits from ``storage_lo``."""

    storage: str
    storage_lo: int
    ref_lo: int
    nbits: int


def _bits(prefix: str, parent: str, bits: Iterable[tuple[str, int]], **kw: str) -> list[Subfield]:
    return [Subfield(f"{prefix}.{name}", parent, bit, bit, **kw) for name, bit in bits]


def _default_symbols() -> tuple[Symbol, ...]:
    rows: list[Symbol] = [
        # Logical metadata.
        Field("inport", 0, maskable=False, doc="logical input port name"),
        Field("outport", 0, maskable=False, doc="logical output port or multicast group"),
        Field("flags", 32, doc="logical flags (OVN's MLF_* bit layout)"),
        *_bits(
            "flags",
            "flags",
            [
                ("loopback", 0),
                ("force_snat_for_dnat", 2),
                ("force_snat_for_lb", 3),
                ("skip_snat_for_lb", 9),
                ("use_snat_zone", 11),
                ("localnet", 15),
            ],
        ),
        Field("pkt.mark", 32),
        *(Field(f"reg{i}", 32) for i in range(10)),
        *(Overlay(f"xreg{i}", (f"reg{2 * i}", f"reg{2 * i + 1}")) for i in range(5)),
        *(Overlay(f"xxreg{i}", tuple(f"reg{4 * i + j}" for j in range(4))) for i in range(2)),
        # Connection tracking.
        Field("ct_state", 32, writable=False),
        Subfield("ct.trk", "ct_state", 5, 5),
        *_bits(
            "ct",
            "ct_state",
            [("new", 0), ("est", 1), ("rel", 2), ("rpl", 3), ("inv", 4), ("snat", 6), ("dnat", 7)],
            prereqs="ct.trk",
        ),
        Field("ct_mark", 32, writable=False, doc="written only inside ct_commit { }"),
        *_bits("ct_mark", "ct_mark", [("blocked", 0), ("natted", 1)]),
        Subfield("ct_mark.ecmp_reply_port", "ct_mark", 16, 31),
        Field("ct_label", 128, writable=False, doc="written only inside ct_commit { }"),
        *_bits("ct_label", "ct_label", [("blocked", 0), ("natted", 1)]),
        Subfield("ct_label.ecmp_reply_eth", "ct_label", 32, 79),
        Subfield("ct_label.ecmp_reply_port", "ct_label", 80, 95),
        Subfield("ct_label.label", "ct_label", 96, 127),
        # Ethernet and VLAN.
        Field("eth.src", 48),
        Field("eth.dst", 48),
        Field("eth.type", 16, maskable=False, writable=False),
        Predicate("eth.bcast", "eth.dst == ff:ff:ff:ff:ff:ff"),
        Predicate("eth.mcast", "eth.dst[40]"),
        Predicate("eth.ucast", "eth.dst[40] == 0"),
        Field("vlan.tci", 16),
        Predicate("vlan.present", "vlan.tci[12]"),
        Subfield("vlan.vid", "vlan.tci", 0, 11, prereqs="vlan.present"),
        Subfield("vlan.pcp", "vlan.tci", 13, 15, prereqs="vlan.present"),
        # L3 predicates.
        Predicate("ip4", "eth.type == 0x800"),
        Predicate("ip6", "eth.type == 0x86dd"),
        Predicate("ip", "ip4 || ip6"),
        Predicate("arp", "eth.type == 0x806"),
        Predicate("rarp", "eth.type == 0x8035"),
        Predicate("ip4.src_mcast", "ip4.src[28..31] == 0xe"),
        Predicate("ip4.mcast", "ip4.dst[28..31] == 0xe"),
        Predicate("ip6.mcast", "ip6.dst[120..127] == 0xff"),
        Predicate("ip.is_frag", "ip.frag[0]"),
        Predicate("ip.later_frag", "ip.frag[1]"),
        Predicate("ip.first_frag", "ip.is_frag && !ip.later_frag"),
        Predicate("icmp4", "ip4 && ip.proto == 1"),
        Predicate("icmp6", "ip6 && ip.proto == 58"),
        Predicate("icmp", "icmp4 || icmp6"),
        Predicate("igmp", "ip4 && ip.proto == 2"),
        Predicate("tcp", "ip.proto == 6"),
        Predicate("udp", "ip.proto == 17"),
        Predicate("sctp", "ip.proto == 132"),
        Predicate("nd", "icmp6.type == {135, 136} && icmp6.code == 0 && ip.ttl == 255"),
        Predicate("nd_ns", "icmp6.type == 135 && icmp6.code == 0 && ip.ttl == 255"),
        Predicate("nd_na", "icmp6.type == 136 && icmp6.code == 0 && ip.ttl == 255"),
        Predicate("nd_rs", "icmp6.type == 133 && icmp6.code == 0 && ip.ttl == 255"),
        Predicate("nd_ra", "icmp6.type == 134 && icmp6.code == 0 && ip.ttl == 255"),
        # IP.
        Field("ip.proto", 8, maskable=False, prereqs="ip", writable=False),
        Field("ip.dscp", 6, maskable=False, prereqs="ip"),
        Field("ip.ecn", 2, maskable=False, prereqs="ip"),
        Field("ip.ttl", 8, maskable=False, prereqs="ip"),
        Field("ip.frag", 8, prereqs="ip", writable=False),
        Field("ip4.src", 32, prereqs="ip4"),
        Field("ip4.dst", 32, prereqs="ip4"),
        Field("ip6.src", 128, prereqs="ip6"),
        Field("ip6.dst", 128, prereqs="ip6"),
        Field("ip6.label", 20, prereqs="ip6"),
        # ARP (RARP shares the storage of ARP).
        Field("arp.op", 16, maskable=False, prereqs="arp"),
        Field("arp.spa", 32, prereqs="arp"),
        Field("arp.tpa", 32, prereqs="arp"),
        Field("arp.sha", 48, prereqs="arp"),
        Field("arp.tha", 48, prereqs="arp"),
        *(
            Field(f"rarp.{n}", w, maskable=n != "op", prereqs="rarp", storage=f"arp.{n}")
            for n, w in (("op", 16), ("spa", 32), ("tpa", 32), ("sha", 48), ("tha", 48))
        ),
        # L4.
        Field("tcp.src", 16, prereqs="tcp"),
        Field("tcp.dst", 16, prereqs="tcp"),
        Field("tcp.flags", 12, prereqs="tcp"),
        Field("udp.src", 16, prereqs="udp"),
        Field("udp.dst", 16, prereqs="udp"),
        Field("sctp.src", 16, prereqs="sctp"),
        Field("sctp.dst", 16, prereqs="sctp"),
        Field("icmp4.type", 8, maskable=False, prereqs="icmp4"),
        Field("icmp4.code", 8, maskable=False, prereqs="icmp4"),
        Field("icmp6.type", 8, maskable=False, prereqs="icmp6"),
        Field("icmp6.code", 8, maskable=False, prereqs="icmp6"),
        Field("nd.target", 128, prereqs="nd"),
        Field("nd.sll", 48, prereqs="nd_ns"),
        Field("nd.tll", 48, prereqs="nd_na"),
    ]
    return tuple(rows)


@dataclass(frozen=True)
class SymbolTable:
    """An immutable, validated set of symbols with lookups by name."""

    symbols: tuple[Symbol, ...]
    _by_name: dict[str, Symbol] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, Symbol] = {}
        for sym in self.symbols:
            if sym.name in by_name:
                raise ValueError(f"duplicate symbol {sym.name}")
            by_name[sym.name] = sym
        object.__setattr__(self, "_by_name", by_name)
        for sym in self.symbols:
            self._validate(sym)

    def _validate(self, sym: Symbol) -> None:
        if isinstance(sym, Subfield):
            parent = self._by_name.get(sym.parent)
            if parent is None or isinstance(parent, Predicate):
                raise ValueError(f"{sym.name}: bad parent {sym.parent}")
            if not 0 <= sym.lo <= sym.hi < self.width(sym.parent):
                raise ValueError(f"{sym.name}: bits out of range of {sym.parent}")
        elif isinstance(sym, Overlay):
            for part in sym.parts:
                target = self._by_name.get(part)
                if not isinstance(target, Field) or target.width != 32:
                    raise ValueError(f"{sym.name}: {part} is not a 32-bit field")
        elif isinstance(sym, Field) and sym.storage is not None:
            target = self._by_name.get(sym.storage)
            if not isinstance(target, Field) or target.width != sym.width:
                raise ValueError(f"{sym.name}: storage {sym.storage} does not match")

    def extended(self, *symbols: Symbol) -> SymbolTable:
        """A new table with ``symbols`` added."""
        return SymbolTable(self.symbols + tuple(symbols))

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Symbol]:
        return iter(self.symbols)

    def __getitem__(self, name: str) -> Symbol:
        return self._by_name[name]

    def get(self, name: str) -> Symbol | None:
        return self._by_name.get(name)

    def width(self, name: str) -> int:
        """Width in bits (0 for string fields, 1 for predicates)."""
        sym = self._by_name[name]
        if isinstance(sym, Field):
            return sym.width
        if isinstance(sym, Subfield):
            return sym.hi - sym.lo + 1
        if isinstance(sym, Overlay):
            return 32 * len(sym.parts)
        return 1

    def is_string(self, name: str) -> bool:
        sym = self._by_name[name]
        return isinstance(sym, Field) and sym.width == 0

    def is_predicate(self, name: str) -> bool:
        return isinstance(self._by_name[name], Predicate)

    def root(self, name: str) -> Field | Overlay:
        """The symbol that owns the bits of ``name`` (itself unless a subfield)."""
        sym = self._by_name[name]
        while isinstance(sym, Subfield):
            sym = self._by_name[sym.parent]
        assert isinstance(sym, Field | Overlay), name
        return sym

    def level(self, name: str) -> Level:
        return self._levels[name]

    @cached_property
    def _levels(self) -> dict[str, Level]:
        levels: dict[str, Level] = {}

        def level_of(name: str, visiting: frozenset[str]) -> Level:
            if name in levels:
                return levels[name]
            if name in visiting:
                raise ValueError(f"predicate {name} refers to itself")
            sym = self._by_name[name]
            if isinstance(sym, Predicate):
                result = Level.BOOLEAN
                for tok in tokenize(sym.expansion):
                    if tok.kind is TokenKind.ID and tok.value in self._by_name:
                        sub = level_of(str(tok.value), visiting | {name})
                        if sub is Level.NOMINAL:
                            result = Level.NOMINAL
            else:
                root = self.root(name)
                nominal = isinstance(root, Field) and not root.maskable
                result = Level.NOMINAL if nominal else Level.ORDINAL
            levels[name] = result
            return result

        for sym in self.symbols:
            level_of(sym.name, frozenset())
        return levels

    @cached_property
    def memo(self) -> dict[str, Any]:
        """Scratch space for caches of results that depend on this table only (e.g. the
        normaliser's prerequisite and predicate expansions). Not part of equality."""
        return {}

    def writable(self, name: str) -> bool:
        sym = self._by_name[name]
        if isinstance(sym, Predicate):
            return False
        root = self.root(name)
        return isinstance(root, Overlay) or root.writable

    def prerequisites(self, name: str) -> tuple[str, ...]:
        """Prerequisite expressions (text) of ``name``, its own first, then its parents'."""
        out: list[str] = []
        sym: Symbol | None = self._by_name[name]
        while sym is not None:
            if not isinstance(sym, Overlay) and sym.prereqs:
                out.append(sym.prereqs)
            sym = self._by_name[sym.parent] if isinstance(sym, Subfield) else None
        return tuple(out)

    def segments(
        self, name: str, lo: int | None = None, hi: int | None = None
    ) -> tuple[Segment, ...]:
        """Where bits ``lo..hi`` of ``name`` (default: all) are stored.

        ``ref_lo`` in each segment counts from ``lo`` (bit 0 of the reference).
        """
        width = self.width(name)
        lo = 0 if lo is None else lo
        hi = width - 1 if hi is None else hi
        sym = self._by_name[name]
        if isinstance(sym, Subfield):
            return self.segments(sym.parent, sym.lo + lo, sym.lo + hi)
        if isinstance(sym, Field):
            return (Segment(sym.storage or sym.name, lo, 0, hi - lo + 1),)
        if isinstance(sym, Overlay):
            out = []
            for index, part in enumerate(reversed(sym.parts)):
                part_lo, part_hi = 32 * index, 32 * index + 31
                a, b = max(lo, part_lo), min(hi, part_hi)
                if a <= b:
                    out.append(Segment(part, a - part_lo, a - lo, b - a + 1))
            return tuple(out)
        raise ValueError(f"{name} is a predicate; it has no storage")

    def storage_fields(self) -> dict[str, int]:
        """Every storage field with its width (0 for strings): the shape of a packet."""
        return {
            sym.name: sym.width
            for sym in self.symbols
            if isinstance(sym, Field) and sym.storage is None
        }


DEFAULT_SYMBOLS: tuple[Symbol, ...] = _default_symbols()
DEFAULT_SYMTAB = SymbolTable(DEFAULT_SYMBOLS)
