"""The "lflow" engine node: the logical flows northd wants, by owner (a switch or a port),
with the set of flow keys that changed in each run."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pyovn.engine.node import Handled, Node
from pyovn.northd.lflows.switch import port_flows, port_wants_unknown, switch_flows
from pyovn.northd.model import LFlow
from pyovn.northd.nodes.northd_data import NorthdData

Owner = tuple[str, str]  # ("switch", ls uuid) or ("port", port name)


class LflowData(Node):
    def __init__(self, northd: NorthdData) -> None:
        super().__init__("lflow")
        self.northd = northd
        self.by_owner: dict[Owner, list[LFlow]] = {}
        self.flows: dict[tuple[Any, ...], LFlow] = {}  # key -> one flow with that key
        self.count: Counter[tuple[Any, ...]] = Counter()  # key -> owners wanting it
        self.others: dict[tuple[Any, ...], list[LFlow]] = {}  # key -> the flows not in .flows
        self.unknown_ports: dict[str, set[str]] = {}  # switch -> ports with "unknown"
        self.changed_keys: set[tuple[Any, ...]] = set()

    def recompute(self) -> bool:
        for owner in list(self.by_owner):
            self._set(owner, [])
        self.unknown_ports = {}
        for port in self.northd.ports.values():
            if port_wants_unknown(port):
                self.unknown_ports.setdefault(port.switch, set()).add(port.name)
            self._set(("port", port.name), port_flows(port))
        for sw in self.northd.switches.values():
            self._set(("switch", sw.uuid), switch_flows(sw, bool(self.unknown_ports.get(sw.uuid))))
        return True

    def handle_northd(self, _: Node) -> Handled:
        data = self.northd
        switches = set(data.changed_switches)
        for name, old in data.changed_ports.items():
            if old is not None:
                self.unknown_ports.get(old.switch, set()).discard(name)
                switches.add(old.switch)
            port = data.port_by_name.get(name)
            if port is None:
                self._set(("port", name), [])
                continue
            if port_wants_unknown(port):
                self.unknown_ports.setdefault(port.switch, set()).add(name)
            switches.add(port.switch)
            self._set(("port", name), port_flows(port))
        for sw_uuid in switches:
            sw = data.switches.get(sw_uuid)
            flows = [] if sw is None else switch_flows(sw, bool(self.unknown_ports.get(sw_uuid)))
            self._set(("switch", sw_uuid), flows)
        return Handled.UPDATED if self.changed_keys else Handled.UNCHANGED

    def _set(self, owner: Owner, flows: list[LFlow]) -> None:
        old = self.by_owner.get(owner, [])
        if old == flows:
            return
        for flow in old:
            self._drop(flow)
        for flow in flows:
            self._add(flow)
        if flows:
            self.by_owner[owner] = flows
        else:
            self.by_owner.pop(owner, None)

    # Several owners may want the same flow (same key: e.g. two ports with one MAC). SB holds
    # one row for it; its stage-hint names the holder with the lowest hint, so the row does
    # not depend on the order of past changes and never names a deleted NB row.

    def _add(self, flow: LFlow) -> None:
        key = flow.key
        self.changed_keys.add(key)
        self.count[key] += 1
        rep = self.flows.get(key)
        if rep is None:
            self.flows[key] = flow
            return
        others = self.others.setdefault(key, [])
        if flow.hint < rep.hint:
            self.flows[key] = flow
            others.append(rep)
        else:
            others.append(flow)

    def _drop(self, flow: LFlow) -> None:
        key = flow.key
        self.changed_keys.add(key)
        self.count[key] -= 1
        if self.count[key] <= 0:
            del self.count[key]
            self.flows.pop(key, None)
            self.others.pop(key, None)
            return
        others = self.others[key]
        if self.flows[key] == flow:
            best = min(range(len(others)), key=lambda i: others[i].hint)
            self.flows[key] = others.pop(best)
        else:
            others.remove(flow)
        if not others:
            del self.others[key]

    def clear_tracked(self) -> None:
        self.changed_keys = set()
