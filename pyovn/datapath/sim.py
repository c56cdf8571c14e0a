"""The simulated datapath: a software switch that executes the flow IR on packets.

Packets are parsed into header fields (datapath/packet.py), run through the flow tables and
rebuilt into bytes when they leave: out of a VIF (to a ``SimPort``'s queue or a simulated
host) or into a tunnel (Geneve in UDP to a peer chassis, sent by the owner's callback).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pyovn.datapath.flows import (
    IN_PORT,
    INPORT,
    METADATA,
    OUTPORT,
    T_PHY_TO_LOG,
    Action,
    Clone,
    Drop,
    Flow,
    Move,
    Output,
    PopVlan,
    PushVlan,
    Resubmit,
    SetField,
    Tunnel,
)
from pyovn.datapath.packet import HeaderExtras, build_frame, parse_frame

log = logging.getLogger("pyovn.datapath.sim")

MAX_RESUBMIT_DEPTH = 64
MAX_OUTPUTS = 1024


@dataclass
class SimPort:
    name: str
    ofport: int
    rx: deque[bytes] = field(default_factory=lambda: deque(maxlen=4096))
    # a simulated host attached to the port gets frames here instead of the queue
    on_frame: Callable[[bytes], None] | None = None
    n_rx: int = 0
    n_tx: int = 0


@dataclass
class TraceStep:
    table: int
    flow: Flow | None
    depth: int


@dataclass
class Result:
    """What happened to one packet: where copies went, and the flows it hit."""

    outputs: list[tuple[str, bytes]] = field(default_factory=list)  # (port name, frame)
    tunnels: list[tuple[Tunnel, int, int, int, bytes]] = field(default_factory=list)
    steps: list[TraceStep] = field(default_factory=list)
    dropped: bool = False


TunnelSend = Callable[[Tunnel, int, int, int, bytes], None]


class SimSwitch:
    def __init__(self, name: str = "br-int", tunnel_send: TunnelSend | None = None) -> None:
        self.name = name
        self.tables: dict[int, list[Flow]] = {}
        self.installed: set[Flow] = set()
        self.ports: dict[int, SimPort] = {}
        self.by_name: dict[str, SimPort] = {}
        self.tunnel_send = tunnel_send
        self.n_flow_mods = 0
        self.n_packets = 0
        self._next_ofport = 1
        self._extras: HeaderExtras | None = None

    # ------------------------------------------------------------------ ports

    def add_port(self, name: str, ofport: int | None = None) -> SimPort:
        existing = self.by_name.get(name)
        if existing is not None:
            return existing
        if ofport is None:
            while self._next_ofport in self.ports:
                self._next_ofport += 1
            ofport = self._next_ofport
        port = SimPort(name, ofport)
        self.ports[ofport] = port
        self.by_name[name] = port
        return port

    def remove_port(self, name: str) -> None:
        port = self.by_name.pop(name, None)
        if port is not None:
            del self.ports[port.ofport]

    # ------------------------------------------------------------------ flows

    def install(self, flows: Iterable[Flow]) -> tuple[int, int]:
        """Make the flow table exactly ``flows``; returns (added, removed)."""
        desired = set(flows)
        added = desired - self.installed
        removed = self.installed - desired
        if not added and not removed:
            return 0, 0
        touched = {f.table for f in added} | {f.table for f in removed}
        self.installed = desired
        for table in touched:
            self.tables[table] = sorted(
                (f for f in desired if f.table == table), key=lambda f: -f.priority
            )
        self.n_flow_mods += len(added) + len(removed)
        return len(added), len(removed)

    def dump_flows(self) -> str:
        lines = []
        for table in sorted(self.tables):
            for flow in self.tables[table]:
                lines.append(str(flow))
        return "\n".join(lines) + ("\n" if lines else "")

    def lookup(self, table: int, fields: dict[str, int]) -> Flow | None:
        for flow in self.tables.get(table, ()):
            if flow.matches(fields):
                return flow
        return None

    # ------------------------------------------------------------------ packets

    def receive(self, ofport: int, frame: bytes, trace: bool = False) -> Result:
        """A frame arrives on a physical port (a VIF)."""
        parsed = parse_frame(frame)
        fields = dict(parsed.fields)
        fields[IN_PORT] = ofport
        port = self.ports.get(ofport)
        if port is not None:
            port.n_tx += 1
        return self._run(fields, parsed.payload, trace, parsed.extras)

    def receive_tunnel(
        self, ofport: int, vni: int, inport: int, outport: int, inner: bytes, trace: bool = False
    ) -> Result:
        """A Geneve packet from a peer chassis, arriving on tunnel port ``ofport``."""
        parsed = parse_frame(inner)
        fields = dict(parsed.fields)
        fields.update({IN_PORT: ofport, METADATA: vni, INPORT: inport, OUTPORT: outport})
        return self._run(fields, parsed.payload, trace, parsed.extras)

    def _run(
        self,
        fields: dict[str, int],
        payload: bytes,
        trace: bool,
        extras: HeaderExtras | None = None,
    ) -> Result:
        """Run a packet from table 0. ``extras`` carries the header details that are not
        fields (TCP sequence numbers, IPv4 id, ...) so rebuilt frames keep them."""
        self.n_packets += 1
        self._extras = extras
        result = Result()
        self._table(T_PHY_TO_LOG, fields, payload, result, 0, trace)
        for name, frame in result.outputs:
            port = self.by_name.get(name)
            if port is None:
                continue
            port.n_rx += 1
            if port.on_frame is not None:
                port.on_frame(frame)
            else:
                port.rx.append(frame)
        if self.tunnel_send is not None:
            for tunnel, vni, inport, outport, inner in result.tunnels:
                self.tunnel_send(tunnel, vni, inport, outport, inner)
        result.dropped = not result.outputs and not result.tunnels
        return result

    def _table(
        self,
        table: int,
        fields: dict[str, int],
        payload: bytes,
        result: Result,
        depth: int,
        trace: bool,
    ) -> None:
        if depth > MAX_RESUBMIT_DEPTH:
            log.warning("resubmit depth limit reached; dropping")
            return
        flow = self.lookup(table, fields)
        if trace:
            result.steps.append(TraceStep(table, flow, depth))
        if flow is None:
            return  # table miss: drop
        self._actions(flow.actions, fields, payload, result, depth, trace)

    def _actions(
        self,
        actions: tuple[Action, ...],
        fields: dict[str, int],
        payload: bytes,
        result: Result,
        depth: int,
        trace: bool,
    ) -> bool:
        """Run actions; False once the packet is dropped."""
        for act in actions:
            if isinstance(act, SetField):
                if act.mask == -1:
                    fields[act.field] = act.value
                else:
                    fields[act.field] = (fields.get(act.field, 0) & ~act.mask) | (
                        act.value & act.mask
                    )
            elif isinstance(act, Resubmit):
                self._table(act.table, fields, payload, result, depth + 1, trace)
            elif isinstance(act, Move):
                bits = (fields.get(act.src, 0) >> act.src_ofs) & ((1 << act.n_bits) - 1)
                mask = ((1 << act.n_bits) - 1) << act.dst_ofs
                fields[act.dst] = (fields.get(act.dst, 0) & ~mask) | (bits << act.dst_ofs)
            elif isinstance(act, Output):
                port = self.ports.get(act.port)
                if port is not None and len(result.outputs) < MAX_OUTPUTS:
                    result.outputs.append(
                        (port.name, build_frame(_headers(fields), payload, extras=self._extras))
                    )
            elif isinstance(act, PushVlan):
                fields["vlan.tci"] = (act.vid & 0xFFF) | 0x1000
            elif isinstance(act, PopVlan):
                fields["vlan.tci"] = 0
            elif isinstance(act, Tunnel):
                inner = build_frame(_headers(fields), payload, extras=self._extras)
                result.tunnels.append(
                    (
                        act,
                        fields.get(METADATA, 0),
                        fields.get(INPORT, 0),
                        fields.get(OUTPORT, 0),
                        inner,
                    )
                )
            elif isinstance(act, Clone):
                self._actions(act.actions, dict(fields), payload, result, depth + 1, trace)
            elif isinstance(act, Drop):
                return False
        return True


_META = {
    IN_PORT,
    METADATA,
    INPORT,
    OUTPORT,
    "flags",
    "reg0",
    "reg1",
    "reg2",
    "reg3",
    "reg4",
    "reg5",
    "reg6",
    "reg7",
    "reg8",
    "reg9",
    "ct_state",
    "ct_mark",
    "ct_label",
    "pkt.mark",
}


def _headers(fields: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in fields.items() if k not in _META}
