"""The rows and statements of a port create: the ``ports`` and ``ip_allocations`` columns as
plain values (no ORM objects on the hot path), and the statements, built once with
SQLAlchemy Core (building one costs more than running it). The create runs them on the
driver's cursor (rawsql.CursorDb), an update on its ORM session (rawsql.SessionDb)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, select

from pyovn.api.models import IPAllocation, Network, Port, Subnet
from pyovn.api.rawsql import json_text

PORT_KEYS = [c.key for c in Port.__table__.columns]
IP_KEYS = ["port_id", "subnet_id", "network_id", "ip_address"]
IP_BATCHES = (4, 16, 64, 256)  # candidate addresses looked up at a time


Q_NETWORK = select(Network.id, Network.port_security_enabled).where(
    Network.id == bindparam("network_id")
)
Q_SUBNETS = (
    select(Subnet.id, Subnet.cidr, Subnet.ip_version, Subnet.gateway_ip, Subnet.allocation_pools)
    .where(Subnet.network_id == bindparam("network_id"))
    .order_by(Subnet.created_at)
)
Q_MAC = select(Port.id).where(
    Port.network_id == bindparam("network_id"), Port.mac_address == bindparam("mac")
)
Q_PORT_PARENT = select(Port.id, Port.parent_id).where(Port.id == bindparam("port_id"))
Q_CHILDREN = select(Port.id).where(Port.parent_id == bindparam("port_id"))
Q_TAGS = select(Port.tag).where(
    Port.parent_id == bindparam("parent_id"), Port.id != bindparam("port_id")
)
Q_IP_OWNER = select(IPAllocation.port_id).where(
    IPAllocation.subnet_id == bindparam("subnet_id"),
    IPAllocation.ip_address == bindparam("ip_address"),
)
Q_IPS_TAKEN = {  # one statement per batch size: "IN" with that many parameters
    n: select(IPAllocation.ip_address).where(
        IPAllocation.subnet_id == bindparam("subnet_id"),
        IPAllocation.ip_address.in_([bindparam(f"a{i}") for i in range(n)]),
    )
    for n in IP_BATCHES
}
Q_INSERT_PORT = insert(Port)
Q_INSERT_IP = insert(IPAllocation)


class SubnetRow(NamedTuple):
    """What a port create needs of a subnet (an ORM Subnet has the same attributes)."""

    id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    allocation_pools: list[dict[str, str]]


@dataclass(slots=True)
class NewAllocation:
    port_id: str
    subnet_id: str
    network_id: str
    ip_address: str


@dataclass(slots=True)
class NewPort:
    """A port being created: the columns of ``ports`` (as ``Port`` names them) and its
    addresses; ``port_dict`` renders it like a loaded Port."""

    id: str
    network_id: str
    project_id: str
    name: str
    description: str
    mac_address: str
    admin_state_up: bool
    status: str
    device_id: str
    device_owner: str
    host_id: str
    port_security_enabled: bool
    security_groups: list[str]
    created_at: str
    updated_at: str
    revision_number: int = 1
    profile: dict[str, Any] = field(default_factory=dict)
    parent_id: str | None = None
    tag: int | None = None
    fixed_ips: list[NewAllocation] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        """Its ``ports`` row, as the driver takes it (JSON columns as text)."""
        out = {key: getattr(self, key) for key in PORT_KEYS}
        out["profile"] = json_text(self.profile)
        out["security_groups"] = json_text(self.security_groups)
        return out
