"""OVN logical actions: ONE registry of action kinds (parse, format; compile and execute to come).

Usage::

    from pyovn.logical.actions import parse_actions, format_actions, REGISTRY
    acts = parse_actions("eth.dst = eth.src; output;")
    assert parse_actions(format_actions(acts)) == acts

Modules: :mod:`.base` (Action, registry), :mod:`.parser` (ActionParser, parse/format),
:mod:`.core` (next, output, drop, ct_*), :mod:`.assign` (=, <->, --), :mod:`.nested`
(arp { }, nd_na { }, clone { } ...), :mod:`.calls` (put_arp(...), R = lookup_arp(...) ...).
"""

from pyovn.logical.actions.assign import DecTtl, Exchange, Load, Move
from pyovn.logical.actions.base import REGISTRY, Action, ActionRegistry, register
from pyovn.logical.actions.calls import (
    Call,
    CheckInPortSec,
    CheckOutPortSec,
    CheckPktLarger,
    ChkLbHairpin,
    ChkLbHairpinReply,
    DnsLookup,
    GetArp,
    GetFdb,
    GetNd,
    LookupArp,
    LookupArpIp,
    LookupFdb,
    LookupNd,
    LookupNdIp,
    PutArp,
    PutFdb,
    PutNd,
    ResultCall,
)
from pyovn.logical.actions.core import (
    CtClear,
    CtCommit,
    CtCommitNat,
    CtDnat,
    CtDnatInCzone,
    CtNext,
    CtSnat,
    CtSnatInCzone,
    Drop,
    Next,
    Output,
)
from pyovn.logical.actions.nested import (
    Arp,
    Clone,
    Icmp4,
    Icmp4Error,
    Icmp6,
    Icmp6Error,
    NdNa,
    NdNaRouter,
    NdNs,
    Nested,
    Reject,
)
from pyovn.logical.actions.parser import ActionParser, format_actions, parse_actions

__all__ = [
    "REGISTRY",
    "Action",
    "ActionParser",
    "ActionRegistry",
    "Arp",
    "Call",
    "CheckInPortSec",
    "CheckOutPortSec",
    "CheckPktLarger",
    "ChkLbHairpin",
    "ChkLbHairpinReply",
    "Clone",
    "CtClear",
    "CtCommit",
    "CtCommitNat",
    "CtDnat",
    "CtDnatInCzone",
    "CtNext",
    "CtSnat",
    "CtSnatInCzone",
    "DecTtl",
    "DnsLookup",
    "Drop",
    "Exchange",
    "GetArp",
    "GetFdb",
    "GetNd",
    "Icmp4",
    "Icmp4Error",
    "Icmp6",
    "Icmp6Error",
    "Load",
    "LookupArp",
    "LookupArpIp",
    "LookupFdb",
    "LookupNd",
    "LookupNdIp",
    "Move",
    "NdNa",
    "NdNaRouter",
    "NdNs",
    "Nested",
    "Next",
    "Output",
    "PutArp",
    "PutFdb",
    "PutNd",
    "Reject",
    "ResultCall",
    "format_actions",
    "parse_actions",
    "register",
]
