"""The API's Northbound side: writes the translated rows with OVSDB transactions, repairs
drift (missing, extra or stale rows) and watches Logical_Switch_Port.up for port status.

Every write carries neutron:revision_number, and a write never lowers it: a row already at a
newer revision is left alone, so a retried or late write cannot undo a newer one.
"""

from __future__ import annotations

import asyncio
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


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # its caller went away
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


def _verify_rev(txn: Txn, table: str, row: RowView) -> None:
    """The update applies only to the row as it was read: if another write got there
    first (a newer revision), the transaction is built again from the newer row, which
    the revision check then leaves alone."""
    txn.verify(table, row.uuid, {"external_ids": row["external_ids"]})


class NbWriter:
    def __init__(self, remote: str) -> None:
        self.client = OvsdbClient(remote, "OVN_Northbound")
        for table in NB_TABLES:
            self.client.watch(table)
        self.status_listeners: list[Callable[[str, bool], None]] = []
        # name -> uuid of the rows the writes look up by name (kept from replica events,
        # which include the initial rows): a scan of the table per write costs O(n)
        self._names: dict[str, dict[str, Any]] = {"Logical_Switch": {}, "Logical_Switch_Port": {}}
        self._pending: list[tuple[Callable[[Txn], None], asyncio.Future[None]]] = []
        self._committer: asyncio.Task[None] | None = None
        # group commit: how many writes the API has on their way here (requests still in
        # SQL), and how long a transaction may wait for them to join it
        self.expected: Callable[[], int] = lambda: 0
        self.linger = 0.01
        self._arrived = asyncio.Event()
        self.n_writes = 0  # writes committed, and the NB transactions that carried them
        self.n_transactions = 0
        self.client.add_listener(self._on_events)

    async def start(self) -> None:
        await self.client.start()

    # ------------------------------------------------------------------ group commit

    async def _transact(self, build: Callable[[Txn], None]) -> None:
        """Commit ``build`` in the next NB transaction. Writes that arrive while one
        transaction is in flight go together in the next one (a group commit): under load
        NB and northd see one transaction per round trip instead of one per request. If a
        shared transaction fails, its writes are committed one by one, so that each caller
        gets its own outcome."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append((build, done))
        self._arrived.set()
        if self._committer is None or self._committer.done():
            self._committer = asyncio.ensure_future(self._commit_pending())
        await done

    def poke(self) -> None:
        """A write the API expected may not come (its request failed): look again."""
        self._arrived.set()

    async def _commit_pending(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            await asyncio.sleep(0)  # let the writers of this loop iteration join in
            deadline = loop.time() + self.linger
            while self.expected() > 0:  # more writes are coming: wait a little for them
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except TimeoutError:
                    break
            batch, self._pending = self._pending, []

            def build_all(txn: Txn, batch: list[Any] = batch) -> None:
                for build, _done in batch:
                    build(txn)

            try:
                await self.client.transact(build_all)
                self.n_transactions += 1
                self.n_writes += len(batch)
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc)
                    continue
                for build, done in batch:
                    try:
                        await self.client.transact(build)
                    except Exception as one:
                        _settle(done, one)
                    else:
                        self.n_transactions += 1
                        self.n_writes += 1
                        _settle(done, None)
                continue
            for _build, done in batch:
                _settle(done, None)

    async def close(self) -> None:
        log.info("NB: %d writes in %d transactions", self.n_writes, self.n_transactions)
        if self._committer is not None:
            self._committer.cancel()
        for _build, done in self._pending:
            _settle(done, ConnectionError("NB writer closed"))
        self._pending = []
        await self.client.close()

    def _on_events(self, events: list[RowEvent]) -> None:
        for ev in events:
            names = self._names.get(ev.table)
            if names is None:
                continue
            renamed = ev.old is not None and (ev.new is None or ev.new["name"] != ev.old["name"])
            if renamed and names.get(ev.old["name"]) == ev.uuid:
                del names[ev.old["name"]]
                other = self.client.find_one(ev.table, name=ev.old["name"])
                if other is not None and other.uuid != ev.uuid:  # a namesake is left
                    names[ev.old["name"]] = other.uuid
            if ev.new is None:
                continue
            names[ev.new["name"]] = ev.uuid
            if ev.table != "Logical_Switch_Port":
                continue
            up = ev.new.one("up") is True
            if ev.old is None or (ev.old.one("up") is True) != up:
                for listener in self.status_listeners:
                    listener(ev.new["name"], up)

    # ------------------------------------------------------------------ lookups

    def _by_name(self, table: str, name: str) -> RowView | None:
        uuid = self._names[table].get(name)
        return None if uuid is None else self.client.get(table, uuid)

    def ls(self, network_id: str) -> RowView | None:
        return self._by_name("Logical_Switch", translate.ls_name(network_id))

    def lsp(self, port_id: str) -> RowView | None:
        return self._by_name("Logical_Switch_Port", port_id)

    def ports_up(self) -> dict[str, bool]:
        """Logical_Switch_Port name -> up, for every port in NB."""
        return {
            row["name"]: row.one("up") is True
            for row in self.client.rows("Logical_Switch_Port").values()
        }

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
                _verify_rev(txn, "Logical_Switch", row)
                txn.update("Logical_Switch", row.uuid, want)

        await self._transact(build)

    async def delete_network(self, network_id: str) -> None:
        def build(txn: Txn) -> None:
            row = self.ls(network_id)
            if row is not None:
                txn.delete("Logical_Switch", row.uuid)  # its ports are garbage collected

        await self._transact(build)

    async def put_port(self, port: dict[str, Any], cidrs: dict[str, str]) -> None:
        want = translate.port_to_lsp(port, cidrs)

        def build(txn: Txn) -> None:
            self._put_port(txn, port, want)

        await self._transact(build)

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
            _verify_rev(txn, "Logical_Switch_Port", row)
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

        await self._transact(build)

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
                _verify_rev(txn, "DHCP_Options", row)
                txn.update("DHCP_Options", row.uuid, want)

        await self._transact(build)

    async def delete_subnet(self, subnet_id: str) -> None:
        def build(txn: Txn) -> None:
            row = self.dhcp(subnet_id)
            if row is not None:
                txn.delete("DHCP_Options", row.uuid)

        await self._transact(build)

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
