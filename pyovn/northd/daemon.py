"""pyovn northd: keeps the Southbound database in step with the Northbound database.

Holds the SB lock ``ovn_northd`` so that one northd writes at a time (others stand by).
Each round: run the engine on the NB changes, reconcile the dirty SB keys in one SB
transaction, then write back to NB what northd owns there (container tags, ``up``,
``pyovn:error``, ``sb_cfg``/``hv_cfg``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from pyovn.daemon import tune_gc
from pyovn.northd.graph import NB_TABLES, build_graph
from pyovn.northd.nodes.northd_data import ExistingKeys
from pyovn.northd.sync import Dirty, SbIndex, SbSync, flow_row_key
from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.ovsdb.client.replica import RowEvent
from pyovn.ovsdb.client.txn import Txn

log = logging.getLogger("pyovn.northd")

LOCK = "ovn_northd"
SB_TABLES = (
    "SB_Global",
    "Chassis",
    "Chassis_Private",
    "Datapath_Binding",
    "Port_Binding",
    "Multicast_Group",
    "Logical_Flow",
)
PB_OWNED = (
    "logical_port",
    "datapath",
    "tunnel_key",
    "type",
    "options",
    "mac",
    "parent_port",
    "tag",
    "requested_chassis",
)
ERROR_KEY = "pyovn:error"


class Northd:
    def __init__(self, nb_remote: str, sb_remote: str) -> None:
        self.nb = OvsdbClient(nb_remote, "OVN_Northbound", probe_interval=probe_interval(nb_remote))
        self.sb = OvsdbClient(sb_remote, "OVN_Southbound", probe_interval=probe_interval(sb_remote))
        for table in ("NB_Global", *NB_TABLES):
            self.nb.watch(table)
        for table in SB_TABLES:
            self.sb.watch(table)
        self.graph = build_graph(self.nb.rows, self._existing_keys)
        self.idx = SbIndex()
        self.syncer = SbSync(self.graph.northd, self.graph.lflow, self.idx)
        self.dirty = Dirty(full=True)
        self.nb_dirty: set[str] = set()
        self.nb_full = True
        self.force_recompute = True
        self.wakeup = asyncio.Event()
        self._seen_reconnects = (0, 0)
        self.n_rounds = 0
        self.last_round_s = 0.0
        # set by a daemon (the process is ours alone): freeze what the first full round
        # leaves alive; embedded (sandbox, tests) nothing of the process is frozen
        self.freeze_gc = False
        self.nb.add_listener(self._on_nb)
        self.sb.add_listener(self._on_sb)
        self.sb.lock_listeners.append(self._on_lock)

    # ------------------------------------------------------------------ events

    def _on_nb(self, events: list[RowEvent]) -> None:
        self.graph.nb.on_events(events)
        self.wakeup.set()

    def _on_sb(self, events: list[RowEvent]) -> None:
        # datapaths deleted in this batch, still needed to place their groups and flows
        gone = {
            ev.uuid: ev.old["external_ids"].get("logical-switch")
            for ev in events
            if ev.table == "Datapath_Binding" and ev.old is not None
        }
        self.idx.on_events(events)
        if not self.active:  # a standby reconciles everything when it takes over
            self.wakeup.set()
            return
        for ev in events:
            if ev.table == "Port_Binding":
                row = ev.new or ev.old
                assert row is not None
                self.nb_dirty.add(row["logical_port"])
                if ev.new is None or (
                    ev.old is not None and any(ev.old[c] != ev.new[c] for c in PB_OWNED)
                ):
                    self.dirty.ports.add(row["logical_port"])
            elif ev.table == "Chassis":
                self.dirty.ports |= {
                    p.name
                    for p in self.graph.northd.ports.values()
                    if p.option("requested-chassis")
                }
            elif ev.old is None:
                continue  # inserts: northd's own (rows others add are removed at a full sync)
            # A row northd owns changed or went away (northd's own change, or someone else's
            # to repair): reconcile just its key; the next round finds nothing to do when the
            # row is as northd wants it.
            elif ev.table == "Datapath_Binding":
                ls = ev.old["external_ids"].get("logical-switch")
                if ls is not None:
                    self.dirty.switches.add(ls)
            elif ev.table == "Multicast_Group":
                ls = self.idx.ls_by_dp.get(ev.old["datapath"]) or gone.get(ev.old["datapath"])
                if ls is not None:
                    self.dirty.switches.add(ls)
            elif ev.table == "Logical_Flow":
                for row in (ev.old, ev.new):
                    if row is None:
                        continue
                    dp = row.one("logical_datapath")
                    ls = self.idx.ls_by_dp.get(dp) or gone.get(dp)
                    if ls is not None:
                        self.dirty.flows.add((ls, *flow_row_key(row)[1:]))
        self.wakeup.set()

    def _on_lock(self, name: str, held: bool) -> None:
        log.info("%s lock %s", LOCK, "acquired: active" if held else "lost: standby")
        if held:
            # another northd may have written SB meanwhile: start from what SB has
            self.force_recompute = True
            self.dirty.full = True
            self.nb_full = True
        self.wakeup.set()

    def _existing_keys(self) -> ExistingKeys:
        keys = ExistingKeys()
        for row in self.sb.rows("Datapath_Binding").values():
            ls = row["external_ids"].get("logical-switch")
            if ls is not None:
                keys.datapaths[ls] = row["tunnel_key"]
        for row in self.sb.rows("Port_Binding").values():
            keys.ports[row["logical_port"]] = row["tunnel_key"]
        return keys

    # ------------------------------------------------------------------ status

    @property
    def active(self) -> bool:
        return self.sb.has_lock(LOCK)

    def status(self) -> str:
        return "Status: active\n" if self.active else "Status: standby\n"

    def stats_text(self) -> str:
        return self.graph.engine.stats_text()

    # ------------------------------------------------------------------ main loop

    async def start(self) -> None:
        await self.nb.start()
        await self.sb.start()
        self._seen_reconnects = (self.nb.n_reconnects, self.sb.n_reconnects)
        self.idx.on_events(
            [RowEvent(t, u, None, r) for t in SB_TABLES for u, r in self.sb.rows(t).items()]
        )
        await self.sb.lock(LOCK, wait=False)

    async def run(self, stop: asyncio.Event) -> None:
        tune_gc()
        await self.start()
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                waiter = asyncio.ensure_future(self.wakeup.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if stop.is_set():
                    break
                self.wakeup.clear()
                await self.round()
                if self.freeze_gc and self.n_rounds:
                    # the replicas and the data of the first full round live on: out of the
                    # collector's sight, so a collection during a later round scans only
                    # what changed since, not the whole heap (10 ms for a small lab)
                    tune_gc(freeze=True)
                    self.freeze_gc = False  # once
        finally:
            stopper.cancel()
            await self.close()

    async def close(self) -> None:
        await self.nb.close()
        await self.sb.close()

    async def round(self) -> None:
        """One iteration: engine, SB transaction, NB transaction."""
        if not self.active:
            return
        reconnects = (self.nb.n_reconnects, self.sb.n_reconnects)
        if reconnects != self._seen_reconnects:
            self._seen_reconnects = reconnects
            self.force_recompute = True
        start = time.perf_counter()
        g = self.graph
        before = g.northd.stats.recompute + g.lflow.stats.recompute
        force, self.force_recompute = self.force_recompute, False
        g.engine.run(force_recompute=force)
        if g.northd.stats.recompute + g.lflow.stats.recompute != before:
            self.dirty.full = True
            self.nb_full = True
        self.dirty.switches |= g.northd.changed_switches
        self.dirty.ports |= set(g.northd.changed_ports) | g.northd.changed_tags
        self.dirty.flows |= g.lflow.changed_keys
        self.nb_dirty |= set(g.northd.changed_ports) | g.northd.changed_tags
        try:
            await self._commit_sb()
            await self._commit_nb()
        except Exception as exc:  # the connection dropped, or a bug: retry next round
            log.warning("transaction failed (%s); will retry", exc)
            self.dirty.full = True
            self.nb_full = True
            self.force_recompute = True
            await asyncio.sleep(0.2)
            self.wakeup.set()
            return
        self.n_rounds += 1
        self.last_round_s = time.perf_counter() - start

    async def _commit_sb(self) -> None:
        dirty, self.dirty = self.dirty, Dirty()
        nb_cfg = self._nb_cfg()

        def build(txn: Txn) -> None:
            if dirty:
                self.syncer.build(txn, self.sb.rows, dirty)
            sb_global = next(iter(self.sb.rows("SB_Global").values()), None)
            if sb_global is None:
                txn.insert("SB_Global", {"nb_cfg": nb_cfg})
            elif sb_global["nb_cfg"] != nb_cfg:
                txn.update("SB_Global", sb_global.uuid, {"nb_cfg": nb_cfg})

        try:
            await self.sb.transact(build)
        except BaseException:
            self.dirty.absorb(dirty)
            raise
        self._sb_cfg_done = nb_cfg

    def _nb_cfg(self) -> int:
        row = next(iter(self.nb.rows("NB_Global").values()), None)
        return 0 if row is None else int(row["nb_cfg"])

    async def _commit_nb(self) -> None:
        names, self.nb_dirty = self.nb_dirty, set()
        full, self.nb_full = self.nb_full, False
        data = self.graph.northd
        if full:
            names = set(data.port_by_name)
        sb_cfg = getattr(self, "_sb_cfg_done", 0)

        def build(txn: Txn) -> None:
            lsp_rows = self.nb.rows("Logical_Switch_Port")
            pb_rows = self.sb.rows("Port_Binding")
            for name in sorted(names):
                port = data.port_by_name.get(name)
                row = lsp_rows.get(port.uuid) if port is not None else None
                if port is None or row is None:
                    continue
                result = data.tag(name)
                want_tag = result.tag if port.parent is not None else None
                changes: dict[str, Any] = {}
                if row.one("tag") != want_tag:
                    changes["tag"] = want_tag
                pb_uuid = self.idx.pb_by_name.get(name)
                pb = pb_rows.get(pb_uuid) if pb_uuid is not None else None
                up = _is_up(pb)
                if row.one("up") is not up:
                    changes["up"] = up
                if changes:
                    txn.update("Logical_Switch_Port", row.uuid, changes)
                error = result.error if port.parent is not None else None
                if row["external_ids"].get(ERROR_KEY) != error:
                    muts: list[tuple[str, str, Any]] = [("external_ids", "delete", [ERROR_KEY])]
                    if error:
                        muts.append(("external_ids", "insert", {ERROR_KEY: error}))
                    txn.mutate("Logical_Switch_Port", row.uuid, muts)
            self._nb_global(txn, sb_cfg)

        await self.nb.transact(build)

    def _nb_global(self, txn: Txn, sb_cfg: int) -> None:
        row = next(iter(self.nb.rows("NB_Global").values()), None)
        if row is None:
            txn.insert("NB_Global", {})
            return
        chassis = self.sb.rows("Chassis")
        cfgs = []
        for r in self.sb.rows("Chassis_Private").values():
            ch = chassis.get(r.one("chassis"))
            # a Chassis_Private left behind by a deleted chassis, or a remote chassis (another
            # availability zone), does not hold hv_cfg back
            if ch is None or ch["other_config"].get("is-remote") == "true":
                continue
            cfgs.append(r["nb_cfg"])
        hv_cfg = min(cfgs) if cfgs else sb_cfg
        hv_cfg = min(hv_cfg, sb_cfg)
        changes: dict[str, Any] = {}
        now_ms = int(time.time() * 1000)
        if row["sb_cfg"] != sb_cfg:
            changes["sb_cfg"] = sb_cfg
            changes["sb_cfg_timestamp"] = now_ms
        if row["hv_cfg"] != hv_cfg:
            changes["hv_cfg"] = hv_cfg
            changes["hv_cfg_timestamp"] = now_ms
        if changes:
            txn.update("NB_Global", row.uuid, changes)


def probe_interval(remotes: str) -> float:
    """Seconds between inactivity probes: none on unix sockets (as ovn-northd: the peer is
    local, and a long round must not cost a reconnection and a full recompute), else 5."""
    return 0.0 if all(r.startswith("unix:") for r in remotes.split(",") if r) else 5.0


def _is_up(pb: Any) -> bool:
    """A port is up when its binding has a chassis and, if the chassis reports it, up=true."""
    if pb is None or not pb["chassis"]:
        return False
    return pb["up"] != frozenset({False})


async def run_northd(nb_remote: str, sb_remote: str, stop: asyncio.Event) -> Northd:
    northd = Northd(nb_remote, sb_remote)
    with contextlib.suppress(asyncio.CancelledError):
        await northd.run(stop)
    return northd
