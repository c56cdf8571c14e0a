"""The trace tree: what happened to the packet, as nested nodes (rendered by :mod:`.render`).

The node kinds follow ovn-trace's, so the three output forms can be derived the same way:

* ``PIPELINE``: ``ingress(dp="sw0", inport="vm1")``, ``egress(...)``, ``multicast(...)``;
* ``TABLE``: one table lookup, `` 0. ls_in_port_sec_l2: MATCH, priority 50, uuid 1234abcd``;
* ``ACTION``: an action as written in the logical flow;
* ``OUTPUT``: a comment about where the packet went (``/* output to "vm2", type "" */``);
* ``MODIFY``: the packet as it becomes (``eth.dst = 00:00:00:00:00:02``, ``output("vm2")``),
  shown only in the minimal form;
* ``ERROR``: ``*** ...``, a problem the packet ran into;
* ``TRANSFORMATION``: a derived packet (``clone``, ``arp``, ``ct_next(...)``);
* ``NOTE``: a detail for the detailed form only (several flows tied for a table);
* ``HYPERVISOR``: what the chassis does outside the logical pipelines (VLAN tags of containers
  inside VMs).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

#: Python frames that a deep trace (hundreds of nested lookups) may need.
DEEP_STACK = 6000


class Kind(Enum):
    PIPELINE = "pipeline"
    TABLE = "table"
    ACTION = "action"
    OUTPUT = "output"
    MODIFY = "modify"
    ERROR = "error"
    TRANSFORMATION = "transformation"
    NOTE = "note"
    HYPERVISOR = "hypervisor"


#: Kinds that never have children; the detailed form indents them under their parent.
TERMINAL = frozenset(
    {Kind.ACTION, Kind.OUTPUT, Kind.MODIFY, Kind.ERROR, Kind.NOTE, Kind.HYPERVISOR}
)
#: Kinds printed as a section title (blank line before, dashes under) in the detailed form.
TITLED = frozenset({Kind.PIPELINE, Kind.TRANSFORMATION})


@dataclass(eq=False)
class Node:
    kind: Kind
    text: str
    subs: list[Node] = field(default_factory=list)
    always_indent: bool = False

    def add(self, kind: Kind, text: str, *, always_indent: bool = False) -> Node:
        node = Node(kind, text, always_indent=always_indent)
        self.subs.append(node)
        return node

    def walk(self) -> list[Node]:
        """This node and every node under it, depth first."""
        out = [self]
        for sub in self.subs:
            out.extend(sub.walk())
        return out


@contextlib.contextmanager
def deep_recursion(frames: int = DEEP_STACK) -> Iterator[None]:
    """Allow at least ``frames`` nested Python calls (traces and their trees are recursive)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, frames))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)
