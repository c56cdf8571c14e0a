"""Neutron ports: MAC generation, IPAM, containers inside VMs (binding:profile parent_name
and tag), status from OVN.

Addresses, MACs and container tags are unique by database constraint; a create that loses
a race on one of them retries with the next free value, so concurrent creates never hand
out the same address or tag.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pyovn.api import ipam
from pyovn.api.errors import BadRequest, Conflict, NotFound
from pyovn.api.models import IPAllocation, Network, Port, Subnet
from pyovn.api.service import MAX_RETRIES, PORT_FIELDS, NeutronService, _noop, _now
from pyovn.api.validate import (
    MAX_TAG,
    check_bool,
    check_fields,
    check_list,
    check_mac,
    check_str,
    parse_profile,
)

log = logging.getLogger("pyovn.api")


class PortService(NeutronService):
    def list_ports(self) -> list[dict[str, Any]]:
        with self.sessions() as s:
            return [self.port_dict(p) for p in s.scalars(select(Port))]

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
        last_error: Exception | None = None
        for _attempt in range(MAX_RETRIES):
            try:
                port_id = self._create_port_sql(
                    body, project, network_id, profile, parent, tag, requested_mac, requested_ips
                )
                break
            except IntegrityError as exc:  # lost a race for an address, a MAC or a tag
                last_error = exc
                continue
        else:
            raise Conflict(f"Could not allocate a unique address or tag: {last_error}")
        self._crash_point("port")
        out = self.get_port(port_id)
        await self._nb_port(out)
        return out

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
        body: dict[str, Any],
        project: str,
        network_id: str,
        profile: dict[str, Any],
        parent: str | None,
        tag: int | str | None,
        mac: str | None,
        ips: list[dict[str, str]] | None,
    ) -> str:
        now = _now()
        with self.sessions() as s, s.begin():
            net = self._get(s, Network, network_id, "network")
            port = Port(
                id=str(uuid.uuid4()),
                network_id=network_id,
                project_id=check_str(body, "project_id", body.get("tenant_id", project)),
                name=check_str(body, "name", ""),
                description=check_str(body, "description", ""),
                mac_address=mac or self._new_mac(s, network_id),
                admin_state_up=check_bool(body, "admin_state_up", True),
                device_id=check_str(body, "device_id", ""),
                device_owner=check_str(body, "device_owner", ""),
                host_id=check_str(body, "binding:host_id", ""),
                port_security_enabled=check_bool(
                    body, "port_security_enabled", net.port_security_enabled
                ),
                security_groups=check_list(body, "security_groups", str),
                status="DOWN",
                created_at=now,
                updated_at=now,
                revision_number=1,
            )
            if (
                mac is not None
                and s.scalars(
                    select(Port).where(Port.network_id == network_id, Port.mac_address == mac)
                ).first()
            ):
                raise Conflict(
                    f"Unable to complete operation for network {network_id}. The "
                    f"mac address {mac} is in use.",
                    "MacAddressInUse",
                )
            self._set_parent(s, port, profile, parent, tag)
            s.add(port)
            s.flush()
            self._allocate(s, net, port, ips)
            return port.id

    def _new_mac(self, s: Session, network_id: str) -> str:
        base = self.mac_base
        used = set(s.scalars(select(Port.mac_address).where(Port.network_id == network_id)))
        for _ in range(1000):
            octets = [b if i < 3 else random.randrange(256) for i, b in enumerate(base)]
            mac = ":".join(f"{o:02x}" for o in octets)
            if mac not in used:
                return mac
        raise Conflict("Could not generate a unique MAC address", "MacAddressGenerationFailure")

    def _set_parent(
        self,
        s: Session,
        port: Port,
        profile: dict[str, Any],
        parent: str | None,
        tag: int | str | None,
    ) -> None:
        if parent is None:
            port.parent_id, port.tag = None, None
            port.profile = profile
            return
        vm = s.get(Port, parent)
        if vm is None:
            raise BadRequest(
                f"Invalid input for binding:profile. Reason: parent_name {parent} "
                "is not an existing port."
            )
        if vm.parent_id is not None:
            raise BadRequest(
                f"Invalid input for binding:profile. Reason: parent_name {parent} "
                "is itself a container port; containers cannot be nested."
            )
        if vm.id == port.id:
            raise BadRequest(
                "Invalid input for binding:profile. Reason: a port cannot be its own parent."
            )
        used = set(s.scalars(select(Port.tag).where(Port.parent_id == parent, Port.id != port.id)))
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
        self, s: Session, net: Network, port: Port, requested: list[dict[str, str]] | None
    ) -> None:
        subnets = list(net.subnets)
        wanted: list[tuple[Subnet, str | None]] = []
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
                            f"{item['subnet_id']} is not on network {net.id}."
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
            used = set(
                s.scalars(
                    select(IPAllocation.ip_address).where(
                        IPAllocation.subnet_id == sub.id, IPAllocation.port_id != port.id
                    )
                )
            )
            if address is not None:
                address = str(ipaddress.ip_address(address))
                if address in used:
                    raise Conflict(
                        f"Unable to complete operation for network {net.id}. The IP "
                        f"address {address} is in use.",
                        "IpAddressAlreadyAllocated",
                    )
                if address == sub.gateway_ip:
                    raise Conflict(
                        f"IP address {address} is the subnet's gateway", "IpAddressAlreadyAllocated"
                    )
            else:
                address = ipam.first_free(sub.allocation_pools, used)
            s.add(
                IPAllocation(
                    port_id=port.id, subnet_id=sub.id, network_id=net.id, ip_address=address
                )
            )

    # ------------------------------------------------------------------ update / delete

    async def update_port(self, ident: str, body: dict[str, Any]) -> dict[str, Any]:
        check_fields("port", body, PORT_FIELDS - {"network_id", "project_id", "tenant_id"})
        for _attempt in range(MAX_RETRIES):
            try:
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
                        port.mac_address = check_mac(body["mac_address"])
                    if "binding:profile" in body:
                        profile, parent, tag = parse_profile(body["binding:profile"])
                        if parent is not None and tag == "auto" and parent == port.parent_id:
                            tag = port.tag  # keep the tag it has
                        self._set_parent(s, port, profile, parent, tag)
                    if "fixed_ips" in body:
                        requested = self._requested_ips(body)
                        for alloc in list(port.fixed_ips):
                            s.delete(alloc)
                        s.flush()
                        net = self._get(s, Network, port.network_id, "network")
                        self._allocate(s, net, port, requested)
                    port.revision_number += 1
                    port.updated_at = _now()
                break
            except IntegrityError:
                continue
        out = self.get_port(ident)
        await self._nb_port(out)
        return out

    async def delete_port(self, ident: str) -> None:
        with self.sessions() as s, s.begin():
            port = self._get(s, Port, ident, "port")
            children = s.scalars(select(Port.id).where(Port.parent_id == ident)).all()
            if children:
                raise Conflict(
                    f"Port {ident} is the parent of container port(s) "
                    f"{', '.join(children)}; delete them first.",
                    "PortInUse",
                )
            s.delete(port)
        await self._nb(f"port {ident}", self.nb.delete_port(ident) if self.nb else _noop())

    async def _nb_port(self, port: dict[str, Any]) -> None:
        if self.nb is None:
            return
        with self.sessions() as s:
            cidrs = self._cidrs(s)
        await self._nb(f"port {port['id']}", self.nb.put_port(port, cidrs))

    # ------------------------------------------------------------------ status

    def set_status(self, port_id: str, up: bool) -> None:
        status = "ACTIVE" if up else "DOWN"
        with self.sessions() as s, s.begin():
            port = s.get(Port, port_id)
            if port is not None and port.status != status:
                port.status = status

    def refresh_statuses(self) -> None:
        if self.nb is None:
            return
        with self.sessions() as s, s.begin():
            for port in s.scalars(select(Port)):
                status = "ACTIVE" if self.nb.port_up(port.id) else "DOWN"
                if port.status != status:
                    port.status = status

    async def reconcile(self, repair: bool) -> list[str]:
        if self.nb is None:
            return []
        with self.sessions() as s:
            nets = [self.network_dict(n) for n in s.scalars(select(Network))]
            subs = [self.subnet_dict(x) for x in s.scalars(select(Subnet))]
            ports = [self.port_dict(p) for p in s.scalars(select(Port))]
            cidrs = self._cidrs(s)
        report = await self.nb.reconcile(nets, ports, subs, cidrs, self.server_mac, repair)
        if repair:
            self.nb_dirty = False
        return report.lines()


__all__ = ["NotFound", "PortService"]
