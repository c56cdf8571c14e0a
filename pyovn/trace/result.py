"""The outcome of one trace: the tree (for the text forms) and the facts (for programs)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pyovn.trace.packet import Packet
from pyovn.trace.render import render
from pyovn.trace.tree import Node


@dataclass(frozen=True)
class Delivery:
    """A copy of the packet leaving the logical network through ``port``.

    For a container port, ``parent`` is the VM port whose VIF the frame leaves through and
    ``tag`` the VLAN id pushed on it.
    """

    port: str
    datapath: str  # datapath name
    parent: str | None
    tag: int | None
    packet: Packet = field(compare=False, repr=False)


@dataclass
class TraceResult:
    datapath: str  # name of the datapath the trace started on
    microflow: str
    header: str  # the microflow in OpenFlow syntax (the "# ..." line)
    nodes: list[Node] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    drops: list[str] = field(default_factory=list)  # why copies of the packet went nowhere
    warnings: list[str] = field(default_factory=list)  # logical flows that did not compile

    @property
    def delivered(self) -> list[str]:
        """Ports the packet reaches, in trace order."""
        return [d.port for d in self.deliveries]

    @property
    def dropped(self) -> bool:
        """True when no copy of the packet reaches any port."""
        return not self.deliveries

    def render(self, mode: str | Iterable[str] = "detailed") -> str:
        """ovn-trace style text: ``"detailed"``, ``"summary"``, ``"minimal"``, ``"all"``, or
        several of them (each then gets a banner line)."""
        return render(self.header, self.nodes, mode)
