"""An OpenAPI 3 description of pyovn's Neutron-compatible API (served at /openapi.json)."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_BOOL = {"type": "boolean"}

_NETWORK = {
    "type": "object",
    "properties": {
        "name": _STR,
        "admin_state_up": _BOOL,
        "shared": _BOOL,
        "description": _STR,
        "mtu": {"type": "integer", "minimum": 68, "maximum": 9216},
        "port_security_enabled": _BOOL,
    },
}
_SUBNET = {
    "type": "object",
    "required": ["network_id", "cidr"],
    "properties": {
        "name": _STR,
        "network_id": _STR,
        "cidr": _STR,
        "ip_version": {"type": "integer", "enum": [4, 6]},
        "gateway_ip": {"type": "string", "nullable": True},
        "enable_dhcp": _BOOL,
        "allocation_pools": {
            "type": "array",
            "items": {"type": "object", "properties": {"start": _STR, "end": _STR}},
        },
        "dns_nameservers": {"type": "array", "items": _STR},
    },
}
_PORT = {
    "type": "object",
    "required": ["network_id"],
    "properties": {
        "name": _STR,
        "network_id": _STR,
        "mac_address": _STR,
        "device_id": _STR,
        "device_owner": _STR,
        "admin_state_up": _BOOL,
        "port_security_enabled": _BOOL,
        "binding:host_id": _STR,
        "binding:profile": {
            "type": "object",
            "properties": {
                "parent_name": _STR,
                "tag": {
                    "oneOf": [
                        {"type": "integer", "minimum": 1, "maximum": 4095},
                        {"type": "string", "enum": ["auto"]},
                    ]
                },
            },
        },
        "fixed_ips": {
            "type": "array",
            "items": {"type": "object", "properties": {"subnet_id": _STR, "ip_address": _STR}},
        },
        "security_groups": {"type": "array", "items": _STR},
    },
}


def _collection(one: str, schema: dict[str, Any]) -> dict[str, Any]:
    many = one + "s"
    body = {
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": [one], "properties": {one: schema}}
            }
        }
    }
    ok = {"description": "ok"}
    err = {"description": "error (NeutronError envelope)"}
    item_param = [{"name": "id", "in": "path", "required": True, "schema": _STR}]
    return {
        f"/v2.0/{many}": {
            "get": {"responses": {"200": ok}},
            "post": {
                "requestBody": body,
                "responses": {"201": ok, "400": err, "404": err, "409": err},
            },
        },
        f"/v2.0/{many}/{{id}}": {
            "parameters": item_param,
            "get": {"responses": {"200": ok, "404": err}},
            "put": {
                "requestBody": body,
                "responses": {"200": ok, "400": err, "404": err, "409": err},
            },
            "delete": {"responses": {"204": ok, "404": err, "409": err}},
        },
    }


def openapi_document(version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/": {"get": {"responses": {"200": {"description": "versions"}}}},
        "/v2.0/extensions": {"get": {"responses": {"200": {"description": "extensions"}}}},
    }
    paths.update(_collection("network", _NETWORK))
    paths.update(_collection("subnet", _SUBNET))
    paths.update(_collection("port", _PORT))
    return {
        "openapi": "3.0.3",
        "info": {"title": "pyovn networking API (Neutron v2.0 compatible)", "version": version},
        "paths": paths,
    }
