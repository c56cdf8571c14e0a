"""Parsing Logical_Switch_Port ``addresses`` and ``port_security`` entries ("MAC IP...")."""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
KEYWORDS = ("unknown", "dynamic", "router")


@dataclass(frozen=True, slots=True)
class LportAddresses:
    mac: str
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()


def is_mac(text: str) -> bool:
    return bool(_MAC_RE.match(text))


@functools.lru_cache(maxsize=1 << 17)
def parse_entry(entry: str) -> LportAddresses | None:
    """One entry: "MAC [IP[/PLEN]]...". None for keywords and unparsable entries.

    Cached: the same entries are parsed again whenever a port or its switch changes."""
    words = entry.split()
    if not words or words[0] in KEYWORDS or not is_mac(words[0]):
        return None
    ipv4: list[str] = []
    ipv6: list[str] = []
    for word in words[1:]:
        plain = _plain_ipv4(word)
        if plain is not None:
            ipv4.append(plain)
            continue
        try:
            iface = ipaddress.ip_interface(word)
        except ValueError:
            return None
        if iface.version == 4:
            ipv4.append(str(iface.ip))
        else:
            ipv6.append(str(iface.ip))
    return LportAddresses(words[0].lower(), tuple(ipv4), tuple(ipv6))


def _plain_ipv4(word: str) -> str | None:
    """The address of a canonical dotted quad with an optional /PLEN ("10.0.0.1/24"), without
    the cost of the ipaddress module; None for anything else (left to ipaddress)."""
    addr, slash, plen = word.partition("/")
    if slash and not (
        plen.isdigit() and len(plen) <= 2 and int(plen) <= 32 and plen == str(int(plen))
    ):
        return None
    parts = addr.split(".")
    if len(parts) != 4:
        return None
    for part in parts:
        if not part.isascii() or not part.isdigit() or len(part) > 3 or int(part) > 255:
            return None
        if len(part) > 1 and part[0] == "0":
            return None
    return addr


def parse_all(entries: frozenset[str] | tuple[str, ...]) -> tuple[LportAddresses, ...]:
    """Every parsable entry, in a stable order."""
    out = []
    for entry in sorted(entries):
        parsed = parse_entry(entry)
        if parsed is not None:
            out.append(parsed)
    return tuple(out)


def has_unknown(entries: frozenset[str] | tuple[str, ...]) -> bool:
    return any(e.split()[:1] == ["unknown"] for e in entries)
