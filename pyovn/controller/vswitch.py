"""Small ovs-vsctl-style operations on an Open_vSwitch database (the sandbox and tests use
them to plug VIFs in, as a hypervisor's VM manager would with ovs-vsctl)."""

from __future__ import annotations

from typing import Any

from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.ovsdb.client.txn import Txn

BRIDGE = "br-int"


def _ensure_bridge(client: OvsdbClient, txn: Txn, bridge: str) -> Any:
    row = client.find_one("Bridge", name=bridge)
    if row is not None:
        return row.uuid
    # another client may be creating them too: then this commit fails with "try again"
    # and is rebuilt from the replica, which by then holds the other client's rows
    txn.verify_absent("Bridge", [["name", "==", bridge]])
    ovs = next(iter(client.rows("Open_vSwitch").values()), None)
    br = txn.insert("Bridge", {"name": bridge, "fail_mode": "secure"})
    if ovs is None:
        txn.verify_absent("Open_vSwitch", [])
        txn.insert("Open_vSwitch", {"bridges": [br]})
    else:
        txn.mutate("Open_vSwitch", ovs.uuid, [("bridges", "insert", [br])])
    return br


async def add_vif(
    client: OvsdbClient,
    name: str,
    iface_id: str,
    bridge: str = BRIDGE,
    external_ids: dict[str, str] | None = None,
) -> None:
    """ovs-vsctl add-port BRIDGE NAME -- set Interface NAME external_ids:iface-id=IFACE_ID"""

    def build(txn: Txn) -> None:
        if client.find_one("Interface", name=name) is not None:
            raise ValueError(f"interface {name} already exists")
        txn.verify_absent("Interface", [["name", "==", name]])
        br = _ensure_bridge(client, txn, bridge)
        ids = {"iface-id": iface_id, **(external_ids or {})}
        iface = txn.insert("Interface", {"name": name, "external_ids": ids})
        port = txn.insert("Port", {"name": name, "interfaces": [iface]})
        txn.mutate("Bridge", br, [("ports", "insert", [port])])

    await client.transact(build)


async def del_vif(client: OvsdbClient, name: str, bridge: str = BRIDGE) -> None:
    """ovs-vsctl del-port BRIDGE NAME"""

    def build(txn: Txn) -> None:
        port = client.find_one("Port", name=name)
        br = client.find_one("Bridge", name=bridge)
        if port is None or br is None:
            return
        txn.mutate("Bridge", br.uuid, [("ports", "delete", [port.uuid])])

    await client.transact(build)


def vswitch_client(remote: str) -> OvsdbClient:
    client = OvsdbClient(remote, "Open_vSwitch")
    for table in ("Open_vSwitch", "Bridge", "Port", "Interface"):
        client.watch(table)
    return client
