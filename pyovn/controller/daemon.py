"""pyovn controller: one per chassis.

Each round: make sure the Chassis is registered; give local interfaces their ports (the
simulated datapath plays ovs-vswitchd); decide which Port_Bindings to bind (binding.py);
compute and install the flow table (flows.py + physical.py); then, in one Southbound
transaction, claim what is bound here with up=true (its flows are installed by then), release
what is not, and report nb_cfg; finally mark interfaces ovn-installed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from pyovn.controller.binding import Decision, Kind, classify
from pyovn.controller.chassis import ChassisConfig, register_chassis
from pyovn.controller.flows import LflowCache
from pyovn.controller.lflow import required_inport
from pyovn.controller.physical import LocalPort, McGroup, PhysicalState, RemotePort, physical_flows
from pyovn.daemon import tune_gc
from pyovn.datapath.sim_backend import GENEVE_PORT, SimBackend
from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.ovsdb.client.replica import RowEvent, RowView
from pyovn.ovsdb.client.txn import Txn

log = logging.getLogger("pyovn.controller")

SB_TABLES = (
    "SB_Global",
    "Chassis",
    "Chassis_Private",
    "Encap",
    "Datapath_Binding",
    "Port_Binding",
    "Multicast_Group",
    "Logical_Flow",
    "Logical_DP_Group",
)
# only the columns the controller reads: ovs-vswitchd rewrites others (statistics, status,
# link state...) every few seconds, and each update would wake the controller for a round
OVS_COLUMNS = {
    "Open_vSwitch": ["bridges"],
    "Bridge": ["name", "ports"],
    "Port": ["name", "interfaces", "external_ids"],
    "Interface": ["name", "type", "ofport", "external_ids", "options"],
}


# changes that cannot alter the flow table: the bindings' up flag and what this chassis
# writes back (nb_cfg, ovn-installed)
_NO_FLOW_TABLES = frozenset({"SB_Global", "Chassis_Private"})
# what decides which Logical_Flow rows apply to which local datapath keys
_LFLOW_TABLES = frozenset({"Logical_Flow", "Logical_DP_Group", "Datapath_Binding"})


def _affects_flows(event: RowEvent) -> bool:
    if event.table in _NO_FLOW_TABLES:
        return False
    old, new = event.old, event.new
    if old is None or new is None:
        return True
    changed = {c for c in new if c not in old or new[c] != old[c]}
    if event.table == "Port_Binding":
        return not changed <= {"up"}
    if event.table == "Interface" and changed <= {"external_ids"}:
        return old["external_ids"].get("iface-id") != new["external_ids"].get("iface-id")
    return bool(changed)


class Controller:
    def __init__(
        self,
        sb_remote: str,
        ovs_remote: str,
        chassis: str,
        encap_ip: str,
        encap_type: str = "geneve",
        encap_port: int = GENEVE_PORT,
        hostname: str | None = None,
        datapath: str = "sim",
        ovs_datapath_type: str = "netdev",
    ) -> None:
        self.config = ChassisConfig(
            chassis, hostname or socket.gethostname(), encap_type, encap_ip, encap_port
        )
        self.sb = OvsdbClient(sb_remote, "OVN_Southbound")
        self.ovs = OvsdbClient(ovs_remote, "Open_vSwitch")
        for t in SB_TABLES:
            self.sb.watch(t)
        for t, columns in OVS_COLUMNS.items():
            self.ovs.watch(t, columns)
        self.datapath = datapath
        self.backend: Any
        if datapath == "ovs":
            from pyovn.datapath.ovs import OvsBackend

            self.backend = OvsBackend(
                chassis,
                encap_ip,
                self.ovs,
                datapath_type=ovs_datapath_type,
                encap_port=encap_port,
                encap_type=encap_type,
            )
        else:
            self.backend = SimBackend(chassis, encap_ip, encap_port)
        self.cache = LflowCache()
        self.wakeup = asyncio.Event()
        # the flow table is recomputed only when something it depends on changed: not for
        # the rounds our own writes cause (Port_Binding.up, ovn-installed, nb_cfg)
        self.flows_dirty = True
        if datapath == "ovs":
            self.backend.on_resync = self._flows_changed  # ovs-vswitchd restarted
        self.sb.add_listener(self._on_update)
        self.ovs.add_listener(self._on_update)
        self.decisions: dict[str, Decision] = {}  # logical port -> decision
        self.bound: dict[str, LocalPort] = {}
        self.n_rounds = 0
        self.last_round_s = 0.0
        # set by a daemon (the process is ours alone): freeze what the first full round
        # leaves alive; embedded (sandbox, tests) nothing of the process is frozen
        self.freeze_gc = False
        self.installed_flows = 0
        self._port_maps: dict[int, dict[str, int]] = {}
        self._physical_memo: dict[Any, list[Any]] = {}
        # the logical flows of the last install and what they were computed from
        self._lflow_rows_dirty = True
        self._lflow_rows: tuple[set[str], list[RowView], dict[str, list[int]]] | None = None
        self._lflow_out: tuple[dict[int, dict[str, int]], list[Any]] | None = None
        self._lflow_elsewhere: frozenset[str] = frozenset()

    def _flows_changed(self) -> None:
        self.flows_dirty = True
        self.wakeup.set()

    def _on_update(self, events: list[RowEvent]) -> None:
        if not self.flows_dirty and any(_affects_flows(e) for e in events):
            self.flows_dirty = True
        if not self._lflow_rows_dirty and any(e.table in _LFLOW_TABLES for e in events):
            self._lflow_rows_dirty = True
        self.wakeup.set()

    @property
    def name(self) -> str:
        return self.config.name

    def chassis_uuid(self) -> str | None:
        row = self.sb.find_one("Chassis", name=self.name)
        return None if row is None else row.uuid

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self.datapath == "sim":
            await self.backend.start()
            self.config.port = self.backend.encap_port
        await self.sb.start()
        await self.ovs.start()
        if self.datapath != "sim":
            await self.backend.start()

    async def run(self, stop: asyncio.Event) -> None:
        tune_gc()
        await self.start()
        stopper = asyncio.ensure_future(stop.wait())
        self.wakeup.set()
        try:
            while not stop.is_set():
                waiter = asyncio.ensure_future(self.wakeup.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if stop.is_set():
                    break
                self.wakeup.clear()
                try:
                    await self.round()
                except Exception as exc:  # keep the chassis alive; retry soon
                    log.warning("round failed (%s); retrying", exc, exc_info=log.isEnabledFor(10))
                    await asyncio.sleep(0.2)
                    self.wakeup.set()
                    continue
                if self.freeze_gc:
                    # the replicas and the compiled flows of the first full round live on:
                    # out of the collector's sight, so that a collection in the middle of a
                    # port's round scans only what changed since (not 10+ ms of heap)
                    tune_gc(freeze=True)
                    self.freeze_gc = False  # once
        finally:
            stopper.cancel()
            await self.close()

    async def close(self) -> None:
        self.backend.close()
        await self.sb.close()
        await self.ovs.close()

    # ------------------------------------------------------------------ one round

    async def round(self) -> None:
        start = time.perf_counter()
        await register_chassis(self.sb, self.config)
        chassis_uuid = self.chassis_uuid()
        if self.backend.assigns_ofports:
            ifaces = await self._sync_interfaces()
        else:
            ifaces = self.backend.interface_ports()
            await self.backend.sync_tunnels(self._peers(chassis_uuid))
        self._decide(chassis_uuid, ifaces)
        # As ovn-controller: the flow_mods go to the switch first, then the claim
        # (Port_Binding.chassis) while the switch installs them, so other chassis start on
        # their tunnel flows without the claim's echoes (server, northd, other chassis)
        # competing with this round's flow computation for the CPU. up=true once the switch
        # has confirmed the flows, sent right behind the claim without waiting for its reply
        # (the server takes a connection's transactions in order; the up transaction checks
        # that the ports it marks are this chassis' by then).
        claiming: set[Any] = set()  # Port_Bindings the claim takes
        claim: asyncio.Future[Any] | None = None

        def build_claim(txn: Txn) -> None:
            self._claims(txn, chassis_uuid, installed=False, claiming=claiming)

        def send_claim() -> None:
            nonlocal claim
            if claim is None:
                claim = asyncio.ensure_future(self.sb.transact(build_claim))

        installed = False
        try:
            if self.flows_dirty:
                self.flows_dirty = False  # (changes from now on mark it again)
                try:
                    await self._install(chassis_uuid, send_claim)
                except BaseException:
                    self.flows_dirty = True
                    raise
            installed = True
        finally:
            send_claim()
            assert claim is not None
            if not installed:
                await claim
        # ovn-installed in the Open_vSwitch DB at the same time
        await asyncio.gather(
            claim,
            self.sb.transact(lambda txn: self._claims(txn, chassis_uuid, claiming=claiming)),
            self._mark_installed(),
        )
        self.n_rounds += 1
        self.last_round_s = time.perf_counter() - start

    async def _sync_interfaces(self) -> dict[str, int]:
        """iface-id -> ofport; gives every interface a port on the simulated switch."""
        rows = self.ovs.rows("Interface")
        present = set()
        ofports: dict[str, int] = {}
        for row in rows.values():
            name = row["name"]
            if row["type"] not in ("", "internal", "system"):
                continue
            present.add(name)
            ofports[row.uuid] = self.backend.vif_port(name)
        for name in [
            n for n in self.backend.switch.by_name if n not in present and not n.startswith("ovn-")
        ]:
            self.backend.remove_vif(name)

        def build(txn: Txn) -> None:
            for uuid, ofport in ofports.items():
                row = self.ovs.rows("Interface").get(uuid)
                if row is not None and row.one("ofport") != ofport:
                    txn.update("Interface", uuid, {"ofport": [ofport]})

        await self.ovs.transact(build)
        out = {}
        for uuid, ofport in ofports.items():
            iface_id = rows[uuid]["external_ids"].get("iface-id") if uuid in rows else None
            if iface_id:
                out[iface_id] = ofport
        return out

    def _decide(self, chassis_uuid: str | None, ifaces: dict[str, int]) -> None:
        pbs = self.sb.rows("Port_Binding")
        decisions: dict[str, Decision] = {}
        bound_vifs: dict[str, int] = {}
        children = []
        for pb in pbs.values():
            if pb.one("parent_port") is not None:
                children.append(pb)
                continue
            d = classify(pb, chassis_uuid, ifaces, bound_vifs)
            decisions[pb["logical_port"]] = d
            if d.kind is Kind.VIF:
                bound_vifs[pb["logical_port"]] = d.ofport
        for pb in children:
            decisions[pb["logical_port"]] = classify(pb, chassis_uuid, ifaces, bound_vifs)
        for name, d in decisions.items():
            old = self.decisions.get(name)
            if old is not None and old.bind and not d.bind:
                log.info("releasing %s: %s", name, d.reason)
            elif d.bind and (old is None or not old.bind):
                log.info("binding %s (%s)", name, d.kind.value)
        self.decisions = decisions

    # ------------------------------------------------------------------ flows

    def _peers(self, chassis_uuid: str | None) -> dict[str, tuple[str, int]]:
        """Every other chassis with a tunnel endpoint: name -> (ip, UDP port)."""
        out = {}
        for row in self.sb.rows("Chassis").values():
            if row.uuid == chassis_uuid:
                continue
            for encap_uuid in row["encaps"]:
                encap = self.sb.get("Encap", encap_uuid)
                if encap is not None and encap["type"] in ("geneve", "vxlan"):
                    port = int(encap["options"].get("dst_port", GENEVE_PORT))
                    out[row["name"]] = (encap["ip"], port)
                    break
        return out

    async def _install(
        self, chassis_uuid: str | None, flows_sent: Callable[[], None] | None = None
    ) -> None:
        """Compute the flow table and install it; ``flows_sent`` is called once the backend
        has sent the changes, while the switch is installing them."""
        sb = self.sb
        dps = sb.rows("Datapath_Binding")
        pbs = sb.rows("Port_Binding")
        local: dict[str, LocalPort] = {}
        local_dps: set[str] = set()
        for pb in pbs.values():
            d = self.decisions.get(pb["logical_port"])
            if d is None or not d.bind:
                continue
            dp = dps.get(pb["datapath"])
            if dp is None:
                continue
            local_dps.add(dp.uuid)
            local[pb["logical_port"]] = LocalPort(
                pb["logical_port"],
                dp["tunnel_key"],
                pb["tunnel_key"],
                d.ofport,
                d.tag,
                _secured_macs(pb),
            )
        self.bound = local
        state = PhysicalState(local=list(local.values()))
        chassis_rows = sb.rows("Chassis")
        port_maps: dict[int, dict[str, int]] = {}
        pb_chassis: dict[str, str | None] = {}
        # VIFs (containers too) of the local datapaths that are not bound here: no packet
        # enters the ingress pipeline from them on this chassis
        elsewhere: set[str] = set()
        for pb in pbs.values():
            if pb["datapath"] not in local_dps:
                continue
            dp_key = dps[pb["datapath"]]["tunnel_key"]
            port_maps.setdefault(dp_key, {})[pb["logical_port"]] = pb["tunnel_key"]
            owner = pb.one("chassis")
            pb_chassis[pb.uuid] = owner
            if pb["logical_port"] in local:
                continue
            if pb["type"] == "":
                elsewhere.add(pb["logical_port"])
            if owner is None or owner == chassis_uuid:
                continue
            ch = chassis_rows.get(owner)
            tunnel = self._tunnel(ch) if ch is not None else None
            if tunnel is not None:
                state.tunnels[ch["name"]] = tunnel
                state.remote.append(
                    RemotePort(pb["logical_port"], dp_key, pb["tunnel_key"], ch["name"])
                )
        local_keys = {(p.dp_key, p.key) for p in local.values()}
        for mc in sb.rows("Multicast_Group").values():
            if mc["datapath"] not in local_dps:
                continue
            dp_key = dps[mc["datapath"]]["tunnel_key"]
            port_maps.setdefault(dp_key, {})[mc["name"]] = mc["tunnel_key"]
            members_local = []
            remote: set[str] = set()
            for member in mc["ports"]:
                pb = pbs.get(member)
                if pb is None:
                    continue
                if (dp_key, pb["tunnel_key"]) in local_keys:
                    members_local.append(pb["tunnel_key"])
                    continue
                owner = pb_chassis.get(member)
                ch = chassis_rows.get(owner) if owner else None
                if ch is not None and ch["name"] in state.tunnels:
                    remote.add(ch["name"])
            state.groups.append(
                McGroup(
                    dp_key, mc["tunnel_key"], tuple(sorted(members_local)), tuple(sorted(remote))
                )
            )
        self._port_maps = port_maps
        flows = physical_flows(state, self._physical_memo)
        flows.extend(self._logical_flows(local_dps, dps, frozenset(elsewhere)))
        result = self.backend.install(flows)
        if asyncio.iscoroutine(result):
            # the backend runs up to its first wait (the switch's barrier) before the task
            # that ``flows_sent`` starts gets its turn
            task = asyncio.ensure_future(result)
            if flows_sent is not None:
                flows_sent()
            result = await task
        elif flows_sent is not None:
            flows_sent()
        added, removed = result
        self.installed_flows = len(flows)
        if added or removed:
            log.debug("flow table: +%d -%d (%d)", added, removed, self.installed_flows)

    def _tunnel(self, chassis: RowView) -> Any:
        for encap_uuid in chassis["encaps"]:
            encap = self.sb.get("Encap", encap_uuid)
            if encap is None or encap["type"] not in ("geneve", "vxlan"):
                continue
            port = int(encap["options"].get("dst_port", GENEVE_PORT))
            return self.backend.tunnel(chassis["name"], encap["ip"], port)
        return None

    def _logical_flows(
        self, local_dps: set[str], dps: dict[str, RowView], elsewhere: frozenset[str]
    ) -> list[Any]:
        """The compiled logical flows of the local datapaths, but for the ingress flows of
        VIFs bound elsewhere (``elsewhere``). Unchanged Logical_Flow rows, local datapaths,
        remote VIFs and port keys give back the last list without looking at a row."""
        known = self._lflow_rows
        if (
            self._lflow_rows_dirty
            or known is None
            or known[0] != local_dps
            or self._lflow_elsewhere != elsewhere
        ):
            self._lflow_rows_dirty = False
            rows, dp_of = self._lflow_targets(local_dps, dps, elsewhere)
            self._lflow_rows = (set(local_dps), rows, dp_of)
            self._lflow_elsewhere = elsewhere
            self._lflow_out = None
        else:
            _, rows, dp_of = known
        last = self._lflow_out
        if last is not None and last[0] == self._port_maps:
            return last[1]
        flows = self.cache.flows(rows, dp_of, self._port_maps)
        self._lflow_out = (self._port_maps, flows)
        return flows

    def _lflow_targets(
        self, local_dps: set[str], dps: dict[str, RowView], elsewhere: frozenset[str]
    ) -> tuple[list[RowView], dict[str, list[int]]]:
        groups = self.sb.rows("Logical_DP_Group")
        dp_of: dict[str, list[int]] = {}
        rows = []
        for row in self.sb.rows("Logical_Flow").values():
            if elsewhere and row["pipeline"] == "ingress":
                inport = required_inport(row["match"])
                if inport is not None and inport in elsewhere:
                    continue
            targets: list[str] = []
            dp = row.one("logical_datapath")
            if dp is not None:
                targets = [dp]
            else:
                group = row.one("logical_dp_group")
                if group is not None and group in groups:
                    targets = list(groups[group]["datapaths"])
            keys = [dps[t]["tunnel_key"] for t in targets if t in local_dps and t in dps]
            if keys:
                dp_of[row.uuid] = keys
                rows.append(row)
        return rows, dp_of

    # ------------------------------------------------------------------ Southbound writes

    def _claims(
        self,
        txn: Txn,
        chassis_uuid: str | None,
        installed: bool = True,
        claiming: set[Any] | None = None,
    ) -> None:
        """Bind (and, once the flows are ``installed``, set up=true) what is decided here;
        release what is not; report nb_cfg. ``claiming``: the claim (``installed`` False)
        records there the bindings it takes; the up transaction, sent before the claim's
        reply, marks those up on condition that they are this chassis' by then."""
        if chassis_uuid is None:
            return
        if claiming is not None and not installed:
            claiming.clear()  # (built again when the transaction is retried)
        for pb in self.sb.rows("Port_Binding").values():
            name = pb["logical_port"]
            d = self.decisions.get(name)
            mine = pb.one("chassis") == chassis_uuid
            owner = pb.one("chassis")
            taken = owner is not None and not mine and pb.one("requested_chassis") != chassis_uuid
            if d is not None and d.bind and not taken:
                if not installed:
                    if not mine:
                        txn.verify("Port_Binding", pb.uuid, {"chassis": pb["chassis"]})
                        txn.update("Port_Binding", pb.uuid, {"chassis": chassis_uuid, "up": False})
                        if claiming is not None:
                            claiming.add(pb.uuid)
                elif not mine and claiming is not None and pb.uuid in claiming:
                    # our claim, not in the replica yet: it commits first or this fails
                    txn.verify("Port_Binding", pb.uuid, {"chassis": frozenset({chassis_uuid})})
                    txn.update("Port_Binding", pb.uuid, {"up": True})
                elif not mine or pb.one("up") is not True:
                    txn.verify("Port_Binding", pb.uuid, {"chassis": pb["chassis"]})
                    txn.update("Port_Binding", pb.uuid, {"chassis": chassis_uuid, "up": True})
            elif mine:
                txn.verify("Port_Binding", pb.uuid, {"chassis": pb["chassis"]})
                txn.update("Port_Binding", pb.uuid, {"chassis": None, "up": False})
        sb_global = next(iter(self.sb.rows("SB_Global").values()), None)
        private = self.sb.find_one("Chassis_Private", name=self.name)
        if (
            installed
            and sb_global is not None
            and private is not None
            and private["nb_cfg"] != sb_global["nb_cfg"]
        ):
            txn.update(
                "Chassis_Private",
                private.uuid,
                {"nb_cfg": sb_global["nb_cfg"], "nb_cfg_timestamp": int(time.time() * 1000)},
            )

    async def _mark_installed(self) -> None:
        bound_ids = {n for n, d in self.decisions.items() if d.kind is Kind.VIF}

        def build(txn: Txn) -> None:
            for row in self.ovs.rows("Interface").values():
                iface_id = row["external_ids"].get("iface-id")
                installed = row["external_ids"].get("ovn-installed") == "true"
                if iface_id in bound_ids and not installed:
                    txn.mutate(
                        "Interface",
                        row.uuid,
                        [("external_ids", "insert", {"ovn-installed": "true"})],
                    )
                elif installed and iface_id not in bound_ids:
                    txn.mutate(
                        "Interface", row.uuid, [("external_ids", "delete", ["ovn-installed"])]
                    )

        await self.ovs.transact(build)


def _secured_macs(pb: RowView) -> tuple[int, ...]:
    """The MACs of a binding's port_security entries ("MAC [IP...]")."""
    out = []
    for entry in sorted(pb["port_security"]):
        word = entry.split()[0] if entry.split() else ""
        if len(word) == 17 and word.count(":") == 5:
            try:
                out.append(int(word.replace(":", ""), 16))
            except ValueError:
                continue
    return tuple(out)
