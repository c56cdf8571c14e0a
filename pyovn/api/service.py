"""Neutron's networks, subnets and ports: validation, SQL, then the Northbound write.

Order of every write: the SQL transaction commits first (with a new revision_number), then
the NB transaction. A crash between the two leaves NB behind the SQL truth, which the
reconciler repairs at start-up; nothing a client was told succeeded is lost.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import os
import random
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from pyovn.api import ipam
from pyovn.api.errors import BadRequest, Conflict, NotFound
from pyovn.api.models import IPAllocation, Network, Port, Subnet
from pyovn.api.nb import NbWriter, SyncReport
from pyovn.api.validate import (
    check_bool,
    check_fields,
    check_int,
    check_ip,
    check_ip_list,
    check_list,
    check_mac,
    check_str,
    project_of,
)

log = logging.getLogger("pyovn.api")
_T = TypeVar("_T")
MAX_RETRIES = 50
NET_FIELDS = {
    "name",
    "admin_state_up",
    "mtu",
    "shared",
    "description",
    "project_id",
    "tenant_id",
    "port_security_enabled",
    "tags",
}
SUBNET_FIELDS = {
    "name",
    "network_id",
    "cidr",
    "ip_version",
    "gateway_ip",
    "enable_dhcp",
    "allocation_pools",
    "dns_nameservers",
    "description",
    "project_id",
    "tenant_id",
    "host_routes",
    "ipv6_ra_mode",
    "ipv6_address_mode",
    "tags",
    "subnetpool_id",
}
PORT_FIELDS = {
    "name",
    "network_id",
    "mac_address",
    "fixed_ips",
    "device_id",
    "device_owner",
    "admin_state_up",
    "binding:host_id",
    "binding:profile",
    "binding:vnic_type",
    "port_security_enabled",
    "security_groups",
    "description",
    "project_id",
    "tenant_id",
    "allowed_address_pairs",
    "extra_dhcp_opts",
    "tags",
}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NeutronService:
    def __init__(
        self,
        sessions: Callable[[], Session],
        nb: NbWriter | None,
        mac_base: str = "fa:16:3e:00:00:00",
        crash_hook: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.nb = nb
        self.mac_base = [int(x, 16) for x in mac_base.split(":")]
        self.server_mac = "fa:16:3e:" + ":".join(f"{random.randrange(256):02x}" for _ in range(3))
        self.crash_hook = crash_hook or os.environ.get("PYOVN_API_CRASH_AFTER_SQL")
        self.nb_dirty = False
        # SQLite takes one writer at a time, and a writer that finds the database locked
        # sleeps in growing steps: this process's writes queue for one thread instead
        bind = getattr(sessions, "kw", {}).get("bind")
        sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._writer = ThreadPoolExecutor(1, "pyovn-api-sql") if sqlite else None
        self._in_sql = 0  # write requests between their start and their NB write
        if nb is not None:
            nb.expected = lambda: self._in_sql

    def close(self) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)

    # ------------------------------------------------------------------ dict views

    @staticmethod
    def network_dict(n: Network) -> dict[str, Any]:
        return {
            "id": n.id,
            "name": n.name,
            "description": n.description,
            "project_id": n.project_id,
            "tenant_id": n.project_id,
            "admin_state_up": n.admin_state_up,
            "shared": n.shared,
            "mtu": n.mtu,
            "status": n.status,
            "port_security_enabled": n.port_security_enabled,
            "subnets": [s.id for s in n.subnets],
            "router:external": False,
            "availability_zone_hints": [],
            "availability_zones": [],
            "tags": [],
            "revision_number": n.revision_number,
            "created_at": n.created_at,
            "updated_at": n.updated_at,
            "ipv4_address_scope": None,
            "ipv6_address_scope": None,
            "l2_adjacency": True,
            "is_default": False,
        }

    @staticmethod
    def subnet_dict(s: Subnet) -> dict[str, Any]:
        return {
            "id": s.id,
            "name": s.name,
            "description": s.description,
            "network_id": s.network_id,
            "project_id": s.project_id,
            "tenant_id": s.project_id,
            "ip_version": s.ip_version,
            "cidr": s.cidr,
            "gateway_ip": s.gateway_ip,
            "enable_dhcp": s.enable_dhcp,
            "allocation_pools": list(s.allocation_pools),
            "dns_nameservers": list(s.dns_nameservers),
            "host_routes": [],
            "ipv6_ra_mode": None,
            "ipv6_address_mode": None,
            "subnetpool_id": None,
            "service_types": [],
            "tags": [],
            "revision_number": s.revision_number,
            "created_at": s.created_at,
            "updated_at": s.updated_at,
        }

    @staticmethod
    def port_dict(p: Any) -> dict[str, Any]:
        """A port as the API shows it: ``p`` is a Port or a ports.NewPort."""
        profile = dict(p.profile or {})
        return {
            "id": p.id,
            "name": p.name,
            "description": p.description,
            "network_id": p.network_id,
            "project_id": p.project_id,
            "tenant_id": p.project_id,
            "mac_address": p.mac_address,
            "admin_state_up": p.admin_state_up,
            "status": p.status,
            "device_id": p.device_id,
            "device_owner": p.device_owner,
            "fixed_ips": [
                {"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in p.fixed_ips
            ],
            "binding:host_id": p.host_id,
            "binding:profile": profile,
            "binding:vif_type": "ovs" if p.host_id else "unbound",
            "binding:vnic_type": "normal",
            "binding:vif_details": {},
            "port_security_enabled": p.port_security_enabled,
            "security_groups": list(p.security_groups or []),
            "allowed_address_pairs": [],
            "extra_dhcp_opts": [],
            "tags": [],
            "revision_number": p.revision_number,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
        }

    # ------------------------------------------------------------------ helpers

    def _get(self, s: Session, model: Any, ident: str, kind: str) -> Any:
        row = s.get(model, ident)
        if row is None:
            raise NotFound(kind, ident)
        return row

    def _cidrs(self, s: Session) -> dict[str, str]:
        return {sub.id: sub.cidr for sub in s.scalars(select(Subnet))}

    async def _sql(self, work: Callable[[], _T], write: bool = True) -> _T:
        """Run blocking database work in a worker thread, so that the event loop keeps
        serving other requests (and NB replies) while SQL, and its commit, run."""
        if not write:
            return await asyncio.to_thread(work)
        if self._writer is not None:
            loop = asyncio.get_running_loop()
            return await self._counted(loop.run_in_executor(self._writer, work))
        return await self._counted(asyncio.to_thread(work))

    async def _counted(self, write: Awaitable[_T]) -> _T:
        """Await a write's SQL, counted as on its way to NB meanwhile (the NB writer may
        wait a moment for it to join the next NB transaction)."""
        self._in_sql += 1
        try:
            return await write
        finally:
            self._in_sql -= 1
            if self.nb is not None:
                self.nb.poke()

    def _crash_point(self, where: str) -> None:
        if self.crash_hook == where:
            log.error("test hook: crashing after the SQL commit (%s)", where)
            os._exit(137)

    async def _nb(self, what: str, coro: Any) -> None:
        if self.nb is None:
            coro.close()
            return
        try:
            await coro
        except Exception as exc:  # NB unreachable or refused: the reconciler repairs it
            self.nb_dirty = True
            log.warning("NB write for %s failed (%s); it will be repaired", what, exc)

    # ------------------------------------------------------------------ networks

    def list_networks(self) -> list[dict[str, Any]]:
        with self.sessions() as s:
            rows = s.scalars(select(Network).options(selectinload(Network.subnets)))
            return [self.network_dict(n) for n in rows]

    def get_network(self, ident: str) -> dict[str, Any]:
        with self.sessions() as s:
            return self.network_dict(self._get(s, Network, ident, "network"))

    async def create_network(self, body: dict[str, Any], project: str) -> dict[str, Any]:
        check_fields("network", body, NET_FIELDS)
        now = _now()
        net = Network(
            id=str(uuid.uuid4()),
            project_id=project_of(body, project),
            name=check_str(body, "name", ""),
            description=check_str(body, "description", ""),
            admin_state_up=check_bool(body, "admin_state_up", True),
            shared=check_bool(body, "shared", False),
            mtu=check_int(body, "mtu", 1442, 68, 9216),
            port_security_enabled=check_bool(body, "port_security_enabled", True),
            created_at=now,
            updated_at=now,
            revision_number=1,
        )

        def write() -> dict[str, Any]:
            with self.sessions() as s, s.begin():
                s.add(net)
            self._crash_point("network")
            return self.get_network(net.id)

        out = await self._sql(write)
        await self._nb(f"network {net.id}", self.nb.put_network(out) if self.nb else _noop())
        return out

    async def update_network(self, ident: str, body: dict[str, Any]) -> dict[str, Any]:
        check_fields("network", body, NET_FIELDS - {"project_id", "tenant_id"})

        def write() -> dict[str, Any]:
            with self.sessions() as s, s.begin():
                net = self._get(s, Network, ident, "network")
                if "name" in body:
                    net.name = check_str(body, "name", "")
                if "description" in body:
                    net.description = check_str(body, "description", "")
                if "admin_state_up" in body:
                    net.admin_state_up = check_bool(body, "admin_state_up", True)
                if "shared" in body:
                    net.shared = check_bool(body, "shared", False)
                if "mtu" in body:
                    net.mtu = check_int(body, "mtu", 1442, 68, 9216)
                if "port_security_enabled" in body:
                    net.port_security_enabled = check_bool(body, "port_security_enabled", True)
                net.revision_number = Network.revision_number + 1  # atomic, see ports.py
                net.updated_at = _now()
            return self.get_network(ident)

        out = await self._sql(write)
        await self._nb(f"network {ident}", self.nb.put_network(out) if self.nb else _noop())
        return out

    async def delete_network(self, ident: str) -> None:
        def write() -> list[str]:
            with self.sessions() as s, s.begin():
                net = self._get(s, Network, ident, "network")
                ports = s.scalars(select(Port.id).where(Port.network_id == ident)).first()
                if ports is not None:
                    raise Conflict(
                        f"Unable to complete operation on network {ident}. There are one "
                        "or more ports still in use on the network.",
                        "NetworkInUse",
                    )
                subnet_ids = [sub.id for sub in net.subnets]
                s.delete(net)
            return subnet_ids

        subnet_ids = await self._sql(write)
        await self._nb(f"network {ident}", self.nb.delete_network(ident) if self.nb else _noop())
        for subnet_id in subnet_ids:  # their DHCP_Options are not owned by the switch
            await self._nb(
                f"subnet {subnet_id}", self.nb.delete_subnet(subnet_id) if self.nb else _noop()
            )

    # ------------------------------------------------------------------ subnets

    def list_subnets(self) -> list[dict[str, Any]]:
        with self.sessions() as s:
            return [self.subnet_dict(x) for x in s.scalars(select(Subnet))]

    def get_subnet(self, ident: str) -> dict[str, Any]:
        with self.sessions() as s:
            return self.subnet_dict(self._get(s, Subnet, ident, "subnet"))

    async def create_subnet(self, body: dict[str, Any], project: str) -> dict[str, Any]:
        check_fields("subnet", body, SUBNET_FIELDS)
        network_id = check_str(body, "network_id")
        cidr_text = check_str(body, "cidr")
        try:
            net = ipaddress.ip_network(cidr_text, strict=False)
        except ValueError:
            raise BadRequest(
                f"Invalid input for cidr. Reason: '{cidr_text}' is not a valid IP subnet."
            ) from None
        version = check_int(body, "ip_version", net.version, 4, 6)
        if version not in (4, 6) or version != net.version:
            raise BadRequest(
                f"Invalid input for ip_version: {version} does not match cidr {cidr_text}"
            )
        if net.num_addresses < 4:
            raise BadRequest(f"Invalid input for cidr: {cidr_text} is too small")
        cidr = str(net)
        gateway = body.get("gateway_ip", str(net.network_address + 1))
        if gateway is not None:
            try:
                gw = ipaddress.ip_address(check_str(body, "gateway_ip", gateway))
            except ValueError:
                raise BadRequest(
                    f"Invalid input for gateway_ip: '{gateway}' is not a valid IP address"
                ) from None
            if gw not in net:
                raise BadRequest(f"Invalid input for gateway_ip: {gw} is not in {cidr}")
            gateway = str(gw)
        pools = body.get("allocation_pools")
        if pools is None:
            pools = ipam.default_pools(cidr, gateway)
        else:
            pools = check_list(body, "allocation_pools", dict)
            ipam.validate_pools(cidr, gateway, pools)
        dns = check_ip_list(body, "dns_nameservers")
        now = _now()
        sub = Subnet(
            id=str(uuid.uuid4()),
            network_id=network_id,
            project_id=project_of(body, project),
            name=check_str(body, "name", ""),
            description=check_str(body, "description", ""),
            ip_version=version,
            cidr=cidr,
            gateway_ip=gateway,
            enable_dhcp=check_bool(body, "enable_dhcp", True),
            allocation_pools=pools,
            dns_nameservers=dns,
            created_at=now,
            updated_at=now,
            revision_number=1,
        )

        def write() -> dict[str, Any]:
            with self.sessions() as s, s.begin():
                network = self._get(s, Network, network_id, "network")
                for other in network.subnets:
                    if ipaddress.ip_network(other.cidr).overlaps(net):
                        raise BadRequest(
                            f"Invalid input for cidr: {cidr} overlaps with subnet "
                            f"{other.id} ({other.cidr})"
                        )
                s.add(sub)
            self._crash_point("subnet")
            return self.get_subnet(sub.id)

        out = await self._sql(write)
        await self._nb(
            f"subnet {sub.id}", self.nb.put_subnet(out, self.server_mac) if self.nb else _noop()
        )
        return out

    async def update_subnet(self, ident: str, body: dict[str, Any]) -> dict[str, Any]:
        check_fields(
            "subnet", body, {"name", "description", "enable_dhcp", "dns_nameservers", "gateway_ip"}
        )

        def write() -> dict[str, Any]:
            with self.sessions() as s, s.begin():
                sub = self._get(s, Subnet, ident, "subnet")
                if "name" in body:
                    sub.name = check_str(body, "name", "")
                if "description" in body:
                    sub.description = check_str(body, "description", "")
                if "enable_dhcp" in body:
                    sub.enable_dhcp = check_bool(body, "enable_dhcp", True)
                if "dns_nameservers" in body:
                    sub.dns_nameservers = check_ip_list(body, "dns_nameservers")
                if "gateway_ip" in body:
                    gw = body["gateway_ip"]
                    if gw is not None:
                        gw = check_ip("gateway_ip", gw)
                        if ipaddress.ip_address(gw) not in ipaddress.ip_network(sub.cidr):
                            raise BadRequest(
                                f"Invalid input for gateway_ip: {gw} is not in {sub.cidr}"
                            )
                        if ipam.in_pools(gw, sub.allocation_pools):
                            raise BadRequest(
                                f"Invalid input for gateway_ip: {gw} is inside an allocation pool"
                            )
                    sub.gateway_ip = gw
                sub.revision_number = Subnet.revision_number + 1  # atomic, see ports.py
                sub.updated_at = _now()
            return self.get_subnet(ident)

        out = await self._sql(write)
        await self._nb(
            f"subnet {ident}", self.nb.put_subnet(out, self.server_mac) if self.nb else _noop()
        )
        return out

    async def delete_subnet(self, ident: str) -> None:
        def write() -> None:
            with self.sessions() as s, s.begin():
                sub = self._get(s, Subnet, ident, "subnet")
                used = s.scalars(
                    select(IPAllocation.id).where(IPAllocation.subnet_id == ident)
                ).first()
                if used is not None:
                    raise Conflict(
                        f"Unable to complete operation on subnet {ident}: One or more "
                        "ports have an IP allocation from this subnet.",
                        "SubnetInUse",
                    )
                s.delete(sub)

        await self._sql(write)
        await self._nb(f"subnet {ident}", self.nb.delete_subnet(ident) if self.nb else _noop())

    # ------------------------------------------------------------------ ports (see ports.py)

    def sync_report_lines(self, report: SyncReport) -> list[str]:
        return report.lines()


async def _noop() -> None:
    return None


__all__ = ["MAX_RETRIES", "PORT_FIELDS", "IntegrityError", "NeutronService", "check_mac"]
