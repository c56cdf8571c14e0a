"""Neutron resources -> Northbound rows, as Neutron's OVN driver writes them. Pure functions:
plain dicts in, the NB columns (friendly Python values for the client's Txn) out."""

from __future__ import annotations

import ipaddress
from typing import Any

REV = "neutron:revision_number"


def ls_name(network_id: str) -> str:
    return f"neutron-{network_id}"


def network_to_ls(net: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": ls_name(net["id"]),
        "external_ids": {
            "neutron:network_name": net["name"],
            "neutron:mtu": str(net["mtu"]),
            "neutron:availability_zone_hints": "",
            REV: str(net["revision_number"]),
        },
        "other_config": {
            "mcast_snoop": "false",
            "mcast_flood_unregistered": "false",
            "vlan-passthru": "false",
        },
    }


def port_addresses(port: dict[str, Any]) -> list[str]:
    ips = [a["ip_address"] for a in port["fixed_ips"]]
    return [" ".join([port["mac_address"], *ips])]


def port_to_lsp(port: dict[str, Any], subnet_cidrs: dict[str, str]) -> dict[str, Any]:
    """The Logical_Switch_Port for a Neutron port (``subnet_cidrs``: subnet id -> cidr)."""
    cidrs = []
    for alloc in port["fixed_ips"]:
        cidr = subnet_cidrs.get(alloc["subnet_id"])
        plen = ipaddress.ip_network(cidr).prefixlen if cidr else 32
        cidrs.append(f"{alloc['ip_address']}/{plen}")
    addresses = port_addresses(port)
    row: dict[str, Any] = {
        "name": port["id"],
        "addresses": addresses,
        "port_security": addresses if port["port_security_enabled"] else [],
        "enabled": bool(port["admin_state_up"]),
        "external_ids": {
            "neutron:port_name": port["name"],
            "neutron:device_id": port["device_id"],
            "neutron:device_owner": port["device_owner"],
            "neutron:project_id": port["project_id"],
            "neutron:network_name": ls_name(port["network_id"]),
            "neutron:cidrs": " ".join(cidrs),
            "neutron:security_group_ids": " ".join(port.get("security_groups") or []),
            "neutron:host_id": port.get("binding:host_id", ""),
            REV: str(port["revision_number"]),
        },
        "options": {"requested-chassis": port["binding:host_id"]}
        if port.get("binding:host_id")
        else {},
        "parent_name": None,
        "tag_request": None,
    }
    profile = port.get("binding:profile") or {}
    if profile.get("parent_name") is not None:
        row["parent_name"] = profile["parent_name"]
        row["tag_request"] = int(profile["tag"])
    return row


def subnet_to_dhcp(subnet: dict[str, Any], server_mac: str) -> dict[str, Any] | None:
    """DHCP_Options for an IPv4/IPv6 subnet with DHCP enabled (None otherwise)."""
    if not subnet["enable_dhcp"]:
        return None
    options: dict[str, str] = {}
    if subnet["ip_version"] == 4:
        options = {
            "lease_time": "43200",
            "server_mac": server_mac,
            "mtu": str(subnet.get("mtu", 1442)),
        }
        if subnet.get("gateway_ip"):
            options["router"] = subnet["gateway_ip"]
            options["server_id"] = subnet["gateway_ip"]
        if subnet.get("dns_nameservers"):
            options["dns_server"] = "{" + ", ".join(subnet["dns_nameservers"]) + "}"
    else:
        options = {"server_id": server_mac}
        if subnet.get("dns_nameservers"):
            options["dns_server"] = "{" + ", ".join(subnet["dns_nameservers"]) + "}"
    return {
        "cidr": subnet["cidr"],
        "options": options,
        "external_ids": {"subnet_id": subnet["id"], REV: str(subnet["revision_number"])},
    }
