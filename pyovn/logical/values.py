"""Constants and field references shared by matches and actions.

An integer constant remembers the notation it was written in (decimal, hex, Ethernet, IPv4,
IPv6) so that formatting gives back the text northd wrote.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from enum import Enum


class IntFormat(Enum):
    """Notation of an integer constant."""

    DECIMAL = "decimal"
    HEXADECIMAL = "hexadecimal"
    ETHERNET = "ethernet"
    IPV4 = "ipv4"
    IPV6 = "ipv6"


#: Natural width, in bits, of constants written in an address notation.
FORMAT_WIDTH = {IntFormat.ETHERNET: 48, IntFormat.IPV4: 32, IntFormat.IPV6: 128}


def format_int(value: int, fmt: IntFormat) -> str:
    """Render ``value`` in notation ``fmt``."""
    if fmt is IntFormat.DECIMAL:
        return str(value)
    if fmt is IntFormat.HEXADECIMAL:
        return f"0x{value:x}"
    if fmt is IntFormat.ETHERNET:
        raw = f"{value:012x}"
        return ":".join(raw[i : i + 2] for i in range(0, 12, 2))
    if fmt is IntFormat.IPV4:
        return str(ipaddress.IPv4Address(value))
    return str(ipaddress.IPv6Address(value))


def cidr_prefix(mask: int, width: int) -> int | None:
    """Prefix length if ``mask`` is a CIDR mask of ``width`` bits, else None."""
    inverted = ~mask & ((1 << width) - 1)
    if inverted & (inverted + 1):
        return None
    return width - inverted.bit_length()


def prefix_mask(prefix: int, width: int) -> int:
    """The ``width``-bit mask with the top ``prefix`` bits set."""
    return ((1 << prefix) - 1) << (width - prefix)


@dataclass(frozen=True)
class IntConst:
    """An integer constant, optionally masked (``value/mask``)."""

    value: int
    mask: int | None = None
    fmt: IntFormat = IntFormat.DECIMAL

    def format(self) -> str:
        text = format_int(self.value, self.fmt)
        if self.mask is None:
            return text
        width = FORMAT_WIDTH.get(self.fmt)
        if self.fmt in (IntFormat.IPV4, IntFormat.IPV6) and width is not None:
            prefix = cidr_prefix(self.mask, width)
            if prefix is not None:
                return f"{text}/{prefix}"
        return f"{text}/{format_int(self.mask, self.fmt)}"

    @property
    def n_bits(self) -> int:
        """Number of bits needed to hold the value (and the mask, if any)."""
        return max(self.value.bit_length(), (self.mask or 0).bit_length())


@dataclass(frozen=True)
class StrConst:
    """A quoted string constant (JSON string syntax)."""

    value: str

    def format(self) -> str:
        return json.dumps(self.value, ensure_ascii=False)


@dataclass(frozen=True)
class AddressSetRef:
    """``$name``: the addresses of an Address_Set row."""

    name: str

    def format(self) -> str:
        return f"${self.name}"


@dataclass(frozen=True)
class PortGroupRef:
    """``@name``: the logical ports of a Port_Group row."""

    name: str

    def format(self) -> str:
        return f"@{self.name}"


Value = IntConst | StrConst | AddressSetRef | PortGroupRef


@dataclass(frozen=True)
class FieldRef:
    """A symbol, optionally restricted to bits ``[lo..hi]`` (``lo == hi`` for one bit)."""

    name: str
    lo: int | None = None
    hi: int | None = None

    @property
    def subscripted(self) -> bool:
        return self.lo is not None

    def format(self) -> str:
        if self.lo is None:
            return self.name
        if self.lo == self.hi:
            return f"{self.name}[{self.lo}]"
        return f"{self.name}[{self.lo}..{self.hi}]"
