"""Actions with a nested block: ``arp { ... };``, ``nd_na { ... };``, ``clone { ... };`` ...

The nested actions run on a new packet (or a copy); actions after the block see the original
packet. Each block kind has its own class so that compile/execute can differ per kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pyovn.logical.actions.base import Action, register
from pyovn.logical.actions.parser import ActionParser, format_actions
from pyovn.logical.fields import SymbolTable
from pyovn.logical.lexer import Token

# Storage fields of the L3 and L4 headers, which a new ARP packet does not have.
_L3_L4_PREFIXES = ("ip.", "ip4.", "ip6.", "tcp.", "udp.", "sctp.", "icmp4.", "icmp6.", "nd.")


@dataclass(frozen=True)
class Nested(Action):
    """Base of ``KEYWORD { action; ... };``."""

    prereq: ClassVar[str | None] = None

    actions: tuple[Action, ...] = ()

    def format(self) -> str:
        inner = format_actions(self.actions)
        return f"{self.keyword} {{ {inner} }};" if inner else f"{self.keyword} {{ }};"

    def prerequisites(self, symtab: SymbolTable) -> tuple[str, ...]:
        # The nested actions apply to the new packet; only the block's own condition counts.
        return (self.prereq,) if self.prereq else ()

    @classmethod
    def parse(cls, p: ActionParser, start: Token) -> Action:
        return cls(p.block())


@register
@dataclass(frozen=True)
class Clone(Nested):
    """``clone { ... };``: run the actions on a copy of the packet."""

    kind = "clone"
    keyword = "clone"

    def execute(self, ctx: Any) -> Any:
        ctx.nested("clone", ctx.packet.copy(), self.actions)


@register
@dataclass(frozen=True)
class Arp(Nested):
    """``arp { ... };``: replace the IPv4 packet by an ARP request built from it."""

    kind = "arp"
    keyword = "arp"
    prereq = "ip4"

    def execute(self, ctx: Any) -> Any:
        # ovn-sb(5): an ARP request for ip4.dst from eth.src/ip4.src, to the broadcast address
        old = ctx.packet
        new = old.copy()
        for name in old:
            if name.startswith(_L3_L4_PREFIXES):
                new.set_storage(name, 0)
        for name, value in (
            ("eth.dst", 0xFFFF_FFFF_FFFF),
            ("eth.type", 0x806),
            ("arp.op", 1),
            ("arp.sha", old["eth.src"]),
            ("arp.spa", old["ip4.src"]),
            ("arp.tha", 0),
            ("arp.tpa", old["ip4.dst"]),
        ):
            new.set_storage(name, value)
        ctx.nested("arp", new, self.actions)


@register
@dataclass(frozen=True)
class NdNs(Nested):
    """``nd_ns { ... };``: replace the IPv6 packet by a neighbor solicitation."""

    kind = "nd_ns"
    keyword = "nd_ns"
    prereq = "ip6"


@register
@dataclass(frozen=True)
class NdNa(Nested):
    """``nd_na { ... };``: answer a neighbor solicitation with an advertisement."""

    kind = "nd_na"
    keyword = "nd_na"
    prereq = "nd_ns"


@register
@dataclass(frozen=True)
class NdNaRouter(Nested):
    """``nd_na_router { ... };``: as ``nd_na`` with the router flag set."""

    kind = "nd_na_router"
    keyword = "nd_na_router"
    prereq = "nd_ns"


@register
@dataclass(frozen=True)
class Icmp4(Nested):
    """``icmp4 { ... };``: replace the IPv4 packet by an ICMPv4 packet."""

    kind = "icmp4"
    keyword = "icmp4"
    prereq = "ip4"


@register
@dataclass(frozen=True)
class Icmp4Error(Nested):
    """``icmp4_error { ... };``: an ICMPv4 error quoting the original datagram."""

    kind = "icmp4_error"
    keyword = "icmp4_error"
    prereq = "ip4"


@register
@dataclass(frozen=True)
class Icmp6(Nested):
    """``icmp6 { ... };``: replace the IPv6 packet by an ICMPv6 packet."""

    kind = "icmp6"
    keyword = "icmp6"
    prereq = "ip6"


@register
@dataclass(frozen=True)
class Icmp6Error(Nested):
    """``icmp6_error { ... };``: an ICMPv6 error quoting the original datagram."""

    kind = "icmp6_error"
    keyword = "icmp6_error"
    prereq = "ip6"


@register
@dataclass(frozen=True)
class Reject(Nested):
    """``reject { ... };``: a TCP RST or ICMP unreachable in place of the packet."""

    kind = "reject"
    keyword = "reject"
