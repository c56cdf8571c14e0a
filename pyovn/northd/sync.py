"""Reconciling the Southbound database with what northd wants.

Every reconcile is keyed: a switch, a port name, a flow key. For each dirty key the wanted
row (from the engine's data) is compared with the row in the SB replica, and the transaction
inserts, updates or deletes to make them equal. A full sync marks every key dirty. Because the
comparison is against the replica at build time, a transaction retried after "try again" is
simply rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyovn.northd.addresses import has_unknown
from pyovn.northd.model import LFlow
from pyovn.northd.nodes.lflow import LflowData
from pyovn.northd.nodes.northd_data import NorthdData
from pyovn.northd.stages import MC_FLOOD, MC_FLOOD_KEY, MC_UNKNOWN, MC_UNKNOWN_KEY
from pyovn.ovsdb.client.replica import RowEvent, RowView
from pyovn.ovsdb.client.txn import NamedUuid, Txn

FlowKey = tuple[Any, ...]


@dataclass
class Dirty:
    """Keys to reconcile, accumulated until a transaction commits."""

    switches: set[str] = field(default_factory=set)  # NB switch uuids (datapath + MC groups)
    ports: set[str] = field(default_factory=set)  # logical port names
    flows: set[FlowKey] = field(default_factory=set)
    full: bool = False

    def __bool__(self) -> bool:
        return self.full or bool(self.switches or self.ports or self.flows)

    def absorb(self, other: Dirty) -> None:
        self.switches |= other.switches
        self.ports |= other.ports
        self.flows |= other.flows
        self.full = self.full or other.full


class SbIndex:
    """Lookups into the SB replica, kept current from its change events."""

    def __init__(self) -> None:
        self.dp_by_ls: dict[str, str] = {}
        self.ls_by_dp: dict[str, str] = {}
        self.pb_by_name: dict[str, str] = {}
        self.mc: dict[tuple[str, str], str] = {}  # (dp uuid, group name) -> row uuid
        self.flows: dict[FlowKey, set[str]] = {}  # (dp uuid, pipeline, table, prio, m, a)
        self.chassis_by_name: dict[str, str] = {}

    def on_events(self, events: list[RowEvent]) -> None:
        for ev in sorted(events, key=lambda e: e.table != "Datapath_Binding"):
            handler = getattr(self, "_" + ev.table, None)
            if handler is not None:
                handler(ev)

    def _Datapath_Binding(self, ev: RowEvent) -> None:
        if ev.old is not None:
            ls = ev.old["external_ids"].get("logical-switch")
            if ls is not None and self.dp_by_ls.get(ls) == ev.uuid:
                del self.dp_by_ls[ls]
            self.ls_by_dp.pop(ev.uuid, None)
        if ev.new is not None:
            ls = ev.new["external_ids"].get("logical-switch")
            if ls is not None:
                self.dp_by_ls[ls] = ev.uuid
                self.ls_by_dp[ev.uuid] = ls

    def _Port_Binding(self, ev: RowEvent) -> None:
        if ev.old is not None and self.pb_by_name.get(ev.old["logical_port"]) == ev.uuid:
            del self.pb_by_name[ev.old["logical_port"]]
        if ev.new is not None:
            self.pb_by_name[ev.new["logical_port"]] = ev.uuid

    def _Multicast_Group(self, ev: RowEvent) -> None:
        if ev.old is not None:
            key = (ev.old["datapath"], ev.old["name"])
            if self.mc.get(key) == ev.uuid:
                del self.mc[key]
        if ev.new is not None:
            self.mc[(ev.new["datapath"], ev.new["name"])] = ev.uuid

    def _Logical_Flow(self, ev: RowEvent) -> None:
        if ev.old is not None:
            uuids = self.flows.get(flow_row_key(ev.old))
            if uuids is not None:
                uuids.discard(ev.uuid)
                if not uuids:
                    del self.flows[flow_row_key(ev.old)]
        if ev.new is not None:
            self.flows.setdefault(flow_row_key(ev.new), set()).add(ev.uuid)

    def _Chassis(self, ev: RowEvent) -> None:
        if ev.old is not None:
            self.chassis_by_name.pop(ev.old["name"], None)
            hostname = ev.old["hostname"]
            if hostname and self.chassis_by_name.get(hostname) == ev.uuid:
                del self.chassis_by_name[hostname]
        if ev.new is not None:
            self.chassis_by_name[ev.new["name"]] = ev.uuid
            if ev.new["hostname"]:
                self.chassis_by_name.setdefault(ev.new["hostname"], ev.uuid)


def flow_row_key(row: RowView) -> FlowKey:
    return (
        row.one("logical_datapath"),
        row["pipeline"],
        row["table_id"],
        row["priority"],
        row["match"],
        row["actions"],
    )


class SbSync:
    def __init__(self, northd: NorthdData, lflows: LflowData, idx: SbIndex) -> None:
        self.northd = northd
        self.lflows = lflows
        self.idx = idx

    def build(self, txn: Txn, rows: Any, dirty: Dirty) -> None:
        """Add to ``txn`` what reconciles every dirty key. ``rows(table)`` reads the replica."""
        data = self.northd
        idx = self.idx
        switches = set(dirty.switches)
        ports = set(dirty.ports)
        flow_keys = set(dirty.flows)
        if dirty.full:
            switches |= set(data.switches) | set(idx.dp_by_ls)
            ports |= set(data.port_by_name) | set(idx.pb_by_name)
        dp_ref: dict[str, Any] = {}

        def dp_of(ls: str) -> Any:
            if ls not in dp_ref:
                dp_ref[ls] = idx.dp_by_ls.get(ls)
            return dp_ref[ls]

        dp_rows = rows("Datapath_Binding")
        for ls in sorted(switches):
            sw = data.switches.get(ls)
            uuid = idx.dp_by_ls.get(ls)
            if sw is None:
                if uuid is not None:
                    txn.delete("Datapath_Binding", uuid)
                continue
            want = {
                "tunnel_key": data.dp_keys.get(ls),
                "external_ids": {"logical-switch": ls, "name": sw.name},
            }
            if uuid is None:
                dp_ref[ls] = txn.insert("Datapath_Binding", want)
            else:
                _update_if_changed(txn, "Datapath_Binding", dp_rows[uuid], want)
        # Multicast groups and port bindings reference datapaths and each other.
        pb_ref: dict[str, Any] = {}
        pb_rows = rows("Port_Binding")
        for name in sorted(ports):
            port = data.port_by_name.get(name)
            uuid = idx.pb_by_name.get(name)
            dp = dp_of(port.switch) if port is not None else None
            if port is None or dp is None:
                if uuid is not None:
                    txn.delete("Port_Binding", uuid)
                continue
            tag = data.tag(name).tag if port.parent is not None else None
            want: dict[str, Any] = {
                "logical_port": name,
                "datapath": dp,
                "tunnel_key": data.port_key(port),
                "type": port.type,
                "options": dict(port.options),
                "mac": sorted(port.addresses),
                "parent_port": port.parent,
                "tag": tag,
                "requested_chassis": self._requested_chassis(port),
            }
            if uuid is None:
                pb_ref[name] = txn.insert("Port_Binding", want)
            else:
                _update_if_changed(txn, "Port_Binding", pb_rows[uuid], want)
        mc_rows = rows("Multicast_Group")
        mc_switches = switches | {p.switch for n in ports if (p := data.port_by_name.get(n))}
        if dirty.full:
            mc_switches |= {idx.ls_by_dp.get(dp, "") for dp, _ in idx.mc}
        for ls in sorted(mc_switches):
            self._sync_mc(txn, ls, dp_of(ls), mc_rows, pb_ref)
        self._sync_flows(txn, flow_keys, dirty.full, dp_of, rows("Logical_Flow"))

    def _requested_chassis(self, port: Any) -> Any:
        name = port.option("requested-chassis")
        if not name:
            return None
        return self.idx.chassis_by_name.get(name)

    def _sync_mc(self, txn: Txn, ls: str, dp: Any, mc_rows: Any, pb_ref: dict[str, Any]) -> None:
        data = self.northd
        sw = data.switches.get(ls)
        existing_dp = self.idx.dp_by_ls.get(ls)
        groups: dict[str, tuple[int, list[str]]] = {}
        if sw is not None and dp is not None:
            ports = [p for p in data.switch_ports(ls) if p.enabled]
            groups[MC_FLOOD] = (MC_FLOOD_KEY, sorted(p.name for p in ports))
            unknown = sorted(p.name for p in ports if has_unknown(p.addresses))
            if unknown:
                groups[MC_UNKNOWN] = (MC_UNKNOWN_KEY, unknown)
        for name in (MC_FLOOD, MC_UNKNOWN):
            uuid = self.idx.mc.get((existing_dp, name)) if existing_dp is not None else None
            wanted = groups.get(name)
            if wanted is None:
                if uuid is not None:
                    txn.delete("Multicast_Group", uuid)
                continue
            key, members = wanted
            refs = [pb_ref.get(m) or self.idx.pb_by_name.get(m) for m in members]
            want = {
                "datapath": dp,
                "name": name,
                "tunnel_key": key,
                "ports": [r for r in refs if r is not None],
            }
            if uuid is None:
                txn.insert("Multicast_Group", want)
                continue
            row = mc_rows[uuid]
            del want["ports"]
            _update_if_changed(txn, "Multicast_Group", row, want)
            # Members change one or two at a time, and a big switch floods to thousands of
            # ports: send the difference, not the whole set.
            have = row["ports"]
            known = {r for r in refs if r is not None and not isinstance(r, NamedUuid)}
            add = sorted(known - have) + [r for r in refs if isinstance(r, NamedUuid)]
            remove = sorted(have - known)
            muts: list[tuple[str, str, Any]] = []
            if remove:
                muts.append(("ports", "delete", remove))
            if add:
                muts.append(("ports", "insert", add))
            if muts:
                txn.mutate("Multicast_Group", uuid, muts)

    def _sync_flows(
        self, txn: Txn, keys: set[FlowKey], full: bool, dp_of: Any, lf_rows: Any
    ) -> None:
        idx = self.idx
        wanted = self.lflows.flows
        if full:
            keys = set(wanted) | {_nb_key(k, idx) for k in idx.flows}
        for key in keys:
            flow = wanted.get(key)
            dp = dp_of(key[0]) if key[0] is not None else None
            sb_key = (idx.dp_by_ls.get(key[0]), *key[1:]) if key[0] is not None else None
            existing = sorted(idx.flows.get(sb_key, ())) if sb_key and sb_key[0] else []
            if flow is None or dp is None:
                for uuid in existing:
                    txn.delete("Logical_Flow", uuid)
                continue
            if existing:
                for uuid in existing[1:]:  # duplicates left by someone else
                    txn.delete("Logical_Flow", uuid)
                ids = flow_external_ids(flow)
                if lf_rows[existing[0]]["external_ids"] != ids:  # the flow's holder changed
                    txn.update("Logical_Flow", existing[0], {"external_ids": ids})
                continue
            txn.raw(flow_insert_op(flow, dp))
        if full:
            # flows on datapaths northd does not know (e.g. left from deleted switches)
            for sb_key, uuids in idx.flows.items():
                if sb_key[0] not in idx.ls_by_dp:
                    for uuid in uuids:
                        txn.delete("Logical_Flow", uuid)


def _nb_key(sb_key: FlowKey, idx: SbIndex) -> FlowKey:
    return (idx.ls_by_dp.get(sb_key[0]), *sb_key[1:])


def flow_row(flow: LFlow, dp: Any) -> dict[str, Any]:
    return {
        "logical_datapath": dp,
        "pipeline": flow.stage.pipeline.value,
        "table_id": flow.stage.table,
        "priority": flow.priority,
        "match": flow.match,
        "actions": flow.actions,
        "external_ids": flow_external_ids(flow),
    }


def flow_insert_op(flow: LFlow, dp: Any) -> dict[str, Any]:
    """The insert operation of ``flow_row(flow, dp)``, written as OVSDB JSON directly: a
    load inserts tens of thousands of flows and the generic encoder (schema lookups per
    column and atom) was the largest part of building the transaction."""
    dp_json = ["named-uuid", dp.name] if isinstance(dp, NamedUuid) else ["uuid", str(dp)]
    stage = flow.stage
    return {
        "op": "insert",
        "table": "Logical_Flow",
        "row": {
            "logical_datapath": dp_json,
            "pipeline": stage.pipeline.value,
            "table_id": stage.table,
            "priority": flow.priority,
            "match": flow.match,
            "actions": flow.actions,
            "external_ids": [
                "map",
                [["stage-hint", flow.hint[:8]], ["stage-name", stage.name]],
            ],
        },
    }


def flow_external_ids(flow: LFlow) -> dict[str, str]:
    return {"stage-name": flow.stage.name, "stage-hint": flow.hint[:8]}


def _norm(value: Any) -> Any:
    """A Python value as the replica holds it, for comparison."""
    if value is None:
        return frozenset()
    if isinstance(value, NamedUuid):
        return value
    if isinstance(value, list):
        return frozenset(value)
    return value


def _update_if_changed(txn: Txn, table: str, row: RowView, want: dict[str, Any]) -> None:
    changed = {}
    for column, value in want.items():
        have = row[column]
        norm = _norm(value)
        if isinstance(have, frozenset) and not isinstance(norm, (frozenset, NamedUuid)):
            norm = frozenset((norm,))
        if have != norm:
            changed[column] = value
    if changed:
        txn.update(table, row.uuid, changed)
