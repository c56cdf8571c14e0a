"""Microflows: the packet to trace, written as a logical-flow match (as for ovn-trace).

``inport == "vm1" && eth.src == 00:00:00:00:00:01 && arp.op == 1 && arp.tpa == 10.0.0.2``
describes exactly one packet: the expression is normalized with its prerequisites
(``arp.op`` implies ``eth.type == 0x806``, ``tcp.dst`` implies ``ip.proto == 6``, ...), and it
must come out as one conjunction. Each field takes the bits the conjunction pins; bits it leaves
open are zero (``ip4.src == 10.0.0.0/8`` gives 10.0.0.0), and fields it does not mention are
zero, as in ovn-trace (so ``ip.ttl`` is 0 unless the microflow says otherwise).

An expression that stands for several packets (``tcp.src == 80``: IPv4 or IPv6?
``tcp.src > 1024``, ``eth.src == {A, B}``) is *ambiguous*; one that stands for none
(``ip4 && ip6``) is *contradictory*. Both are errors, as in ovn-trace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyovn.logical.errors import LogicalSyntaxError
from pyovn.logical.expr_parser import parse_expr
from pyovn.logical.fields import DEFAULT_SYMTAB, SymbolTable
from pyovn.logical.matchset import MatchSet
from pyovn.logical.normalize import normalize
from pyovn.trace.packet import Packet

#: A microflow that normalizes to more match sets than this is reported as ambiguous anyway.
_MAX_SETS = 256
_SHOW = 3  # alternatives quoted in an "ambiguous" message


class TraceError(ValueError):
    """A trace cannot start: bad microflow, unknown datapath or port."""


class MicroflowError(TraceError):
    """The microflow does not describe exactly one packet (or does not parse)."""


def parse_microflow(
    text: str,
    symtab: SymbolTable = DEFAULT_SYMTAB,
    *,
    address_sets: Mapping[str, Sequence[str]] | None = None,
    port_groups: Mapping[str, Sequence[str]] | None = None,
) -> Packet:
    """The one packet ``text`` describes. Raises :class:`MicroflowError`."""
    if not text.strip():
        raise MicroflowError("empty microflow")
    try:
        expr = parse_expr(text, symtab)
    except LogicalSyntaxError as err:
        raise MicroflowError(f"error parsing microflow: {err}") from None
    try:
        sets = normalize(
            expr,
            symtab,
            address_sets=address_sets,
            port_groups=port_groups,
            max_flows=_MAX_SETS,
        )
    except LogicalSyntaxError as err:
        if "expands to more than" in err.message:
            raise MicroflowError(
                f"microflow constraints are ambiguous: they describe more than {_MAX_SETS} "
                "different packets (pin each field with ==)"
            ) from None
        raise MicroflowError(f"error in microflow: {err}") from None
    if not sets:
        raise MicroflowError("microflow constraints are contradictory: no packet satisfies them")
    if len(sets) > 1:
        raise MicroflowError(_ambiguous(sets, symtab))
    return packet_from_matchset(sets[0], symtab)


def packet_from_matchset(ms: MatchSet, symtab: SymbolTable = DEFAULT_SYMTAB) -> Packet:
    """The packet with the bits ``ms`` pins (unpinned bits zero)."""
    if ms.resident:
        raise MicroflowError("is_chassis_resident() cannot describe a packet")
    packet = Packet(symtab=symtab)
    for name, want in ms.fields:
        if isinstance(want, str):
            packet.set_storage(name, want)
        else:
            value, mask = want
            packet.set_storage(name, value & mask)
    return packet


def _ambiguous(sets: tuple[MatchSet, ...], symtab: SymbolTable) -> str:
    widths = symtab.storage_fields()
    shown = " | ".join(f"({ms.format(widths)})" for ms in sets[:_SHOW])
    more = f" | ... ({len(sets)} in all)" if len(sets) > _SHOW else ""
    return (
        "microflow constraints are ambiguous: they describe several packets, "
        f"e.g. {shown}{more}; pin each field with == (and name ip4 or ip6 for L4 fields)"
    )
