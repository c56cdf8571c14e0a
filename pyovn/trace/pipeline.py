"""Running a packet through the logical pipelines of the Southbound database.

For each table the highest-priority logical flow whose match (with its actions'
prerequisites) matches is chosen; if several match at that priority, the first by match text
and uuid wins and the others are named in a note. The flow's actions run through the action
registry (``Action.execute``) with an :class:`~.context.ActionContext`:

* ``next`` looks up the next (or given) table with the same packet; a flow that matches ``1``
  and only does ``next;`` is skipped silently, as ovn-trace does;
* ``output`` in ingress: to a multicast group (Multicast_Group row of the datapath), one egress
  run per member port in name order, skipping the inport unless ``flags.loopback`` is set;
  otherwise one egress run for ``outport``. The egress copy of the packet has the logical
  registers and flags cleared, as OVN does between the pipelines;
* ``output`` in egress: the packet leaves through ``outport`` (for a ``patch`` port it enters
  the peer's datapath);
* no matching flow: the packet is dropped ("no match (implicit drop)").
"""

from __future__ import annotations

from collections.abc import Sequence

from pyovn.logical.actions import Action
from pyovn.logical.values import FieldRef
from pyovn.trace import hypervisor
from pyovn.trace.context import ActionContext, Frame
from pyovn.trace.microflow import TraceError, parse_microflow
from pyovn.trace.ofp import flow_string
from pyovn.trace.packet import NO_PORT, REGISTERS, Packet
from pyovn.trace.result import Delivery, TraceResult
from pyovn.trace.sbview import Datapath, Port, SbView
from pyovn.trace.tree import Kind, Node, deep_recursion

MAX_DEPTH = 400  # nested tables/pipelines before the trace gives up (a loop of next(N))
MAX_NODES = 100_000
CT_DEFAULT = 0x22  # trk|est
_CT_NAMES = ("new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat")
LOOPBACK = FieldRef("flags.loopback")
OMIT = "/* omitting output because inport == outport && !flags.loopback */"


def parse_ct_flags(text: str) -> int:
    """``--ct`` flags (``"new"``, ``"trk,est"``, ``"rpl inv"``) as a ct_state value (trk added)."""
    value = 1 << _CT_NAMES.index("trk")
    for word in text.replace(",", " ").split():
        if word not in _CT_NAMES:
            raise ValueError(f"{word}: unknown connection tracking state (one of {_CT_NAMES})")
        value |= 1 << _CT_NAMES.index(word)
    return value


def ct_names(value: int) -> str:
    return "|".join(n for i, n in enumerate(_CT_NAMES) if value & (1 << i)) or "0"


