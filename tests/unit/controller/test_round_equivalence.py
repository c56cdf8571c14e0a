"""A controller's rounds after each kind of change install what a fresh controller computes
from scratch: every input of the flow table is changed in turn (bindings and their keys,
chassis, tags, port security, interfaces, logical flows, datapath groups, datapaths,
multicast groups, tunnels), and after each the long-lived controller's flows, binding
decisions and local ports must equal those of a new controller's first (full) round.

The Southbound and Open_vSwitch databases are pyovn servers in this process; the datapath is
OvsBackend with a stand-in OpenFlow connection (flows rendered and diffed, not sent)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pyovn.controller.daemon import SB_TABLES, Controller
from pyovn.datapath import ofwire
from pyovn.datapath.flows import METADATA, OUTPORT, T_REMOTE_OUTPUT, Flow
from pyovn.datapath.ovs import OvsBackend
from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.ovsdb.client.txn import Txn
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.server import OvsdbServer
from pyovn.ovsdb.server.storage import Storage
from pyovn.ovsdb.server.transport import ServerTransport
from pyovn.schemas import schema_path


class StandInSwitch:
    version = ofwire.OFP15_VERSION

    def __init__(self) -> None:
        self.xid = 0x1000

    def next_xid(self) -> int:
        self.xid += 1
        return self.xid

    async def transact(self, messages: list[bytes], timeout: float = 10.0) -> dict[int, str]:
        return {}


class Backend(OvsBackend):
    async def start(self) -> None:
        await super().start()
        self.close()
        self._conn = StandInSwitch()  # type: ignore[assignment]

    async def _ofctl_tlv(self) -> None:
        self._tlv_done = True

    async def _replace_flows(self, lines: dict[str, Flow]) -> None:
        pass


async def serve(tmp: Path, schema: str, name: str) -> tuple[ServerTransport, Storage, str]:
    storage, db = Storage.create(
        str(tmp / f"{name}.db"), DatabaseSchema.from_file(schema_path(schema))
    )
    server = OvsdbServer()
    server.add_database(db, storage)
    transport = ServerTransport(server)
    await transport.listen(f"punix:{tmp / name}.sock")
    return transport, storage, f"unix:{tmp / name}.sock"


async def controller(sb: str, ovs: str) -> Controller:
    ctl = Controller(sb, ovs, "hv1", "127.0.0.1", hostname="hv1", datapath="ovs")
    ctl.backend = Backend("hv1", "127.0.0.1", ctl.ovs)
    ctl.backend.on_resync = ctl._flows_changed
    await ctl.start()
    return ctl


async def settle(ctl: Controller) -> None:
    """Rounds until the controller stays idle; ovs-vswitchd's part (an ofport for every new
    interface) is played in between."""
    n = 0
    while True:
        try:
            await asyncio.wait_for(ctl.wakeup.wait(), 0.1)
        except TimeoutError:
            return
        ctl.wakeup.clear()
        await ctl.round()
        n += 1
        assert n < 50, "the controller does not settle"

        def ofports(txn: Txn) -> None:
            rows = ctl.ovs.rows("Interface").values()
            used = {r.one("ofport") for r in rows}
            for row in rows:
                if row.one("ofport") is None and row["type"] != "internal":
                    port = max(p for p in used | {100} if p is not None) + 1
                    used.add(port)
                    txn.update("Interface", row.uuid, {"ofport": [port]})

        await ctl.ovs.transact(ofports)


class Db:
    """Writes to the Southbound and Open_vSwitch databases, as northd, the other chassis
    and the hypervisor would."""

    def __init__(self, sb: OvsdbClient, ovs: OvsdbClient) -> None:
        self.sb, self.ovs = sb, ovs

    def row(self, table: str, **cols: Any) -> Any:
        found = self.sb.find_one(table, **cols)
        assert found is not None, (table, cols)
        return found

    def pb(self, name: str) -> Any:
        return self.row("Port_Binding", logical_port=name)

    def dp(self, key: int) -> Any:
        return self.row("Datapath_Binding", tunnel_key=key)

    async def sb_write(self, build: Callable[[Txn], Any]) -> None:
        await self.sb.transact(build)

    async def update(self, table: str, uuid: Any, **cols: Any) -> None:
        await self.sb.transact(lambda txn: txn.update(table, uuid, cols))

    async def set_pb(self, name: str, **cols: Any) -> None:
        await self.update("Port_Binding", self.pb(name).uuid, **cols)

    async def plug(self, iface: str, iface_id: str, ofport: int) -> None:
        def build(txn: Txn) -> None:
            br = self.ovs.find_one("Bridge", name="br-int")
            assert br is not None
            row = {"name": iface, "ofport": [ofport], "external_ids": {"iface-id": iface_id}}
            i = txn.insert("Interface", row)
            p = txn.insert("Port", {"name": iface, "interfaces": [i]})
            txn.mutate("Bridge", br.uuid, [("ports", "insert", [p])])

        await self.ovs.transact(build)

    async def set_iface(self, iface: str, **cols: Any) -> None:
        row = self.ovs.find_one("Interface", name=iface)
        assert row is not None
        await self.ovs.transact(lambda txn: txn.update("Interface", row.uuid, cols))


def _port(db: Db, name: str, dp: int, key: int, **cols: Any) -> Callable[[Txn], Any]:
    def build(txn: Txn) -> None:
        mac = f"0a:00:00:00:00:{key:02x}"
        row = {"logical_port": name, "datapath": db.dp(dp).uuid, "tunnel_key": key,
               "mac": [mac], "port_security": [f"{mac} 10.0.0.{key}"], **cols}  # fmt: skip
        txn.insert("Port_Binding", row)

    return build


def _lflow(dp: Any, match: str, actions: str = "next;", **cols: Any) -> dict[str, Any]:
    return {"logical_datapath": dp, "pipeline": "ingress", "table_id": 0, "priority": 50,
            "match": match, "actions": actions, **cols}  # fmt: skip


async def topology(db: Db) -> None:
    def build(txn: Txn) -> None:
        txn.insert("SB_Global", {"nb_cfg": 1})
        dp1 = txn.insert("Datapath_Binding", {"tunnel_key": 1})
        dp2 = txn.insert("Datapath_Binding", {"tunnel_key": 2})
        encap = txn.insert("Encap", {"type": "geneve", "ip": "127.0.0.2", "chassis_name": "hv2"})
        txn.insert("Chassis", {"name": "hv2", "hostname": "hv2", "encaps": [encap]})
        group = txn.insert("Logical_DP_Group", {"datapaths": [dp1, dp2]})
        for match, actions in [
            ("1", "next;"),
            ("eth.type == 0x800", "next;"),
            ('outport == "vm1"', "output;"),
            ('outport == "vm2"', "output;"),
            ('outport == "c1"', "output;"),
        ]:
            txn.insert("Logical_Flow", _lflow([], match, actions, logical_dp_group=group))
        for dp, port in [(dp1, "vm1"), (dp1, "vm2"), (dp2, "vm3"), (dp2, "vm4"), (dp2, "c1")]:
            txn.insert("Logical_Flow", _lflow(dp, f'inport == "{port}"'))
            txn.insert("Logical_Flow", _lflow(dp, f'inport == "{port}" && eth.type == 0x806'))
            txn.insert(
                "Logical_Flow",
                _lflow(dp, f'outport == "{port}"', "output;", pipeline="egress", table_id=1),
            )

    await db.sb_write(build)
    await db.sb.wait_for(lambda: db.sb.find_one("Datapath_Binding", tunnel_key=2) is not None)
    await db.sb_write(_port(db, "vm1", 1, 1))
    await db.sb_write(_port(db, "vm2", 1, 2))
    await db.sb_write(_port(db, "vm3", 2, 1))
    await db.sb_write(_port(db, "vm4", 2, 2))
    await db.sb.wait_for(lambda: db.sb.find_one("Port_Binding", logical_port="vm4") is not None)
    await db.sb_write(_port(db, "c1", 2, 3, parent_port=["vm1"], tag=[10]))
    await db.sb.wait_for(lambda: db.sb.find_one("Port_Binding", logical_port="c1") is not None)
    hv2 = db.row("Chassis", name="hv2").uuid
    await db.set_pb("vm2", chassis=hv2, up=[True])

    def groups(txn: Txn) -> None:
        for key in (1, 2):
            ports = [pb.uuid for pb in db.sb.rows("Port_Binding").values()
                     if pb["datapath"] == db.dp(key).uuid]  # fmt: skip
            row = {"datapath": db.dp(key).uuid, "name": "_MC_flood", "tunnel_key": 32768,
                   "ports": ports}  # fmt: skip
            txn.insert("Multicast_Group", row)

    await db.sb_write(groups)
    await db.plug("tap1", "vm1", 11)
    await db.plug("tap3", "vm3", 13)


def _changes(db: Db) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    def lflow_rows(match: str) -> list[Any]:
        return [r for r in db.sb.rows("Logical_Flow").values() if r["match"] == match]

    async def new_lflow() -> None:
        row = _lflow(db.dp(1).uuid, 'inport == "vm1"', "drop;")
        await db.sb_write(lambda txn: txn.insert("Logical_Flow", row))

    async def edit_lflow() -> None:
        row = lflow_rows('inport == "vm3"')[0]
        await db.update("Logical_Flow", row.uuid, match='inport == "vm3" && ip4', priority=60)

    async def delete_lflow() -> None:
        row = lflow_rows('outport == "vm1"')[0]
        await db.sb_write(lambda txn: txn.delete("Logical_Flow", row.uuid))

    async def shrink_group() -> None:
        group = next(iter(db.sb.rows("Logical_DP_Group").values()))
        await db.update("Logical_DP_Group", group.uuid, datapaths=[db.dp(1).uuid])

    async def mc_members() -> None:
        dp2 = db.dp(9).uuid  # (dp2, with its new key)
        mc = next(m for m in db.sb.rows("Multicast_Group").values() if m["datapath"] == dp2)
        await db.update("Multicast_Group", mc.uuid, ports=[db.pb("vm3").uuid])

    async def hv2_moves() -> None:
        encap = db.row("Encap", chassis_name="hv2")
        await db.update("Encap", encap.uuid, ip="127.0.0.9")

    async def new_datapath() -> None:
        await db.sb_write(lambda txn: txn.insert("Datapath_Binding", {"tunnel_key": 3}))
        await db.sb.wait_for(lambda: db.sb.find_one("Datapath_Binding", tunnel_key=3) is not None)
        await db.sb_write(_port(db, "vm5", 3, 1))
        await db.sb_write(
            lambda txn: txn.insert("Logical_Flow", _lflow(db.dp(3).uuid, 'inport == "vm5"'))
        )
        await db.plug("tap5", "vm5", 15)

    async def delete_parent() -> None:
        await db.sb_write(lambda txn: txn.delete("Port_Binding", db.pb("vm1").uuid))

    hv2 = lambda: db.row("Chassis", name="hv2").uuid  # noqa: E731
    return [
        ("vm4 gets its interface", lambda: db.plug("tap4", "vm4", 14)),
        ("vm2 is released by hv2", lambda: db.set_pb("vm2", chassis=[], up=[False])),
        ("vm2 is bound on hv2 again", lambda: db.set_pb("vm2", chassis=hv2(), up=[True])),
        (CONTAINER_ON_HV2, lambda: db.sb_write(
            _port(db, "c3", 1, 6, parent_port=["vm2"], tag=[13]))),
        ("c3's parent is released", lambda: db.set_pb("vm2", chassis=[], up=[False])),
        ("c3's parent is bound on hv2 again", lambda: db.set_pb("vm2", chassis=hv2())),
        ("hv2 claims c3", lambda: db.set_pb("c3", chassis=hv2())),
        ("up changes only", lambda: db.set_pb("vm1", up=[False])),
        ("ovn-installed removed", lambda: db.set_iface("tap1", external_ids={"iface-id": "vm1"})),
        ("nb_cfg goes up", lambda: db.update("SB_Global", db.row("SB_Global").uuid, nb_cfg=2)),
        ("our nb_cfg report undone", lambda: db.update(
            "Chassis_Private", db.row("Chassis_Private", name="hv1").uuid, nb_cfg=0)),
        ("vm3 gets another key", lambda: db.set_pb("vm3", tunnel_key=7)),
        ("vm1's port security", lambda: db.set_pb("vm1", port_security=["0a:00:00:00:00:99"])),
        ("c1's tag", lambda: db.set_pb("c1", tag=[11])),
        ("a container in vm3", lambda: db.sb_write(
            _port(db, "c2", 1, 5, parent_port=["vm3"], tag=[12]))),
        ("a new logical flow", new_lflow),
        ("an edited logical flow", edit_lflow),
        ("a deleted logical flow", delete_lflow),
        ("a datapath group shrinks", shrink_group),
        ("dp2 gets another key", lambda: db.update(
            "Datapath_Binding", db.dp(2).uuid, tunnel_key=9)),
        ("multicast members", mc_members),
        ("hv2's tunnel endpoint", hv2_moves),
        ("vm4 requested on hv2", lambda: db.set_pb("vm4", requested_chassis=hv2())),
        ("vm2 becomes a localnet port", lambda: db.set_pb("vm2", type="localnet")),
        ("tap3 says vm9", lambda: db.set_iface("tap3", external_ids={"iface-id": "vm9"})),
        ("tap3 says vm3 again, other ofport", lambda: db.set_iface(
            "tap3", external_ids={"iface-id": "vm3"}, ofport=[23])),
        ("a third datapath", new_datapath),
        ("the parent VM of c1 goes", delete_parent),
    ]  # fmt: skip


def test_rounds_after_each_change_equal_a_fresh_controllers(tmp_path: Path) -> None:
    async def main() -> None:
        served = [await serve(tmp_path, "sb", "sb"), await serve(tmp_path, "vswitch", "conf")]
        sb_remote, ovs_remote = served[0][2], served[1][2]
        sb = OvsdbClient(sb_remote, "OVN_Southbound")
        for t in SB_TABLES:
            sb.watch(t)
        ovs = OvsdbClient(ovs_remote, "Open_vSwitch")
        for t in ("Open_vSwitch", "Bridge", "Port", "Interface"):
            ovs.watch(t)
        await sb.start()
        await ovs.start()
        db = Db(sb, ovs)
        ctl = await controller(sb_remote, ovs_remote)
        try:
            await settle(ctl)
            await ovs.wait_for(lambda: ovs.find_one("Bridge", name="br-int") is not None)
            await topology(db)
            await settle(ctl)
            await compare(ctl, sb_remote, ovs_remote, "the topology")
            assert {"vm1", "vm3", "c1"} <= set(ctl.bound)
            for what, change in _changes(db):
                computed = ctl.n_flow_computations
                await change()
                await asyncio.sleep(0.05)
                await settle(ctl)
                await compare(ctl, sb_remote, ovs_remote, what)
                if what == CONTAINER_ON_HV2:
                    # a container not claimed yet is reached where its parent VM is bound
                    assert _remote_output(ctl, dp_key=1, port_key=6), what
                if what == "up changes only":
                    # the controller sets up=true again; the flows were not looked at
                    assert ctl.n_flow_computations == computed
                    assert db.pb("vm1").one("up") is True
        finally:
            await ctl.close()
            await sb.close()
            await ovs.close()
            for transport, storage, _ in served:
                await transport.close()
                storage.close()

    asyncio.run(asyncio.wait_for(main(), 120))


CONTAINER_ON_HV2 = "a container in vm2 (on hv2), not claimed yet"


def _remote_output(ctl: Controller, dp_key: int, port_key: int) -> bool:
    """Does the switch have a flow sending outport ``port_key`` of datapath ``dp_key`` into
    a tunnel?"""
    for flow in ctl.backend.installed.values():
        fields = {name: value for name, value, _mask in flow.match}
        if (
            flow.table == T_REMOTE_OUTPUT
            and fields.get(METADATA) == dp_key
            and fields.get(OUTPORT) == port_key
        ):
            return True
    return False


async def compare(ctl: Controller, sb_remote: str, ovs_remote: str, what: str) -> None:
    """A fresh controller's first round computes what ``ctl`` has, and finds nothing to
    write (``ctl`` has claimed, released, set up and ovn-installed all it should)."""
    fresh = await controller(sb_remote, ovs_remote)
    writes: list[Any] = []
    for client in (fresh.sb, fresh.ovs):

        async def commit(txn: Txn, commit: Any = client.commit) -> Any:
            writes.append(txn.to_params()[1:])
            return await commit(txn)

        client.commit = commit  # type: ignore[method-assign]
    try:
        await fresh.round()
        assert ctl.decisions == fresh.decisions, what
        assert ctl.bound == fresh.bound, what
        assert set(ctl.backend.installed) == set(fresh.backend.installed), what
        assert ctl.installed_flows == fresh.installed_flows, what
        assert writes == [], what
    finally:
        await fresh.close()
