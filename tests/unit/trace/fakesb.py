"""A hand-built Southbound database for trace tests: rows shaped as pyovn's replica holds
them (optional columns as frozensets, maps as dicts), with predictable uuids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pyovn.northd.lflows.switch import port_flows, port_wants_unknown, switch_flows
from pyovn.northd.model import PortInfo, SwitchInfo
from pyovn.northd.stages import MC_FLOOD, MC_FLOOD_KEY, MC_UNKNOWN, MC_UNKNOWN_KEY


class FakeSb:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self._n = 0

    def rows(self, table: str) -> Mapping[str, Mapping[str, Any]]:
        return self.tables.get(table, {})

    def _insert(self, table: str, row: dict[str, Any], prefix: str) -> str:
        self._n += 1
        uuid = f"{prefix}{self._n:06x}-0000-4000-8000-000000000000"
        self.tables.setdefault(table, {})[uuid] = row
        return uuid

    def datapath(self, name: str, key: int = 1, nb_uuid: str | None = None) -> str:
        ext = {"name": name}
        if nb_uuid:
            ext["logical-switch"] = nb_uuid
        return self._insert("Datapath_Binding", {"tunnel_key": key, "external_ids": ext}, "d0")

    def port(
        self,
        dp: str,
        name: str,
        key: int = 1,
        *,
        type: str = "",
        parent: str | None = None,
        tag: int | None = None,
        options: Mapping[str, str] | None = None,
    ) -> str:
        row = {
            "logical_port": name,
            "datapath": dp,
            "tunnel_key": key,
            "type": type,
            "parent_port": frozenset({parent} if parent else ()),
            "tag": frozenset({tag} if tag is not None else ()),
            "options": dict(options or {}),
        }
        return self._insert("Port_Binding", row, "b0")

    def mcgroup(self, dp: str, name: str, ports: Iterable[str], key: int = 32768) -> str:
        by_name = {r["logical_port"]: u for u, r in self.rows("Port_Binding").items()}
        row = {
            "datapath": dp,
            "name": name,
            "tunnel_key": key,
            "ports": frozenset(by_name[p] for p in ports),
        }
        return self._insert("Multicast_Group", row, "c0")

    def flow(
        self,
        dp: str | None,
        pipeline: str,
        table: int,
        priority: int,
        match: str,
        actions: str,
        stage: str | None = None,
        *,
        dp_group: str | None = None,
        source: str | None = None,
    ) -> str:
        ext = {}
        if stage:
            ext["stage-name"] = stage
        if source:
            ext["source"] = source
        row = {
            "logical_datapath": frozenset({dp} if dp else ()),
            "logical_dp_group": frozenset({dp_group} if dp_group else ()),
            "pipeline": pipeline,
            "table_id": table,
            "priority": priority,
            "match": match,
            "actions": actions,
            "external_ids": ext,
        }
        return self._insert("Logical_Flow", row, "f0")

    def dp_group(self, *dps: str) -> str:
        return self._insert("Logical_DP_Group", {"datapaths": frozenset(dps)}, "e0")


def northd_switch(
    sb: FakeSb,
    name: str,
    ports: Iterable[PortInfo],
    *,
    tags: Mapping[str, int] | None = None,
    key: int = 1,
) -> str:
    """Add a logical switch with pyovn northd's own logical flows and multicast groups."""
    ports = list(ports)
    nb_uuid = f"5{key:07x}-0000-4000-8000-00000000000a"
    dp = sb.datapath(name, key, nb_uuid)
    for index, port in enumerate(ports, 1):
        tag = (tags or {}).get(port.name)
        sb.port(dp, port.name, index, type=port.type, parent=port.parent, tag=tag)
    info = SwitchInfo(nb_uuid, name, frozenset(p.uuid for p in ports))
    flows = switch_flows(info, any(port_wants_unknown(p) for p in ports))
    for port in ports:
        flows.extend(port_flows(port))
    for flow in flows:
        sb.flow(dp, flow.stage.pipeline.value, flow.stage.table, flow.priority, flow.match,
                flow.actions, flow.stage.name)  # fmt: skip
    enabled = sorted(p.name for p in ports if p.enabled)
    sb.mcgroup(dp, MC_FLOOD, enabled, MC_FLOOD_KEY)
    unknown = sorted(p.name for p in ports if port_wants_unknown(p))
    if unknown:
        sb.mcgroup(dp, MC_UNKNOWN, unknown, MC_UNKNOWN_KEY)
    return dp


def vif(name: str, mac: str | None, ip: str = "", **kw: Any) -> PortInfo:
    """A port as NB would describe it (addresses "MAC IP", or "unknown" when mac is None)."""
    addresses = frozenset({f"{mac} {ip}".strip()} if mac else {"unknown"})
    return PortInfo(uuid=f"lsp-{name}", name=name, switch="sw", addresses=addresses, **kw)
