"""The Neutron model in SQL (SQLAlchemy): networks, subnets, ports, IP allocations.

Uniqueness the database enforces, so that concurrent API workers can never hand out the
same thing twice: one IP address per subnet (``ip_allocations``), one VLAN tag per parent
port (``ports.parent_id`` + ``ports.tag``), one MAC address per network.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, relationship, sessionmaker


class Base(DeclarativeBase):
    pass


class Network(Base):
    __tablename__ = "networks"
    id = Column(String(36), primary_key=True)
    project_id = Column(String(255), nullable=False, default="")
    name = Column(String(255), nullable=False, default="")
    description = Column(Text, nullable=False, default="")
    admin_state_up = Column(Boolean, nullable=False, default=True)
    shared = Column(Boolean, nullable=False, default=False)
    mtu = Column(Integer, nullable=False, default=1442)
    status = Column(String(16), nullable=False, default="ACTIVE")
    port_security_enabled = Column(Boolean, nullable=False, default=True)
    revision_number = Column(Integer, nullable=False, default=1)
    created_at = Column(String(32), nullable=False)
    updated_at = Column(String(32), nullable=False)
    subnets = relationship(
        "Subnet",
        back_populates="network",
        cascade="all, delete-orphan",
        order_by="Subnet.created_at",
    )


class Subnet(Base):
    __tablename__ = "subnets"
    id = Column(String(36), primary_key=True)
    network_id = Column(String(36), ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    project_id = Column(String(255), nullable=False, default="")
    name = Column(String(255), nullable=False, default="")
    description = Column(Text, nullable=False, default="")
    ip_version = Column(Integer, nullable=False)
    cidr = Column(String(64), nullable=False)
    gateway_ip = Column(String(64), nullable=True)
    enable_dhcp = Column(Boolean, nullable=False, default=True)
    allocation_pools = Column(JSON, nullable=False, default=list)
    dns_nameservers = Column(JSON, nullable=False, default=list)
    revision_number = Column(Integer, nullable=False, default=1)
    created_at = Column(String(32), nullable=False)
    updated_at = Column(String(32), nullable=False)
    network = relationship("Network", back_populates="subnets")


class Port(Base):
    __tablename__ = "ports"
    __table_args__ = (
        UniqueConstraint("network_id", "mac_address", name="uniq_ports_network_mac"),
        UniqueConstraint("parent_id", "tag", name="uniq_ports_parent_tag"),
    )
    id = Column(String(36), primary_key=True)
    network_id = Column(String(36), ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    project_id = Column(String(255), nullable=False, default="")
    name = Column(String(255), nullable=False, default="")
    description = Column(Text, nullable=False, default="")
    mac_address = Column(String(32), nullable=False)
    admin_state_up = Column(Boolean, nullable=False, default=True)
    status = Column(String(16), nullable=False, default="DOWN")
    device_id = Column(String(255), nullable=False, default="")
    device_owner = Column(String(255), nullable=False, default="")
    host_id = Column(String(255), nullable=False, default="")
    profile = Column(JSON, nullable=False, default=dict)  # binding:profile
    port_security_enabled = Column(Boolean, nullable=False, default=True)
    security_groups = Column(JSON, nullable=False, default=list)
    # a container inside a VM: the VM's port and the VLAN tag (unique per parent)
    parent_id = Column(String(36), nullable=True)
    tag = Column(Integer, nullable=True)
    revision_number = Column(Integer, nullable=False, default=1)
    created_at = Column(String(32), nullable=False)
    updated_at = Column(String(32), nullable=False)
    fixed_ips = relationship(
        "IPAllocation",
        back_populates="port",
        cascade="all, delete-orphan",
        order_by="IPAllocation.ip_address",
    )


class IPAllocation(Base):
    __tablename__ = "ip_allocations"
    __table_args__ = (UniqueConstraint("subnet_id", "ip_address", name="uniq_ip_per_subnet"),)
    id = Column(Integer, primary_key=True, autoincrement=True)
    port_id = Column(String(36), ForeignKey("ports.id", ondelete="CASCADE"), nullable=False)
    subnet_id = Column(String(36), ForeignKey("subnets.id", ondelete="CASCADE"), nullable=False)
    network_id = Column(String(36), nullable=False)
    ip_address = Column(String(64), nullable=False)
    port = relationship("Port", back_populates="fixed_ips")


def make_engine(url: str, fsync: bool = False) -> Engine:
    """An engine for ``url``, with the tables created. SQLite runs in WAL mode; ``fsync``
    makes every commit wait for the disk (synchronous=FULL: a commit survives a power
    cut). Without it (synchronous=NORMAL) a commit survives the process being killed at
    any point, as an OVSDB commit that ovsdb-server acknowledged does, but not an OS
    crash, and it does not wait for an fsync."""
    kwargs: dict[str, Any] = {"json_serializer": json.dumps, "future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
            cur.close()

    Base.metadata.create_all(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(bind=engine, expire_on_commit=False, future=True)
