"""pyovn controller: one per chassis.

Each round: make sure the Chassis is registered; give local interfaces their ports (the
simulated datapath plays ovs-vswitchd); decide which Port_Bindings to bind (binding.py);
compute and install the flow table (flows.py + physical.py); then, in one Southbound
transaction, claim what is bound here with up=true (its flows are installed by then), release
what is not, and report nb_cfg; finally mark interfaces ovn-installed.

A round does only what the changes since the last one call for (changes.py sorts them): the
rounds that the echoes of our own writes cause (claim, up, ovn-installed, nb_cfg) compute no
flows, decide nothing again and look only at the bindings that changed; a round that
computes flows classifies again only the bindings that changed (binding.Bindings) and looks
only at the Logical_Flow rows that changed or name a port that did (flows.LflowTargets,
LflowCache.update). tests/unit/controller/test_round_equivalence.py holds the rounds to what
a fresh controller computes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from pyovn.controller.binding import Bindings, Decision, Kind
from pyovn.controller.changes import CHASSIS_TABLES, affects_flows, affects_registration
from pyovn.controller.chassis import ChassisConfig, register_chassis
from pyovn.controller.flows import LflowCache, LflowTargets
from pyovn.controller.physical import LocalPort, physical_flows
from pyovn.controller.view import ChassisView
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


_OVS_TABLES = frozenset(OVS_COLUMNS)


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
        self.lflow_targets = LflowTargets()
        self.bindings = Bindings()
        self.wakeup = asyncio.Event()
        # Each part of a round runs again only when something it reads changed since it last
        # ran to the end (the listener below marks it): the flow table not for the rounds
        # our own writes cause (Port_Binding.up, our claims, ovn-installed, nb_cfg); the
        # chassis' registration, the interfaces and tunnels, the binding decisions, the
        # claims (per binding) and ovn-installed likewise.
        self.flows_dirty = True
        self._register_dirty = True
        self._ovs_dirty = True
        self._claims_dirty: set[str] | None = None  # bindings to look at (None: all)
        self._installed_dirty = True
        self._chassis_uuid: str | None = None  # of the last round
        self._ifaces: dict[str, int] = {}
        self._installed_ids: frozenset[str] | None = None
        if datapath == "ovs":
            self.backend.on_resync = self._flows_changed  # ovs-vswitchd restarted
        self.sb.add_listener(self._on_update)
        self.ovs.add_listener(self._on_update)
        self.bound: dict[str, LocalPort] = {}
        self.n_rounds = 0
        self.last_round_s = 0.0
        # set by a daemon (the process is ours alone): freeze what the first full round
        # leaves alive; embedded (sandbox, tests) nothing of the process is frozen
        self.freeze_gc = False
        self.installed_flows = 0
        self.n_flow_computations = 0  # rounds that computed the flow table
        self._port_maps: dict[int, dict[str, int]] = {}
        self._physical_memo: dict[Any, list[Any]] = {}
        self.view = ChassisView()

    @property
    def decisions(self) -> dict[str, Decision]:
        """Logical port -> this chassis' decision about it."""
        return self.bindings.decisions

    def _flows_changed(self) -> None:
        self.flows_dirty = True
        self.wakeup.set()

    def _all_dirty(self) -> None:
        self.flows_dirty = self._ovs_dirty = self._installed_dirty = True
        self._claims_dirty = None
        self.bindings.reset()

    def _on_update(self, events: list[RowEvent]) -> None:
        chassis = self._chassis_uuid
        claims = self._claims_dirty
        wake = False
        for e in events:
            table = e.table
            if table == "Port_Binding":
                self.view.forget(e.uuid)
                if claims is not None:
                    claims.add(e.uuid)
                if affects_flows(e, chassis):
                    self.flows_dirty = True
                    self.bindings.note(e.uuid)
                wake = True
                continue
            if table in _OVS_TABLES:
                if table == "Interface":
                    self._installed_dirty = True
                if affects_flows(e):
                    self.flows_dirty = self._ovs_dirty = True
                wake = True
                continue
            if table in CHASSIS_TABLES:
                if not affects_registration(e):
                    # the echo of our nb_cfg report: a round only if it is behind
                    wake = wake or self._nb_cfg_behind(e.new)
                    continue
                self._register_dirty = True
                if table != "Chassis_Private":
                    self._ovs_dirty = True  # the tunnels' peers
            self.lflow_targets.note(e)
            if not self.flows_dirty and affects_flows(e):
                self.flows_dirty = True
            wake = True
        if wake:
            self.wakeup.set()

    def _nb_cfg_behind(self, private: RowView | None) -> bool:
        sb_global = next(iter(self.sb.rows("SB_Global").values()), None)
        return (
            private is not None
            and sb_global is not None
            and private["name"] == self.name
            and private["nb_cfg"] != sb_global["nb_cfg"]
        )

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
        if self._register_dirty or self._chassis_uuid is None:
            self._register_dirty = False
            try:
                await register_chassis(self.sb, self.config)
            except BaseException:
                self._register_dirty = True
                raise
        chassis_uuid = self.chassis_uuid()
        if chassis_uuid != self._chassis_uuid:
            self._chassis_uuid = chassis_uuid
            self._all_dirty()
        ifaces = await self._interfaces(chassis_uuid)
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
        # the bindings whose claim may be due: those that changed since the last round
        dirty = self._claims_dirty if chassis_uuid is not None else None
        if chassis_uuid is not None:
            self._claims_dirty = set()
        pbs = self.sb.rows("Port_Binding")
        look = list(pbs) if dirty is None else [u for u in dirty if u in pbs]

        def build_claim(txn: Txn) -> None:
            self._claims(txn, chassis_uuid, look, installed=False, claiming=claiming)

        def send_claim() -> None:
            nonlocal claim
            if claim is None:
                claim = asyncio.ensure_future(self.sb.transact(build_claim))

        installed = False
        try:
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
            up = self.sb.transact(
                lambda txn: self._claims(txn, chassis_uuid, look, claiming=claiming)
            )
            await asyncio.gather(claim, up, self._mark_installed())
        except BaseException:
            if chassis_uuid is not None:
                again = self._claims_dirty
                self._claims_dirty = None if dirty is None or again is None else again | dirty
            raise
        self.n_rounds += 1
        self.last_round_s = time.perf_counter() - start

    async def _interfaces(self, chassis_uuid: str | None) -> dict[str, int]:
        """iface-id -> ofport of the local interfaces, with the tunnels to the other chassis
        made (again only when the Open_vSwitch tables or the chassis changed)."""
        if not self._ovs_dirty:
            return self._ifaces
        self._ovs_dirty = False
        try:
            if self.backend.assigns_ofports:
                ifaces = await self._sync_interfaces()
            else:
                ifaces = self.backend.interface_ports()
                await self.backend.sync_tunnels(self._peers(chassis_uuid))
        except BaseException:
            self._ovs_dirty = True
            raise
        self._ifaces = ifaces
        return ifaces

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
        changes = self.bindings.update(self.sb.rows("Port_Binding"), chassis_uuid, ifaces)
        if not changes:
            return
        self.flows_dirty = True
        claims = self._claims_dirty
        for name, (old, d) in changes.items():
            if old is not None and old.bind and d is not None and not d.bind:
                log.info("releasing %s: %s", name, d.reason)
            elif d is not None and d.bind and (old is None or not old.bind):
                log.info("binding %s (%s)", name, d.kind.value)
            if (old is not None and old.kind is Kind.VIF) or (d is not None and d.kind is Kind.VIF):
                self._installed_dirty = True
            uuid = self.bindings.uuid_of(name)
            if claims is not None and uuid is not None:
                claims.add(uuid)

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
        self.n_flow_computations += 1
        view = self.view.build(self.sb, self.bindings, chassis_uuid, self._tunnel)
        self.bound = view.local
        self._port_maps = view.port_maps
        flows = physical_flows(view.state, self._physical_memo)
        flows.extend(self._logical_flows(view.local_dps, view.elsewhere))
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

    def _logical_flows(self, local_dps: dict[str, int], elsewhere: frozenset[str]) -> list[Any]:
        """The compiled logical flows of the local datapaths, but for the ingress (egress)
        flows that require a VIF bound elsewhere as inport (outport); only the Logical_Flow
        rows that changed, that name a VIF that came or went elsewhere or a port whose key
        changed are looked at (all of them when the local datapaths or their groups
        changed)."""
        sb = self.sb
        targets = self.lflow_targets
        changed = targets.update(
            sb.rows("Logical_Flow"), sb.rows("Logical_DP_Group"), local_dps, elsewhere
        )
        return self.cache.update(targets.targets, changed, self._port_maps)

    # ------------------------------------------------------------------ Southbound writes

    def _claims(
        self,
        txn: Txn,
        chassis_uuid: str | None,
        look: list[str],
        installed: bool = True,
        claiming: set[Any] | None = None,
    ) -> None:
        """Bind (and, once the flows are ``installed``, set up=true) what is decided here;
        release what is not; report nb_cfg. ``look``: the Port_Bindings to look at (the
        others are as they should be). ``claiming``: the claim (``installed`` False)
        records there the bindings it takes; the up transaction, sent before the claim's
        reply, marks those up on condition that they are this chassis' by then."""
        if chassis_uuid is None:
            return
        if claiming is not None and not installed:
            claiming.clear()  # (built again when the transaction is retried)
        pbs = self.sb.rows("Port_Binding")
        decisions = self.bindings.decisions
        for uuid in look:
            pb = pbs.get(uuid)
            if pb is None:
                continue
            d = decisions.get(pb["logical_port"])
            owner = pb.one("chassis")
            mine = owner == chassis_uuid
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
        if not installed or sb_global is None:
            return
        private = self.sb.find_one("Chassis_Private", name=self.name)
        if private is not None and private["nb_cfg"] != sb_global["nb_cfg"]:
            txn.update(
                "Chassis_Private",
                private.uuid,
                {"nb_cfg": sb_global["nb_cfg"], "nb_cfg_timestamp": int(time.time() * 1000)},
            )

    async def _mark_installed(self) -> None:
        """ovn-installed on the interfaces of the VIFs bound here, and on no other (again
        only when an Interface or the VIFs bound here changed)."""
        bound_ids = frozenset(self.bindings.bound_vifs)
        if not self._installed_dirty and bound_ids == self._installed_ids:
            return
        self._installed_dirty = False

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

        try:
            await self.ovs.transact(build)
        except BaseException:
            self._installed_dirty = True
            raise
        self._installed_ids = bound_ids
