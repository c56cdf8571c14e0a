"""The API's Northbound side: writes the translated rows with OVSDB transactions, repairs
drift (missing, extra or stale rows) and watches Logical_Switch_Port.up for port status.

Every write carries neutron:revision_number, and a write never lowers it: a row already at a
newer revision is left alone, so a retried or late write cannot undo a newer one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyovn.api import translate
from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.ovsdb.client.replica import RowEvent, RowView
from pyovn.ovsdb.client.txn import Txn

log = logging.getLogger("pyovn.api")
REV = translate.REV
NB_TABLES = ("Logical_Switch", "Logical_Switch_Port", "DHCP_Options")


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def lines(self) -> list[str]:
        return (
            [f"created {x}" for x in self.created]
            + [f"updated {x}" for x in self.updated]
            + [f"deleted {x}" for x in self.deleted]
        )


def _rev(row: RowView | None) -> int:
    if row is None:
        return -1
    try:
        return int(row["external_ids"].get(REV, "-1"))
    except ValueError:
        return -1


def _differs(row: RowView, want: dict[str, Any]) -> bool:
    for column, value in want.items():
        have = row[column]
        if isinstance(have, frozenset):
            norm = (
                frozenset()
                if value is None
                else (
                    frozenset(value)
                    if isinstance(value, (list, tuple, set, frozenset))
                    else frozenset((value,))
                )
            )
            if have != norm:
                return True
        elif have != value:
            return True
    return False


class NbWriter:
    def __init__(self, remote: str) -> None:
        self.client = OvsdbClient(remote, "OVN_Northbound")
        for table in NB_TABLES:
            self.client.watch(table)
        self.status_listeners: list[Callable[[str, bool], None]] = []
        self.client.add_listener(self._on_events)

    async def start(self) -> None:
        await self.client.start()

    async def close(self) -> None:
        await self.client.close()

    def _on_events(self, events: list[RowEvent]) -> None:
        for ev in events:
            if ev.table != "Logical_Switch_Port" or ev.new is None:
                continue
            up = ev.new.one("up") is True
            if ev.old is None or (ev.old.one("up") is True) != up:
                for listener in self.status_listeners:
                    listener(ev.new["name"], up)

    # ------------------------------------------------------------------ lookups

    def ls(self, network_id: str) -> RowView | None:
        return self.client.find_one("Logical_Switch", name=translate.ls_name(network_id))

    def lsp(self, port_id: str) -> RowView | None:
        return self.client.find_one("Logical_Switch_Port", name=port_id)

    def dhcp(self, subnet_id: str) -> RowView | None:
        for row in self.client.rows("DHCP_Options").values():
            if row["external_ids"].get("subnet_id") == subnet_id:
                return row
        return None

    def port_up(self, port_id: str) -> bool:
        row = self.lsp(port_id)
        return row is not None and row.one("up") is True

    # ------------------------------------------------------------------ writes

    async def put_network(self, net: dict[str, Any]) -> None:
        want = translate.network_to_ls(net)

        def build(txn: Txn) -> None:
            row = self.ls(net["id"])
            if row is None:
                txn.verify_absent("Logical_Switch", [["name", "==", want["name"]]])
                txn.insert("Logical_Switch", want)
            elif _rev(row) <= net["revision_number"] and _differs(row, want):
                txn.update("Logical_Switch", row.uuid, want)

        await self.client.transact(build)

    async def delete_network(self, network_id: str) -> None:
        def build(txn: Txn) -> None:
            row = self.ls(network_id)
            if row is not None:
                txn.delete("Logical_Switch", row.uuid)  # its ports are garbage collected

        await self.client.transact(build)

    async def put_port(self, port: dict[str, Any], cidrs: dict[str, str]) -> None:
        want = translate.port_to_lsp(port, cidrs)

        def build(txn: Txn) -> None:
            self._put_port(txn, port, want)

        await self.client.transact(build)

    def _put_port(self, txn: Txn, port: dict[str, Any], want: dict[str, Any]) -> None:
        ls = self.ls(port["network_id"])
        if ls is None:
            raise LookupError(f"network {port['network_id']} is missing in NB")
        row = self.lsp(port["id"])
        if row is None:
            txn.verify_absent("Logical_Switch_Port", [["name", "==", port["id"]]])
            new = txn.insert("Logical_Switch_Port", want)
            txn.mutate("Logical_Switch", ls.uuid, [("ports", "insert", [new])])
            return
        if _rev(row) > port["revision_number"]:
            return
        if _differs(row, want):
            txn.update("Logical_Switch_Port", row.uuid, want)
        if row.uuid not in ls["ports"]:
            txn.mutate("Logical_Switch", ls.uuid, [("ports", "insert", [row.uuid])])

    async def delete_port(self, port_id: str) -> None:
        def build(txn: Txn) -> None:
            row = self.lsp(port_id)
            if row is None:
                return
            for ls in self.client.rows("Logical_Switch").values():
                if row.uuid in ls["ports"]:
                    txn.mutate("Logical_Switch", ls.uuid, [("ports", "delete", [row.uuid])])
            txn.delete("Logical_Switch_Port", row.uuid)

        await self.client.transact(build)

    async def put_subnet(self, subnet: dict[str, Any], server_mac: str) -> None:
        want = translate.subnet_to_dhcp(subnet, server_mac)

        def build(txn: Txn) -> None:
            row = self.dhcp(subnet["id"])
            if want is None:
                if row is not None:
                    txn.delete("DHCP_Options", row.uuid)
                return
            if row is None:
                txn.insert("DHCP_Options", want)
            elif _rev(row) <= subnet["revision_number"] and _differs(row, want):
                txn.update("DHCP_Options", row.uuid, want)

        await self.client.transact(build)

    async def delete_subnet(self, subnet_id: str) -> None:
        def build(txn: Txn) -> None:
            row = self.dhcp(subnet_id)
            if row is not None:
                txn.delete("DHCP_Options", row.uuid)

        await self.client.transact(build)

    # ------------------------------------------------------------------ drift repair

    async def reconcile(
        self,
        networks: list[dict[str, Any]],
        ports: list[dict[str, Any]],
        subnets: list[dict[str, Any]],
        cidrs: dict[str, str],
        server_mac: str,
        repair: bool,
    ) -> SyncReport:
        """Compare NB with the SQL truth; with ``repair`` make NB match it."""
        report = SyncReport()
        net_ids = {n["id"] for n in networks}
        port_ids = {p["id"] for p in ports}
        subnet_ids = {s["id"] for s in subnets}
        for net in networks:
            row = self.ls(net["id"])
            if row is None:
                report.created.append(f"Logical_Switch {translate.ls_name(net['id'])}")
            elif _differs(row, translate.network_to_ls(net)):
                report.updated.append(f"Logical_Switch {translate.ls_name(net['id'])}")
        for port in ports:
            row = self.lsp(port["id"])
            if row is None:
                report.created.append(f"Logical_Switch_Port {port['id']}")
            elif _differs(row, translate.port_to_lsp(port, cidrs)):
                report.updated.append(f"Logical_Switch_Port {port['id']}")
        for row in self.client.rows("Logical_Switch").values():
            name = row["name"]
            if name.startswith("neutron-") and name[len("neutron-") :] not in net_ids:
                report.deleted.append(f"Logical_Switch {name}")
        for row in self.client.rows("Logical_Switch_Port").values():
            if REV in row["external_ids"] and row["name"] not in port_ids:
                report.deleted.append(f"Logical_Switch_Port {row['name']}")
        for row in self.client.rows("DHCP_Options").values():
            sid = row["external_ids"].get("subnet_id")
            if sid is not None and sid not in subnet_ids:
                report.deleted.append(f"DHCP_Options {sid}")
        for subnet in subnets:
            want = translate.subnet_to_dhcp(subnet, server_mac)
            row = self.dhcp(subnet["id"])
            if want is not None and row is None:
                report.created.append(f"DHCP_Options {subnet['id']}")
        if not repair or not report:
            return report
        for net in networks:
            await self.put_network(net)
        for subnet in subnets:
            await self.put_subnet(subnet, server_mac)
        for port in ports:
            await self.put_port(port, cidrs)
        for entry in report.deleted:
            table, ident = entry.split(" ", 1)
            if table == "Logical_Switch":
                await self.delete_network(ident[len("neutron-") :])
            elif table == "Logical_Switch_Port":
                await self.delete_port(ident)
            else:
                await self.delete_subnet(ident)
        return report
