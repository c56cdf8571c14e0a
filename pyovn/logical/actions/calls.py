"""Function-style actions: ``put_arp(inport, arp.spa, arp.sha);`` and
``reg0[0] = lookup_arp(inport, arp.spa, arp.sha);`` and their relatives.

Each class declares its parameters in ``params``: ``PORT`` (a string field such as
``inport``), an integer giving the required width of an integer field, or ``CONST`` (an integer
constant). Result functions also declare ``result``: the width of the destination (1 for a
flag bit), ``PORT`` for a string destination, or None for any integer width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pyovn.logical.actions.base import Action, register
from pyovn.logical.actions.parser import ActionParser
from pyovn.logical.fields import SymbolTable
from pyovn.logical.lexer import Token, TokenKind
from pyovn.logical.values import FieldRef, IntConst

PORT = "port"
CONST = "const"
Param = int | str

Arg = FieldRef | IntConst


def _parse_args(p: ActionParser, name: str, params: tuple[Param, ...]) -> tuple[Arg, ...]:
    p.expect(TokenKind.LPAREN, "`('")
    args: list[Arg] = []
    for index, param in enumerate(params):
        if index:
            p.expect(TokenKind.COMMA, f"`,' ({name} takes {len(params)} arguments)")
        if param == CONST:
            const, _ = p.int_constant("integer constant")
            args.append(const)
            continue
        ref, tok = p.readable_ref()
        if param == PORT:
            if not p.symtab.is_string(ref.name):
                raise p.error(f"{name}: argument {index + 1} must be a logical port field", tok)
        else:
            if p.symtab.is_string(ref.name) or p.ref_width(ref) != param:
                raise p.error(f"{name}: argument {index + 1} must be a {param}-bit field", tok)
        args.append(ref)
    p.expect(TokenKind.RPAREN, f"`)' ({name} takes {len(params)} arguments)")
    return tuple(args)


def _format_args(args: tuple[Arg, ...]) -> str:
    return ", ".join(a.format() for a in args)


def _arg_prereqs(symtab: SymbolTable, refs: tuple[Arg, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for ref in refs:
        if isinstance(ref, FieldRef):
            out.extend(x for x in symtab.prerequisites(ref.name) if x not in out)
    return tuple(out)


@dataclass(frozen=True)
class Call(Action):
    """Base of ``KEYWORD(args);``."""

    params: ClassVar[tuple[Param, ...]] = ()

    args: tuple[Arg, ...] = ()

    def format(self) -> str:
        return f"{self.keyword}({_format_args(self.args)});"

    def prerequisites(self, symtab: SymbolTable) -> tuple[str, ...]:
        return _arg_prereqs(symtab, self.args)

    @classmethod
    def parse(cls, p: ActionParser, start: Token) -> Action:
        return cls(_parse_args(p, str(cls.keyword), cls.params))


@dataclass(frozen=True)
class ResultCall(Action):
    """Base of ``dst = FUNCTION(args);``."""

    params: ClassVar[tuple[Param, ...]] = ()
    result: ClassVar[int | str | None] = 1

    dst: FieldRef
    args: tuple[Arg, ...] = ()

    def format(self) -> str:
        return f"{self.dst.format()} = {self.function}({_format_args(self.args)});"

    def prerequisites(self, symtab: SymbolTable) -> tuple[str, ...]:
        return _arg_prereqs(symtab, (self.dst, *self.args))

    @classmethod
    def parse_result(
        cls, p: ActionParser, dst: FieldRef, dst_tok: Token, name_tok: Token
    ) -> Action:
        p.check_writable(dst, dst_tok)
        is_string = p.symtab.is_string(dst.name)
        if cls.result == PORT:
            ok = is_string
            want = "a logical port field"
        elif cls.result is None:
            ok = not is_string
            want = "an integer field"
        else:
            ok = not is_string and p.ref_width(dst) == cls.result
            want = f"a {cls.result}-bit field"
        if not ok:
            raise p.error(f"{cls.function} must store its result in {want}", dst_tok)
        return cls(dst, _parse_args(p, str(cls.function), cls.params))


@register
@dataclass(frozen=True)
class PutArp(Call):
    """``put_arp(P, A, E);``: learn IPv4 address A -> MAC E on port P."""

    kind = "put_arp"
    keyword = "put_arp"
    params = (PORT, 32, 48)

    def execute(self, ctx: Any) -> Any:
        return None  # learning changes MAC_Binding, not the packet (ovn-trace: a no-op)


@register
@dataclass(frozen=True)
class GetArp(Call):
    """``get_arp(P, A);``: set eth.dst to the MAC bound to IPv4 A on P."""

    kind = "get_arp"
    keyword = "get_arp"
    params = (PORT, 32)


@register
@dataclass(frozen=True)
class PutNd(Call):
    """``put_nd(P, A, E);``: learn IPv6 address A -> MAC E on port P."""

    kind = "put_nd"
    keyword = "put_nd"
    params = (PORT, 128, 48)

    def execute(self, ctx: Any) -> Any:
        return None  # learning changes MAC_Binding, not the packet (ovn-trace: a no-op)


@register
@dataclass(frozen=True)
class GetNd(Call):
    """``get_nd(P, A);``: set eth.dst to the MAC bound to IPv6 A on P."""

    kind = "get_nd"
    keyword = "get_nd"
    params = (PORT, 128)


@register
@dataclass(frozen=True)
class PutFdb(Call):
    """``put_fdb(P, A);``: learn that MAC A is behind port P."""

    kind = "put_fdb"
    keyword = "put_fdb"
    params = (PORT, 48)

    def execute(self, ctx: Any) -> Any:
        return None  # learning changes the FDB table, not the packet


@register
@dataclass(frozen=True)
class LookupArp(ResultCall):
    """``R = lookup_arp(P, A, M);``: is A -> M known on P?"""

    kind = "lookup_arp"
    function = "lookup_arp"
    params = (PORT, 32, 48)
    result = 1


@register
@dataclass(frozen=True)
class LookupArpIp(ResultCall):
    """``R = lookup_arp_ip(P, A);``: is A known on P?"""

    kind = "lookup_arp_ip"
    function = "lookup_arp_ip"
    params = (PORT, 32)
    result = 1


@register
@dataclass(frozen=True)
class LookupNd(ResultCall):
    """``R = lookup_nd(P, A, M);``: is A -> M known on P?"""

    kind = "lookup_nd"
    function = "lookup_nd"
    params = (PORT, 128, 48)
    result = 1


@register
@dataclass(frozen=True)
class LookupNdIp(ResultCall):
    """``R = lookup_nd_ip(P, A);``: is A known on P?"""

    kind = "lookup_nd_ip"
    function = "lookup_nd_ip"
    params = (PORT, 128)
    result = 1


@register
@dataclass(frozen=True)
class LookupFdb(ResultCall):
    """``R = lookup_fdb(P, A);``: was MAC A learned on port P?"""

    kind = "lookup_fdb"
    function = "lookup_fdb"
    params = (PORT, 48)
    result = 1


@register
@dataclass(frozen=True)
class GetFdb(ResultCall):
    """``P = get_fdb(A);``: the port MAC A was learned on."""

    kind = "get_fdb"
    function = "get_fdb"
    params = (48,)
    result = PORT

    def compile(self, ctx: Any) -> Any:
        # pyovn's datapaths learn no MACs: the lookup always finds nothing ("none")
        return ctx.no_port(self.dst)


@register
@dataclass(frozen=True)
class CheckPktLarger(ResultCall):
    """``R = check_pkt_larger(L);``: is the packet longer than L bytes?"""

    kind = "check_pkt_larger"
    function = "check_pkt_larger"
    params = (CONST,)
    result = 1


@register
@dataclass(frozen=True)
class CheckInPortSec(ResultCall):
    """``R = check_in_port_sec();``: does the packet fail inport security?"""

    kind = "check_in_port_sec"
    function = "check_in_port_sec"
    params = ()
    result = 1

    def compile(self, ctx: Any) -> Any:
        return ctx.port_security(self.dst, ingress=True)


@register
@dataclass(frozen=True)
class CheckOutPortSec(ResultCall):
    """``R = check_out_port_sec();``: does it fail outport security?"""

    kind = "check_out_port_sec"
    function = "check_out_port_sec"
    params = ()
    result = 1

    def compile(self, ctx: Any) -> Any:
        return ctx.port_security(self.dst, ingress=False)


@register
@dataclass(frozen=True)
class ChkLbHairpin(ResultCall):
    """``R = chk_lb_hairpin();``: is this load-balanced hairpin traffic?"""

    kind = "chk_lb_hairpin"
    function = "chk_lb_hairpin"
    params = ()
    result = 1


@register
@dataclass(frozen=True)
class ChkLbHairpinReply(ResultCall):
    """``R = chk_lb_hairpin_reply();``: a reply to hairpin traffic?"""

    kind = "chk_lb_hairpin_reply"
    function = "chk_lb_hairpin_reply"
    params = ()
    result = 1


@register
@dataclass(frozen=True)
class DnsLookup(ResultCall):
    """``R = dns_lookup();``: answer a DNS query from the DNS table."""

    kind = "dns_lookup"
    function = "dns_lookup"
    params = ()
    result = 1
