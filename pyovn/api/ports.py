"""Neutron ports: MAC generation, IPAM, containers inside VMs (binding:profile parent_name
and tag), status from OVN.

Addresses, MACs and container tags are unique by database constraint; a create that loses
a race on one of them retries with the next free value, so concurrent creates never hand
out the same address or tag.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from pyovn.api import ipam
from pyovn.api.batch import WriteBatcher, with_retries
from pyovn.api.errors import BadRequest, Conflict, NotFound
from pyovn.api.models import IPAllocation, Network, Port, Subnet
from pyovn.api.port_rows import (
    IP_BATCHES,
    IP_KEYS,
    PORT_KEYS,
    Q_CHILDREN,
    Q_INSERT_IP,
    Q_INSERT_PORT,
    Q_IP_OWNER,
    Q_IPS_TAKEN,
    Q_MAC,
    Q_NETWORK,
    Q_PORT_PARENT,
    Q_SUBNETS,
    Q_TAGS,
    NewAllocation,
    NewPort,
    SubnetRow,
)
from pyovn.api.rawsql import CursorDb, Db, RawSql, SessionDb, json_value
from pyovn.api.service import MAX_RETRIES, PORT_FIELDS, NeutronService, _noop, _now
from pyovn.api.validate import (
    MAX_TAG,
    check_bool,
    check_fields,
    check_list,
    check_mac,
    check_str,
    parse_profile,
    project_of,
)

log = logging.getLogger("pyovn.api")
_T = TypeVar("_T")


def _core(s: Session) -> Any:
    """The session's connection, for statements on columns (no ORM objects): the same
    transaction without the ORM's per-statement work (no autoflush either)."""
    return s.connection()


