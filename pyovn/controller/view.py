"""What a chassis' flow table is computed from, gathered from the Southbound replica: the
ports bound here, their datapaths' port keys (logical port and multicast group names ->
keys, for the logical flows that name them), the VIFs of those datapaths bound elsewhere,
the ports on other chassis and their tunnels, and the multicast groups.

Each build walks every Port_Binding once, but what it needs of a binding is kept while the
row object is the same (the replica keeps an unchanged row's object), and so are the
LocalPort and RemotePort objects: the physical flows' memo then finds them unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyovn.controller.binding import Bindings, Decision
from pyovn.controller.physical import LocalPort, McGroup, PhysicalState, RemotePort, secured_macs
from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.ovsdb.client.replica import RowView

# a Port_Binding: (row, datapath, logical port, key, is a VIF, chassis, parent port)
_Info = tuple[RowView, str, str, int, bool, str | None, str | None]


@dataclass
class View:
    state: PhysicalState
    local: dict[str, LocalPort]  # logical port -> the port bound here
    local_dps: dict[str, int]  # datapaths with a port bound here: uuid -> key
    port_maps: dict[int, dict[str, int]]  # local datapath key -> name -> port key
    elsewhere: frozenset[str]  # VIFs of the local datapaths bound elsewhere (or nowhere)


class ChassisView:
    def __init__(self) -> None:
        self._info: dict[str, _Info] = {}  # Port_Binding uuid -> what the flows need of it
        self._local: dict[str, tuple[RowView, Decision, LocalPort]] = {}
        self._remote: dict[str, tuple[tuple[str, int, int, str], RemotePort]] = {}

    def forget(self, uuid: str) -> None:
        """Port_Binding ``uuid`` changed or went."""
        self._info.pop(uuid, None)

    def build(
        self,
        sb: OvsdbClient,
        bindings: Bindings,
        chassis_uuid: str | None,
        tunnel: Callable[[RowView], Any],  # Chassis row -> the tunnel to it (None: none)
    ) -> View:
        dps = sb.rows("Datapath_Binding")
        pbs = sb.rows("Port_Binding")
        decisions = bindings.decisions
        local: dict[str, LocalPort] = {}
        local_dps: dict[str, int] = {}
        memo, self._local = self._local, {}
        for uuid in bindings.bind_uuids:
            pb = pbs.get(uuid)
            d = decisions.get(pb["logical_port"]) if pb is not None else None
            dp = dps.get(pb["datapath"]) if pb is not None else None
            if pb is None or d is None or dp is None:
                continue
            dp_key = local_dps[dp.uuid] = dp["tunnel_key"]
            hit = memo.get(uuid)
            if hit is not None and hit[0] is pb and hit[1] is d and hit[2].dp_key == dp_key:
                port = hit[2]
            else:
                name = pb["logical_port"]
                macs = secured_macs(pb["port_security"])
                port = LocalPort(name, dp_key, pb["tunnel_key"], d.ofport, d.tag, macs)
            self._local[uuid] = (pb, d, port)
            local[port.name] = port
        state = PhysicalState(local=list(local.values()))
        chassis_rows = sb.rows("Chassis")
        port_maps: dict[int, dict[str, int]] = {}
        remote_of: dict[str, str] = {}  # Port_Binding uuid -> the chassis it has a tunnel to
        # VIFs (containers too) of the local datapaths that are not bound here: no packet
        # enters the ingress pipeline from them, nor runs the egress pipeline to them, on
        # this chassis
        elsewhere: set[str] = set()
        tunnels: dict[str, Any] = {}  # chassis uuid -> (name, its tunnel) or None
        info = self._info
        remotes, self._remote = self._remote, {}

        def remote_port(uuid: str, hit: _Info, dp_key: int, owner: str) -> None:
            if owner not in tunnels:
                ch = chassis_rows.get(owner)
                tunnels[owner] = (ch["name"], tunnel(ch)) if ch is not None else None
            to = tunnels[owner]
            if to is None or to[1] is None:
                return
            state.tunnels[to[0]] = to[1]
            remote_of[uuid] = to[0]
            fields = (hit[2], dp_key, hit[3], to[0])
            known = remotes.get(uuid)
            rport = known[1] if known is not None and known[0] == fields else RemotePort(*fields)
            self._remote[uuid] = (fields, rport)
            state.remote.append(rport)

        owners: dict[str, str | None] = {}  # logical port -> the chassis that claimed it
        unclaimed: list[tuple[str, _Info, int]] = []  # containers not claimed yet
        for uuid, pb in pbs.items():
            hit = info.get(uuid)
            if hit is None or hit[0] is not pb:
                hit = info[uuid] = _info(pb)
            owners[hit[2]] = hit[5]
            dp_key = local_dps.get(hit[1])
            if dp_key is None:
                continue
            _, _, name, key, vif, owner, parent = hit
            ports = port_maps.get(dp_key)
            if ports is None:
                ports = port_maps[dp_key] = {}
            ports[name] = key
            if name in local:
                continue
            if vif:
                elsewhere.add(name)
            if owner is None and parent is not None:
                unclaimed.append((uuid, hit, dp_key))
            elif owner is not None and owner != chassis_uuid:
                remote_port(uuid, hit, dp_key, owner)
        # A container lives where its parent VM is bound. Until that chassis has claimed it,
        # its packets already take the tunnel there (where they are dropped until its flows
        # are in, as they would be here), so that other chassis reach a new container
        # without waiting for the claim's round trip through the SB server.
        for uuid, hit, dp_key in unclaimed:
            owner = owners.get(hit[6])  # type: ignore[arg-type]
            if owner is not None and owner != chassis_uuid:
                remote_port(uuid, hit, dp_key, owner)
        local_keys = {(p.dp_key, p.key) for p in local.values()}
        for mc in sb.rows("Multicast_Group").values():
            dp_key = local_dps.get(mc["datapath"])
            if dp_key is None:
                continue
            port_maps.setdefault(dp_key, {})[mc["name"]] = mc["tunnel_key"]
            members_local = []
            remote: set[str] = set()
            for member in mc["ports"]:
                hit = info.get(member)
                if hit is None:
                    continue
                if (dp_key, hit[3]) in local_keys:
                    members_local.append(hit[3])
                elif member in remote_of:
                    remote.add(remote_of[member])
            members = tuple(sorted(members_local))
            state.groups.append(McGroup(dp_key, mc["tunnel_key"], members, tuple(sorted(remote))))
        return View(state, local, local_dps, port_maps, frozenset(elsewhere))


def _info(pb: RowView) -> _Info:
    return (
        pb,
        pb["datapath"],
        pb["logical_port"],
        pb["tunnel_key"],
        pb["type"] == "",
        pb.one("chassis"),
        pb.one("parent_port"),
    )