class Tracer:
    """Traces microflows over one :class:`SbView` (reusable: compiled flows are cached)."""

    def __init__(self, sb: SbView, *, ct: Sequence[int] = ()) -> None:
        self.sb = sb
        self.ct = tuple(ct)

    # ------------------------------------------------------------------ entry point

    def trace(self, datapath: str, microflow: str) -> TraceResult:
        """Trace ``microflow`` from its inport on ``datapath`` ("" or None: the inport's)."""
        sb = self.sb
        packet = parse_microflow(
            microflow, sb.symtab, address_sets=sb.address_sets, port_groups=sb.port_groups
        )
        if not packet.inport:
            raise TraceError('the microflow must name the ingress port (inport == "NAME")')
        port = sb.port(packet.inport)
        if port is None:
            raise TraceError(f'unknown logical port "{packet.inport}"')
        try:
            dp = sb.find_datapath(datapath) if datapath else sb.datapaths[port.datapath]
        except (LookupError, KeyError) as err:
            raise TraceError(str(err).strip("'")) from None
        if port.datapath != dp.uuid:
            owner = sb.datapaths.get(port.datapath)
            where = f'"{owner.name}"' if owner else "another datapath"
            raise TraceError(f'logical port "{port.name}" is on {where}, not on "{dp.name}"')
        out = sb.port(packet.outport)
        header = flow_string(packet, port.tunnel_key, out.tunnel_key if out else 0)
        self._result = TraceResult(dp.name, microflow, header)
        self._ct_used = 0
        self._n_nodes = 0
        root = Node(Kind.PIPELINE, "")
        with deep_recursion(12 * MAX_DEPTH + 1000):
            self._start(root, dp, port, packet)
        result = self._result
        result.nodes = root.subs
        result.warnings = list(sb.warnings)
        return result

    def _start(self, root: Node, dp: Datapath, port: Port, packet: Packet) -> None:
        sb = self.sb
        entry = hypervisor.enter(sb, port, packet)
        if entry.note:
            root.add(Kind.HYPERVISOR, entry.note)
        if entry.port is None:
            self.record_drop(f"dropped on the hypervisor: {entry.drop_reason}")
        else:
            dp = sb.datapaths.get(entry.port.datapath, dp)
            text = f'ingress(dp="{dp.name}", inport="{entry.port.name}")'
            node = root.add(Kind.PIPELINE, text)
            self.table(dp, "ingress", 0, entry.packet, node, 0)

    # ------------------------------------------------------------------ tables and actions

    def record_drop(self, reason: str) -> None:
        self._result.drops.append(reason)

    def table(
        self, dp: Datapath, pipeline: str, table: int, packet: Packet, parent: Node, depth: int
    ) -> None:
        if depth > MAX_DEPTH or self._n_nodes > MAX_NODES:
            parent.add(Kind.ERROR, "*** too many nested lookups (a loop?): trace stopped")
            self.record_drop("trace stopped: too many nested lookups")
            return
        view = packet.match_view()
        while True:
            flow, ties = self.sb.lookup(dp.uuid, pipeline, table, view)
            if flow is None or not flow.is_trivial():
                break
            table += 1
        self._n_nodes += 1
        if flow is None:
            stage = self.sb.stage_name(dp.uuid, pipeline, table)
            prefix = f"{stage}: " if stage else ""
            parent.add(Kind.TABLE, f"{table:2d}. {prefix}no match (implicit drop)")
            self.record_drop(
                f"no match in {pipeline} table {table}" + (f" ({stage})" if stage else "")
            )
            return
        head = f"{table:2d}. "
        if flow.stage_name:
            head += flow.stage_name + (f" ({flow.source})" if flow.source else "") + ": "
        text = f"{head}{flow.match}, priority {flow.priority}, uuid {flow.uuid[:8]}"
        node = parent.add(Kind.TABLE, text)
        if ties:
            others = ", ".join(f.uuid[:8] for f in ties)
            node.add(
                Kind.NOTE,
                f"/* {len(ties) + 1} flows match at priority {flow.priority}; pyovn takes the "
                f"most specific (also matching: {others}) */",
            )
        where = f"{flow.stage_name or pipeline + ' table ' + str(table)} (uuid {flow.uuid[:8]})"
        self.run(Frame(dp, pipeline, table, packet, node, depth, where), flow.actions)

    def run(self, frame: Frame, actions: Sequence[Action]) -> None:
        ctx = ActionContext(self, frame)
        for action in actions:
            if frame.stopped:
                break
            frame.node.add(Kind.ACTION, action.format())
            self._n_nodes += 1
            try:
                action.execute(ctx)
            except NotImplementedError:
                ctx.error(f"{action.kind}: not simulated by pyovn trace (skipped)")

    def next(self, frame: Frame, table: int | None, pipeline: str | None) -> None:
        target = table if table is not None else frame.table + 1
        if pipeline is None or pipeline == frame.pipeline:
            self.table(frame.dp, frame.pipeline, target, frame.packet, frame.node, frame.depth + 1)
            return
        port_field = "inport" if pipeline == "ingress" else "outport"
        text = f'{pipeline}(dp="{frame.dp.name}", {port_field}="{frame.packet[port_field]}")'
        node = frame.node.add(Kind.PIPELINE, text)
        self.table(frame.dp, pipeline, target, frame.packet, node, frame.depth + 1)

    def nested(self, frame: Frame, name: str, packet: Packet, actions: Sequence[Action]) -> None:
        node = frame.node.add(Kind.TRANSFORMATION, name)
        sub = Frame(frame.dp, frame.pipeline, frame.table, packet, node, frame.depth + 1)
        sub.where = frame.where
        self.run(sub, actions)

    def ct_next(self, frame: Frame) -> None:
        if self._ct_used < len(self.ct):
            state, comment = self.ct[self._ct_used], ""
        else:
            state, comment = CT_DEFAULT, " /* default (use --ct to customize) */"
        self._ct_used += 1
        packet = frame.packet.copy()
        packet.set_storage("ct_state", state)
        node = frame.node.add(Kind.TRANSFORMATION, f"ct_next(ct_state={ct_names(state)}{comment})")
        self.table(frame.dp, frame.pipeline, frame.table + 1, packet, node, frame.depth + 1)

    # ------------------------------------------------------------------ output

    def output(self, frame: Frame) -> None:
        packet, dp = frame.packet, frame.dp
        name = packet.outport
        if name in ("", NO_PORT):
            frame.node.add(Kind.ERROR, "*** output to null logical port")
            self.record_drop(f"output to the null logical port in {frame.where}")
            return
        if frame.pipeline == "egress":
            self._deliver(frame)
            return
        group = self.sb.mcgroup(dp.uuid, name)
        if group is not None:
            node = frame.node.add(Kind.PIPELINE, f'multicast(dp="{dp.name}", mcgroup="{name}")')
            for member in group.ports:
                self._egress(frame, member, node, multicast=True)
            return
        port = self.sb.port(name)
        if port is None or port.datapath != dp.uuid:
            frame.node.add(Kind.ERROR, f'*** output to unknown logical port "{name}"')
            self.record_drop(f'output to unknown logical port "{name}" in {frame.where}')
            return
        self._egress(frame, name, frame.node, multicast=False)

    def _egress(self, frame: Frame, outport: str, parent: Node, *, multicast: bool) -> None:
        packet = frame.packet
        omit = outport == packet.inport and not packet.read(LOOPBACK)
        if omit and not multicast:
            parent.add(Kind.OUTPUT, OMIT)
            self.record_drop(f'not sent back to its inport "{outport}" (flags.loopback is 0)')
            return
        text = f'egress(dp="{frame.dp.name}", inport="{packet.inport}", outport="{outport}")'
        node = parent.add(Kind.PIPELINE, text, always_indent=multicast)
        if omit:
            node.add(Kind.OUTPUT, OMIT)
            self.record_drop(f'not sent back to its inport "{outport}" (flags.loopback is 0)')
            return
        egress = _between_pipelines(packet)
        egress.set_storage("outport", outport)
        self.table(frame.dp, "egress", 0, egress, node, frame.depth + 1)

    def _deliver(self, frame: Frame) -> None:
        name = frame.packet.outport
        port = self.sb.port(name)
        if port is None or port.datapath != frame.dp.uuid:
            frame.node.add(Kind.ERROR, f'*** output to unknown logical port "{name}"')
            self.record_drop(f'output to unknown logical port "{name}" in {frame.where}')
            return
        frame.node.add(Kind.OUTPUT, f'/* output to "{name}", type "{port.type}" */')
        if port.type == "patch":
            self._patch(frame, port)
            return
        note, drop_reason = hypervisor.leave(port)
        if drop_reason is not None:
            assert note is not None
            frame.node.add(Kind.HYPERVISOR, note)
            self.record_drop(f'output to "{name}": {drop_reason}')
            return
        frame.node.add(Kind.MODIFY, f'output("{name}")')
        if note:
            frame.node.add(Kind.HYPERVISOR, note)
        self._result.deliveries.append(
            Delivery(name, frame.dp.name, port.parent, port.tag, frame.packet.copy())
        )

    def _patch(self, frame: Frame, port: Port) -> None:
        peer = self.sb.port(port.options.get("peer", ""))
        dp = self.sb.datapaths.get(peer.datapath) if peer is not None else None
        if peer is None or dp is None:
            frame.node.add(Kind.ERROR, f'*** patch port "{port.name}" has no peer')
            self.record_drop(f'patch port "{port.name}" has no peer')
            return
        packet = _between_pipelines(frame.packet)
        packet.set_storage("inport", peer.name)
        packet.set_storage("outport", "")
        node = frame.node.add(Kind.PIPELINE, f'ingress(dp="{dp.name}", inport="{peer.name}")')
        self.table(dp, "ingress", 0, packet, node, frame.depth + 1)


def _between_pipelines(packet: Packet) -> Packet:
    """A copy with the logical registers and flags cleared (OVN clears them for egress)."""
    out = packet.copy()
    for reg in (*REGISTERS, "flags"):
        out.set_storage(reg, 0)
    return out
