"""The output of normalization: one conjunction of exact bit-level matches.

A :class:`MatchSet` is a read-only mapping from a *storage* field name (``eth.src``, ``reg0``,
``vlan.tci``, ``inport``) to

* ``(value, mask)`` for integer fields: the packet matches when ``field & mask == value``;
* a logical port name (``str``) for the string fields ``inport`` / ``outport``: kept symbolic,
  the controller maps names to port keys.

``resident`` holds ``is_chassis_resident()`` conditions: ``(port, True)`` means the port must
be bound on this chassis, ``(port, False)`` that it must not be.

A logical flow normalizes to a tuple of match sets (a disjunction): an empty tuple never
matches; ``(MatchSet(),)`` always matches.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from pyovn.logical.values import StrConst

FieldMatch = tuple[int, int] | str


@dataclass(frozen=True)
class MatchSet(Mapping[str, FieldMatch]):
    fields: tuple[tuple[str, FieldMatch], ...] = ()
    resident: tuple[tuple[str, bool], ...] = ()

    @classmethod
    def of(
        cls,
        fields: Mapping[str, FieldMatch] | None = None,
        resident: Mapping[str, bool] | None = None,
    ) -> MatchSet:
        """Build from plain dicts (order does not matter)."""
        return cls(tuple(sorted((fields or {}).items())), tuple(sorted((resident or {}).items())))

    def __getitem__(self, name: str) -> FieldMatch:
        for key, value in self.fields:
            if key == name:
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def matches(
        self, packet: Mapping[str, int | str], resident_ports: Collection[str] = ()
    ) -> bool:
        """Does ``packet`` (storage field -> value; missing fields are 0 or "") match?"""
        for key, want in self.fields:
            if isinstance(want, str):
                if packet.get(key, "") != want:
                    return False
            else:
                got = packet.get(key, 0)
                if not isinstance(got, int) or got & want[1] != want[0]:
                    return False
        return all((port in resident_ports) == want for port, want in self.resident)

    def format(self, widths: Mapping[str, int] | None = None) -> str:
        """Readable one-line form, e.g. ``eth.type=0x800,inport="lp1"``.

        With ``widths`` (field -> bits, e.g. ``symtab.storage_fields()``), full masks are
        left out.
        """
        parts = []
        for key, want in self.fields:
            if isinstance(want, str):
                parts.append(f"{key}={StrConst(want).format()}")
            else:
                value, mask = want
                width = (widths or {}).get(key)
                full = width is not None and mask == (1 << width) - 1
                parts.append(f"{key}=0x{value:x}" + ("" if full else f"/0x{mask:x}"))
        for port, want in self.resident:
            parts.append(f"{'' if want else '!'}is_chassis_resident({StrConst(port).format()})")
        return ",".join(parts) or "1"

    def __str__(self) -> str:
        return self.format()