class PortService(NeutronService):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._statuses: dict[str, bool] = {}  # port id -> up, waiting to be written
        self._ip_cursor: dict[str, int] = {}  # subnet id -> where to look for a free address
        self._status_writer: asyncio.Task[None] | None = None
        # ports this process created (DOWN in SQL) whose first NB event has not come yet:
        # that event (the new row, not up) needs no status write
        self._created_down: set[str] = set()
        bind = getattr(self.sessions, "kw", {}).get("bind")
        if bind is None:
            raise ValueError("PortService needs a sessionmaker bound to an engine")
        self._raw = RawSql(bind)
        self._batcher: WriteBatcher | None = None
        if self._writer is not None:  # SQLite: creates share the writer's transactions
            self._batcher = WriteBatcher(self._raw, self._writer)
            self._batcher.after_commit = lambda: self._crash_point("port")
            self._batcher.on_failure = self._ip_cursor.clear

    def list_ports(self) -> list[dict[str, Any]]:
        with self.sessions() as s:
            rows = s.scalars(select(Port).options(selectinload(Port.fixed_ips)))
            return [self.port_dict(p) for p in rows]

    def get_port(self, ident: str) -> dict[str, Any]:
        with self.sessions() as s:
            return self.port_dict(self._get(s, Port, ident, "port"))

    # ------------------------------------------------------------------ create

    async def create_port(self, body: dict[str, Any], project: str) -> dict[str, Any]:
        check_fields("port", body, PORT_FIELDS)
        network_id = check_str(body, "network_id")
        profile, parent, tag = parse_profile(body.get("binding:profile"))
        requested_mac = check_mac(body["mac_address"]) if "mac_address" in body else None
        requested_ips = self._requested_ips(body)

        def create(db: CursorDb) -> tuple[dict[str, Any], dict[str, str]]:
            return self._create_port_sql(
                db, body, project, network_id, profile, parent, tag, requested_mac,
                requested_ips,
            )  # fmt: skip

        out, cidrs = await self._write_port(create)
        self._created_down.add(out["id"])
        await self._nb_port(out, cidrs)
        return out

    async def _write_port(self, job: Callable[[CursorDb], _T]) -> _T:
        """``job`` in a transaction of its own, retried when it loses a race for an
        address, a MAC or a tag; with SQLite in the writer thread's next transaction,
        shared with the other writes waiting for it (batch.py), in a savepoint."""
        races = (IntegrityError, self._raw.integrity_error)

        def lost_race() -> None:
            self._ip_cursor.clear()  # look from the start again

        if self._batcher is None:

            def alone() -> _T:
                out = with_retries(self._raw.transaction, job, races, MAX_RETRIES, lost_race)
                self._crash_point("port")
                return out

            return await self._sql(alone)
        batcher = self._batcher

        def in_batch(db: CursorDb) -> _T:
            return with_retries(db.savepoint, job, races, MAX_RETRIES, lost_race)

        async def batched() -> _T:
            return await batcher.run(in_batch)

        return await self._counted(batched())

    def _requested_ips(self, body: dict[str, Any]) -> list[dict[str, str]] | None:
        if "fixed_ips" not in body:
            return None
        out = []
        for item in check_list(body, "fixed_ips", dict):
            unknown = set(item) - {"subnet_id", "ip_address"}
            if unknown:
                raise BadRequest(
                    f"Invalid input for fixed_ips. Reason: unknown key(s) {sorted(unknown)}."
                )
            if "ip_address" in item:
                try:
                    ipaddress.ip_address(item["ip_address"])
                except (ValueError, TypeError):
                    raise BadRequest(
                        f"Invalid input for fixed_ips. Reason: "
                        f"'{item['ip_address']}' is not a valid IP address."
                    ) from None
            out.append(dict(item))
        return out

    def _create_port_sql(
        self,
        db: CursorDb,
        body: dict[str, Any],
        project: str,
        network_id: str,
        profile: dict[str, Any],
        parent: str | None,
        tag: int | str | None,
        mac: str | None,
        ips: list[dict[str, str]] | None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Insert the port (and its addresses) with ``db``: its dict and the cidrs of its
        network's subnets. The hot path of the API: prepared statements on the driver's
        cursor (rawsql), no ORM objects."""
        now = _now()
        net = db.first(Q_NETWORK, {"network_id": network_id})
        if net is None:
            raise NotFound("network", network_id)
        subnets = [
            SubnetRow(r[0], r[1], r[2], r[3], json_value(r[4]))
            for r in db.rows(Q_SUBNETS, {"network_id": network_id})
        ]
        port = NewPort(
            id=str(uuid.uuid4()),
            network_id=network_id,
            project_id=project_of(body, project),
            name=check_str(body, "name", ""),
            description=check_str(body, "description", ""),
            # a generated MAC is not looked up: the (network, MAC) unique constraint
            # catches the rare repeat and the create is retried with another
            mac_address=mac or self._random_mac(),
            admin_state_up=check_bool(body, "admin_state_up", True),
            device_id=check_str(body, "device_id", ""),
            device_owner=check_str(body, "device_owner", ""),
            host_id=check_str(body, "binding:host_id", ""),
            port_security_enabled=check_bool(body, "port_security_enabled", bool(net[1])),
            security_groups=check_list(body, "security_groups", str),
            status="DOWN",
            created_at=now,
            updated_at=now,
        )
        if mac is not None:
            self._check_mac_free(db, network_id, mac)
        self._set_parent(db, port, profile, parent, tag, new=True)
        self._allocate(db, network_id, subnets, port, ips, NewAllocation)
        db.insert(Q_INSERT_PORT, [port.row()], PORT_KEYS)
        if port.fixed_ips:
            rows = [
                {
                    "port_id": a.port_id,
                    "subnet_id": a.subnet_id,
                    "network_id": a.network_id,
                    "ip_address": a.ip_address,
                }
                for a in port.fixed_ips
            ]
            db.insert(Q_INSERT_IP, rows, IP_KEYS)
        return self.port_dict(port), {sub.id: sub.cidr for sub in subnets}

    def _check_mac_free(self, db: Db, network_id: str, mac: str) -> None:
        if db.first(Q_MAC, {"network_id": network_id, "mac": mac}) is not None:
            raise Conflict(
                f"Unable to complete operation for network {network_id}. The "
                f"mac address {mac} is in use.",
                "MacAddressInUse",
            )

    def _random_mac(self) -> str:
        """A random MAC with the base's first three octets."""
        base = self.mac_base
        octets = [*base[:3], random.randrange(256), random.randrange(256), random.randrange(256)]
        return ":".join(f"{o:02x}" for o in octets)

    def _set_parent(
        self,
        db: Db,
        port: Port | NewPort,
        profile: dict[str, Any],
        parent: str | None,
        tag: int | str | None,
        new: bool = False,
    ) -> None:
        """Make ``port`` a container of ``parent`` with ``tag`` (or none's); ``new``: the
        port is being created (so it has no containers of its own)."""
        if parent is None:
            port.parent_id, port.tag = None, None
            port.profile = profile
            return
        vm = db.first(Q_PORT_PARENT, {"port_id": parent})
        if vm is None:
            raise BadRequest(
                f"Invalid input for binding:profile. Reason: parent_name {parent} "
                "is not an existing port."
            )
        if vm[1] is not None:
            raise BadRequest(
                f"Invalid input for binding:profile. Reason: parent_name {parent} "
                "is itself a container port; containers cannot be nested."
            )
        if vm[0] == port.id:
            raise BadRequest(
                "Invalid input for binding:profile. Reason: a port cannot be its own parent."
            )
        if not new and db.first(Q_CHILDREN, {"port_id": port.id}) is not None:
            raise BadRequest(
                f"Invalid input for binding:profile. Reason: port {port.id} has container "
                "ports of its own; containers cannot be nested."
            )
        used = set(db.scalars(Q_TAGS, {"parent_id": parent, "port_id": port.id}))
        if tag == "auto":
            chosen = next((t for t in range(1, MAX_TAG + 1) if t not in used), None)
            if chosen is None:
                raise Conflict(
                    f"No free VLAN tag left under parent port {parent}", "TagAllocationFailure"
                )
        else:
            assert isinstance(tag, int)
            if tag in used:
                raise Conflict(
                    f"VLAN tag {tag} is already used by another container of parent port {parent}",
                    "TagInUse",
                )
            chosen = tag
        port.parent_id, port.tag = parent, chosen
        port.profile = {**profile, "parent_name": parent, "tag": chosen}

    def _allocate(
        self,
        db: Db,
        network_id: str,
        subnets: Sequence[Any],
        port: Port | NewPort,
        requested: list[dict[str, str]] | None,
        allocation: Callable[..., Any] = IPAllocation,
    ) -> None:
        """Add the port's addresses to ``port.fixed_ips`` as ``allocation`` objects
        (``subnets``: its network's, as SubnetRows or Subnet objects)."""
        wanted: list[tuple[Any, str | None]] = []
        if requested is None:
            seen_versions: set[int] = set()
            for sub in subnets:
                if sub.ip_version not in seen_versions:
                    seen_versions.add(sub.ip_version)
                    wanted.append((sub, None))
        else:
            for item in requested:
                sub = None
                if "subnet_id" in item:
                    sub = next((x for x in subnets if x.id == item["subnet_id"]), None)
                    if sub is None:
                        raise BadRequest(
                            f"Invalid input for fixed_ips. Reason: subnet "
                            f"{item['subnet_id']} is not on network {network_id}."
                        )
                if "ip_address" in item:
                    ip = ipaddress.ip_address(item["ip_address"])
                    match = [x for x in subnets if ip in ipaddress.ip_network(x.cidr)]
                    if sub is None:
                        sub = match[0] if match else None
                    if sub is None or sub not in match:
                        raise BadRequest(
                            f"Invalid input for fixed_ips. Reason: {ip} is not in "
                            "a subnet of the network."
                        )
                if sub is None:
                    raise BadRequest(
                        "Invalid input for fixed_ips. Reason: each entry needs "
                        "subnet_id or ip_address."
                    )
                wanted.append((sub, item.get("ip_address")))
        for sub, address in wanted:
            if address is not None:
                address = str(ipaddress.ip_address(address))
                self._check_requested_ip(db, network_id, sub, port, address)
            else:
                address = self._next_free_ip(db, sub, port)
            port.fixed_ips.append(
                allocation(
                    port_id=port.id, subnet_id=sub.id, network_id=network_id, ip_address=address
                )
            )

    def _check_requested_ip(
        self, db: Db, network_id: str, sub: Any, port: Port | NewPort, address: str
    ) -> None:
        cidr = ipaddress.ip_network(sub.cidr)
        ip = ipaddress.ip_address(address)
        if cidr.version == 4 and ip in (cidr.network_address, cidr.broadcast_address):
            raise BadRequest(
                f"Invalid input for fixed_ips. Reason: {address} is not a valid IP for "
                f"subnet {sub.id} ({sub.cidr})."
            )
        owner = db.first(Q_IP_OWNER, {"subnet_id": sub.id, "ip_address": address})
        mine = any(a.subnet_id == sub.id and a.ip_address == address for a in port.fixed_ips)
        if mine or (owner is not None and owner[0] != port.id):
            raise Conflict(
                f"Unable to complete operation for network {network_id}. The IP "
                f"address {address} is in use.",
                "IpAddressAlreadyAllocated",
            )
        if address == sub.gateway_ip:
            raise Conflict(
                f"IP address {address} is the subnet's gateway", "IpAddressAlreadyAllocated"
            )

    def _next_free_ip(self, db: Db, sub: Any, port: Port | NewPort) -> str:
        """The first free pool address from this process's cursor for the subnet (wrapping
        round), found with index lookups of a few candidates at a time (4, then 4 times as
        many each time, up to 256) rather than by reading every address in use. The cursor
        moves past each address handed out and back to any address this process frees, so
        addresses are reused lowest first."""
        sizes = iter(IP_BATCHES)
        batch = next(sizes)
        cursor = self._ip_cursor.get(sub.id)
        pending: list[str] = []

        def first_unused(addresses: list[str]) -> str | None:
            params: dict[str, Any] = {"subnet_id": sub.id}
            for i in range(batch):  # a short last batch repeats its last address
                params[f"a{i}"] = addresses[min(i, len(addresses) - 1)]
            taken = set(db.scalars(Q_IPS_TAKEN[batch], params))
            taken.update(a.ip_address for a in port.fixed_ips if a.subnet_id == sub.id)
            return next((a for a in addresses if a not in taken), None)

        for candidate in ipam.candidates(sub.allocation_pools, cursor):
            pending.append(candidate)
            if len(pending) == batch:
                found = first_unused(pending)
                if found is not None:
                    break
                pending = []
                batch = next(sizes, batch)
        else:
            found = first_unused(pending) if pending else None
        if found is None:
            raise Conflict(
                "No more IP addresses available on the subnet", "IpAddressGenerationFailure"
            )
        self._ip_cursor[sub.id] = int(ipaddress.ip_address(found)) + 1
        return found

    def _freed(self, allocations: list[tuple[str, str]]) -> None:
        """(subnet id, address) pairs released by this process: move the cursors back."""
        for subnet_id, address in allocations:
            value = int(ipaddress.ip_address(address))
            cursor = self._ip_cursor.get(subnet_id)
            if cursor is not None and value < cursor:
                self._ip_cursor[subnet_id] = value

    # ------------------------------------------------------------------ update / delete

    async def update_port(self, ident: str, body: dict[str, Any]) -> dict[str, Any]:
        check_fields("port", body, PORT_FIELDS - {"network_id", "project_id", "tenant_id"})

        def write() -> tuple[dict[str, Any], dict[str, str]]:
            last_error: Exception | None = None
            for _attempt in range(MAX_RETRIES):
                try:
                    return self._update_port_sql(ident, body)
                except IntegrityError as exc:  # lost a race for an address, a MAC or a tag
                    last_error = exc
                    self._ip_cursor.clear()
            raise Conflict(f"Could not allocate a unique address or tag: {last_error}")

        out, cidrs = await self._sql(write)
        await self._nb_port(out, cidrs)
        return out

    def _update_port_sql(
        self, ident: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        with self.sessions() as s, s.begin():
            port = self._get(s, Port, ident, "port")
            for name, attr in (
                ("name", "name"),
                ("description", "description"),
                ("device_id", "device_id"),
                ("device_owner", "device_owner"),
                ("binding:host_id", "host_id"),
            ):
                if name in body:
                    setattr(port, attr, check_str(body, name, ""))
            if "admin_state_up" in body:
                port.admin_state_up = check_bool(body, "admin_state_up", True)
            if "port_security_enabled" in body:
                port.port_security_enabled = check_bool(body, "port_security_enabled", True)
            if "security_groups" in body:
                port.security_groups = check_list(body, "security_groups", str)
            if "mac_address" in body:
                mac = check_mac(body["mac_address"])
                if mac != port.mac_address:
                    self._check_mac_free(SessionDb(s), port.network_id, mac)
                port.mac_address = mac
            if "binding:profile" in body:
                profile, parent, tag = parse_profile(body["binding:profile"])
                if parent is not None and tag == "auto" and parent == port.parent_id:
                    tag = port.tag  # keep the tag it has
                self._set_parent(SessionDb(s), port, profile, parent, tag)
            net = self._get(s, Network, port.network_id, "network")
            if "fixed_ips" in body:
                requested = self._requested_ips(body)
                old = [(a.subnet_id, a.ip_address) for a in port.fixed_ips]
                port.fixed_ips.clear()  # delete-orphan: the old allocations go
                s.flush()
                self._freed(old)
                self._allocate(SessionDb(s), net.id, list(net.subnets), port, requested)
            # in SQL, so that concurrent updates (other processes too) each get their own
            # revision: a read-modify-write here would lose increments
            port.revision_number = Port.revision_number + 1
            port.updated_at = _now()
            s.flush()
            return self.port_dict(port), {sub.id: sub.cidr for sub in net.subnets}

    async def delete_port(self, ident: str) -> None:
        def write() -> None:
            with self.sessions() as s, s.begin():
                port = self._get(s, Port, ident, "port")
                children = s.scalars(select(Port.id).where(Port.parent_id == ident)).all()
                if children:
                    raise Conflict(
                        f"Port {ident} is the parent of container port(s) "
                        f"{', '.join(children)}; delete them first.",
                        "PortInUse",
                    )
                freed = [(a.subnet_id, a.ip_address) for a in port.fixed_ips]
                s.delete(port)
            self._freed(freed)

        await self._sql(write)
        await self._nb(f"port {ident}", self.nb.delete_port(ident) if self.nb else _noop())

    async def _nb_port(self, port: dict[str, Any], cidrs: dict[str, str]) -> None:
        if self.nb is None:
            return
        await self._nb(f"port {port['id']}", self.nb.put_port(port, cidrs))

    # ------------------------------------------------------------------ status

    def set_status(self, port_id: str, up: bool) -> None:
        """NB says a port went up or down (Logical_Switch_Port.up). Called from the event
        loop; the statuses are written in batches, one transaction each, in a thread."""
        if port_id in self._created_down:  # its first event: the new row
            self._created_down.discard(port_id)
            if not up:
                return  # as created
        self._statuses[port_id] = up
        self.set_status_flush()

    async def _write_statuses(self) -> None:
        while self._statuses:
            batch, self._statuses = self._statuses, {}
            try:
                await self._sql(lambda b=batch: self._store_statuses(b))
            except Exception as exc:  # the periodic refresh puts it right
                log.warning("could not store port statuses: %s", exc)

    def _store_statuses(self, ups: dict[str, bool]) -> None:
        with self.sessions() as s, s.begin():
            for status, up in (("ACTIVE", True), ("DOWN", False)):
                ids = [port_id for port_id, is_up in ups.items() if is_up is up]
                for i in range(0, len(ids), 500):
                    _core(s).execute(
                        update(Port)
                        .where(Port.id.in_(ids[i : i + 500]), Port.status != status)
                        .values(status=status)
                    )

    async def refresh_statuses(self) -> None:
        """Every port's status from NB (at start-up and after each reconcile pass). It goes
        through the same queue as the events, so a newer event is never overwritten."""
        if self.nb is None:
            return

        def port_ids() -> list[str]:
            with self.sessions() as s:
                return list(_core(s).scalars(select(Port.id)))

        ids = await self._sql(port_ids, write=False)
        ups = self.nb.ports_up()
        for port_id in ids:
            self._statuses.setdefault(port_id, ups.get(port_id, False))
        self.set_status_flush()
        if self._status_writer is not None:
            await asyncio.shield(self._status_writer)

    def set_status_flush(self) -> None:
        if self._statuses and (self._status_writer is None or self._status_writer.done()):
            self._status_writer = asyncio.ensure_future(self._write_statuses())

    def _snapshot(self) -> tuple[list[Any], list[Any], list[Any], dict[str, str]]:
        with self.sessions() as s:
            nets = [
                self.network_dict(n)
                for n in s.scalars(select(Network).options(selectinload(Network.subnets)))
            ]
            subs = [self.subnet_dict(x) for x in s.scalars(select(Subnet))]
            ports = [
                self.port_dict(p)
                for p in s.scalars(select(Port).options(selectinload(Port.fixed_ips)))
            ]
            cidrs = self._cidrs(s)
        return nets, subs, ports, cidrs

    async def reconcile(self, repair: bool) -> list[str]:
        if self.nb is None:
            return []
        nets, subs, ports, cidrs = await self._sql(self._snapshot, write=False)
        report = await self.nb.reconcile(nets, ports, subs, cidrs, self.server_mac, repair)
        if repair:
            self.nb_dirty = False
        return report.lines()


__all__ = ["NotFound", "PortService"]
