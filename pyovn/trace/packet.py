"""The logical packet that pyovn trace follows through the pipelines.

A :class:`Packet` maps every *storage* field of the symbol table (``eth.src``, ``reg0``,
``vlan.tci``; see :meth:`pyovn.logical.fields.SymbolTable.storage_fields`) to an integer, and
the string fields ``inport`` / ``outport`` to logical port names (``""`` when unset). Reads and
writes go through :meth:`SymbolTable.segments`, so subfields (``vlan.tci[0..11]``), overlays
(``xxreg0``) and shared storage (``rarp.op`` is ``arp.op``) behave as in OVN.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pyovn.logical.fields import DEFAULT_SYMTAB, Field, Overlay, SymbolTable
from pyovn.logical.values import FieldRef, IntFormat, format_int

FieldValue = int | str

#: OVN's name for "no logical port" (port key 0): ``outport == "none"`` matches an unset outport.
NO_PORT = "none"

#: Storage fields shown in their address notation (everything else is decimal).
_NOTATION = {
    **dict.fromkeys(("eth.src", "eth.dst", "arp.sha", "arp.tha", "nd.sll", "nd.tll"), "eth"),
    **dict.fromkeys(("ip4.src", "ip4.dst", "arp.spa", "arp.tpa"), "ip4"),
    **dict.fromkeys(("ip6.src", "ip6.dst", "nd.target"), "ip6"),
}
_FORMATS = {"eth": IntFormat.ETHERNET, "ip4": IntFormat.IPV4, "ip6": IntFormat.IPV6}

#: Roots that are metadata, not packet data: ovn-trace's minimal output leaves them out.
METADATA_ROOTS = frozenset({"inport", "outport", "flags", "ct_state", "ct_mark", "ct_label"})

#: Logical registers, cleared when a packet moves from the ingress to the egress pipeline.
REGISTERS = tuple(f"reg{i}" for i in range(10))


class Packet(Mapping[str, FieldValue]):
    """A mutable logical packet (``Mapping`` of storage field -> value)."""

    __slots__ = ("_fields", "symtab")

    def __init__(
        self,
        fields: Mapping[str, FieldValue] | None = None,
        symtab: SymbolTable = DEFAULT_SYMTAB,
    ) -> None:
        self.symtab = symtab
        self._fields: dict[str, FieldValue] = {
            name: ("" if width == 0 else 0) for name, width in symtab.storage_fields().items()
        }
        if fields:
            for name, value in fields.items():
                self.set_storage(name, value)

    # Mapping protocol: the storage view, as MatchSet.matches wants it.
    def __getitem__(self, name: str) -> FieldValue:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self._fields.items() if v not in (0, "")}
        return f"Packet({changed!r})"

    def copy(self) -> Packet:
        clone = Packet.__new__(Packet)
        clone.symtab = self.symtab
        clone._fields = dict(self._fields)
        return clone

    def set_storage(self, name: str, value: FieldValue) -> None:
        """Set a whole storage field (no subfields, no overlays)."""
        if name not in self._fields:
            raise KeyError(f"{name} is not a storage field")
        if isinstance(self._fields[name], str) != isinstance(value, str):
            raise TypeError(f"{name}: wrong kind of value {value!r}")
        self._fields[name] = value

    @property
    def inport(self) -> str:
        return str(self._fields["inport"])

    @property
    def outport(self) -> str:
        return str(self._fields["outport"])

    def match_view(self) -> dict[str, FieldValue]:
        """The fields for :meth:`MatchSet.matches`: an unset port reads as ``"none"``."""
        view = dict(self._fields)
        for name in ("inport", "outport"):
            if view.get(name) == "":
                view[name] = NO_PORT
        return view

    # Symbol-level access.
    def _string_storage(self, name: str) -> str:
        root = self.symtab.root(name)
        assert isinstance(root, Field)
        return root.storage or root.name

    def read(self, ref: FieldRef) -> FieldValue:
        """The value of ``ref`` (a port name for string fields)."""
        if self.symtab.is_string(ref.name):
            return self._fields[self._string_storage(ref.name)]
        value = 0
        for seg in self.symtab.segments(ref.name, ref.lo, ref.hi):
            raw = self._fields[seg.storage]
            assert isinstance(raw, int)
            value |= ((raw >> seg.storage_lo) & ((1 << seg.nbits) - 1)) << seg.ref_lo
        return value

    def write(self, ref: FieldRef, value: FieldValue) -> None:
        """Store ``value`` into ``ref`` (extra high bits of an integer are ignored)."""
        if self.symtab.is_string(ref.name):
            if not isinstance(value, str):
                raise TypeError(f"{ref.format()} holds a port name, not {value!r}")
            self._fields[self._string_storage(ref.name)] = value
            return
        if not isinstance(value, int):
            raise TypeError(f"{ref.format()} holds an integer, not {value!r}")
        for seg in self.symtab.segments(ref.name, ref.lo, ref.hi):
            mask = ((1 << seg.nbits) - 1) << seg.storage_lo
            bits = ((value >> seg.ref_lo) << seg.storage_lo) & mask
            raw = self._fields[seg.storage]
            assert isinstance(raw, int)
            self._fields[seg.storage] = (raw & ~mask) | bits

    def width(self, ref: FieldRef) -> int:
        if ref.lo is not None and ref.hi is not None:
            return ref.hi - ref.lo + 1
        return self.symtab.width(ref.name)


def is_packet_data(symtab: SymbolTable, ref: FieldRef) -> bool:
    """True for header fields and ``pkt.mark``; False for registers and logical metadata."""
    root = symtab.root(ref.name)
    if isinstance(root, Overlay):
        return False
    return not (root.name in METADATA_ROOTS or root.name in REGISTERS)


def format_field_value(symtab: SymbolTable, ref: FieldRef, value: FieldValue) -> str:
    """``value`` as a constant for ``ref``: a quoted name, a MAC, an address, or decimal."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if not ref.subscripted:
        root = symtab.root(ref.name)
        storage = root.storage if isinstance(root, Field) and root.storage else root.name
        notation = _NOTATION.get(storage)
        if notation is not None and symtab.width(ref.name) == symtab.width(storage):
            return format_int(value, _FORMATS[notation])
        width = symtab.width(ref.name)
    else:
        assert ref.lo is not None and ref.hi is not None
        width = ref.hi - ref.lo + 1
    return str(value) if width <= 32 else f"0x{value:x}"
