"""The execute context: what an action's ``execute(ctx)`` may do to the traced packet.

Every logical action simulates itself in its class (``pyovn.logical.actions``), calling only
the methods below; the pipeline runner (:mod:`.pipeline`) supplies the control flow. So the
action semantics live in the one action registry, and the runner decides what ``next`` or
``output`` mean for a datapath.

The interface an action sees (the :class:`ExecContext` protocol):

* ``packet``: the :class:`~pyovn.trace.packet.Packet` being processed (read-only use; to change
  it call ``write``); ``symtab``; ``pipeline`` and ``table`` of the flow running;
* ``read(ref)`` / ``write(ref, value, shown=None)``: a field or subfield as an integer (a port
  name for ``inport``/``outport``); a write of packet data is recorded for the minimal output
  (``shown`` replaces the default ``field = constant`` text);
* ``next(table=None, pipeline=None)``: continue in another table with the same packet;
* ``output()``: send to ``outport`` (to the egress pipeline, or out of the port in egress);
* ``drop()``: stop, dropping the packet;
* ``nested(name, packet, actions)``: run ``actions`` on a derived packet (``clone``, ``arp``);
* ``ct_next()``: pass through (simulated) connection tracking, then the next table;
* ``error(text)``: report a problem (``*** text``) and go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pyovn.logical.actions import Action
from pyovn.logical.fields import SymbolTable
from pyovn.logical.values import FieldRef
from pyovn.trace.packet import FieldValue, Packet, format_field_value, is_packet_data
from pyovn.trace.sbview import Datapath
from pyovn.trace.tree import Kind, Node

if TYPE_CHECKING:
    from pyovn.trace.pipeline import Tracer


class ExecContext(Protocol):
    @property
    def packet(self) -> Packet: ...
    @property
    def symtab(self) -> SymbolTable: ...
    @property
    def pipeline(self) -> str: ...
    @property
    def table(self) -> int: ...
    def read(self, ref: FieldRef) -> FieldValue: ...
    def write(self, ref: FieldRef, value: FieldValue, shown: str | None = None) -> None: ...
    def next(self, table: int | None = None, pipeline: str | None = None) -> None: ...
    def output(self) -> None: ...
    def drop(self) -> None: ...
    def nested(self, name: str, packet: Packet, actions: Sequence[Action]) -> None: ...
    def ct_next(self) -> None: ...
    def error(self, text: str) -> None: ...


@dataclass
class Frame:
    """Where a list of actions runs: datapath, pipeline, table, packet, output node."""

    dp: Datapath
    pipeline: str
    table: int
    packet: Packet
    node: Node
    depth: int = 0
    where: str = ""  # "ls_in_l2_lkup (uuid 1234abcd)", for drop reasons
    stopped: bool = False


class ActionContext:
    """The :class:`ExecContext` of one frame, backed by a :class:`~.pipeline.Tracer`."""

    def __init__(self, tracer: Tracer, frame: Frame) -> None:
        self.tracer = tracer
        self.frame = frame

    @property
    def packet(self) -> Packet:
        return self.frame.packet

    @property
    def symtab(self) -> SymbolTable:
        return self.frame.packet.symtab

    @property
    def pipeline(self) -> str:
        return self.frame.pipeline

    @property
    def table(self) -> int:
        return self.frame.table

    def read(self, ref: FieldRef) -> FieldValue:
        return self.frame.packet.read(ref)

    def write(self, ref: FieldRef, value: FieldValue, shown: str | None = None) -> None:
        packet = self.frame.packet
        packet.write(ref, value)
        if is_packet_data(self.symtab, ref):
            if shown is None:
                stored = packet.read(ref)
                shown = f"{ref.format()} = {format_field_value(self.symtab, ref, stored)}"
            self.frame.node.add(Kind.MODIFY, shown)

    def next(self, table: int | None = None, pipeline: str | None = None) -> None:
        self.tracer.next(self.frame, table, pipeline)

    def output(self) -> None:
        self.tracer.output(self.frame)

    def drop(self) -> None:
        self.frame.stopped = True
        self.tracer.record_drop(f"dropped by `drop;' in {self.frame.where}")

    def nested(self, name: str, packet: Packet, actions: Sequence[Action]) -> None:
        self.tracer.nested(self.frame, name, packet, actions)

    def ct_next(self) -> None:
        self.tracer.ct_next(self.frame)

    def error(self, text: str) -> None:
        self.frame.node.add(Kind.ERROR, f"*** {text}")
