"""An OpenAPI 3 description of pyovn's Neutron-compatible API (served at /openapi.json).

Besides the request bodies it describes the responses (the resource envelopes and the
NeutronError envelope) and OpenAPI links from each create to the operations that use the
new id, so that schema-driven tools (Schemathesis' stateful phase) can chain calls."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_INT = {"type": "integer"}
_NSTR = {"type": "string", "nullable": True}
_STRS = {"type": "array", "items": _STR}
_OBJ = {"type": "object"}
_OBJS = {"type": "array", "items": _OBJ}
_TAG = {
    "oneOf": [
        {"type": "integer", "minimum": 1, "maximum": 4095},
        {"type": "string", "enum": ["auto"]},
    ]
}
_PROFILE = {
    "type": "object",
    "description": "a container inside a VM: parent_name (the VM's port id) and tag",
    "properties": {"parent_name": {"type": "string", "minLength": 1}, "tag": _TAG},
}
_FIXED_IPS = {
    "type": "array",
    "items": {"type": "object", "properties": {"subnet_id": _STR, "ip_address": _STR}},
}
_POOLS = {
    "type": "array",
    "items": {"type": "object", "properties": {"start": _STR, "end": _STR}},
}

# request bodies: what a client may send (anything else is rejected with HTTP 400);
# null for a list (or binding:profile) means an empty one
_NSTRS = {**_STRS, "nullable": True}
_NPOOLS = {**_POOLS, "nullable": True}
_NFIXED_IPS = {**_FIXED_IPS, "nullable": True}
_NPROFILE = {**_PROFILE, "nullable": True}
_NETWORK_UPDATE = {
    "name": _STR,
    "admin_state_up": _BOOL,
    "shared": _BOOL,
    "description": _STR,
    "mtu": {"type": "integer", "minimum": 68, "maximum": 9216},
    "port_security_enabled": _BOOL,
    "tags": _NSTRS,
}
_OWNER = {"project_id": _STR, "tenant_id": _STR}
_SUBNET_UPDATE = {
    "name": _STR,
    "description": _STR,
    "gateway_ip": _NSTR,
    "enable_dhcp": _BOOL,
    "dns_nameservers": _NSTRS,
}
_SUBNET_CREATE = {
    **_SUBNET_UPDATE,
    **_OWNER,
    "network_id": _STR,
    "cidr": _STR,
    "ip_version": {"type": "integer", "enum": [4, 6]},
    "allocation_pools": _NPOOLS,
    "tags": _NSTRS,
}
_PORT_UPDATE = {
    "name": _STR,
    "description": _STR,
    "mac_address": {"type": "string", "pattern": "^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$"},
    "device_id": _STR,
    "device_owner": _STR,
    "admin_state_up": _BOOL,
    "port_security_enabled": _BOOL,
    "binding:host_id": _STR,
    "binding:profile": _NPROFILE,
    "binding:vnic_type": _STR,
    "fixed_ips": _NFIXED_IPS,
    "security_groups": _NSTRS,
    "tags": _NSTRS,
}


def _closed(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


_NETWORK_IN = _closed({**_NETWORK_UPDATE, **_OWNER})
_NETWORK_PUT = _closed(_NETWORK_UPDATE)
_SUBNET_IN = _closed(_SUBNET_CREATE, ["network_id", "cidr"])
_SUBNET_PUT = _closed(_SUBNET_UPDATE)
_PORT_IN = _closed({**_PORT_UPDATE, **_OWNER, "network_id": _STR}, ["network_id"])
_PORT_PUT = _closed(_PORT_UPDATE)

# responses: what the API returns
_COMMON_OUT = {
    "id": _STR,
    "name": _STR,
    "description": _STR,
    "project_id": _STR,
    "tenant_id": _STR,
    "revision_number": _INT,
    "created_at": _STR,
    "updated_at": _STR,
    "tags": _STRS,
}
_NETWORK_OUT = {
    "type": "object",
    "required": ["id", "name", "status", "subnets", "admin_state_up", "mtu", "revision_number"],
    "properties": {
        **_COMMON_OUT,
        "admin_state_up": _BOOL,
        "shared": _BOOL,
        "mtu": _INT,
        "status": _STR,
        "port_security_enabled": _BOOL,
        "subnets": _STRS,
    },
}
_SUBNET_OUT = {
    "type": "object",
    "required": ["id", "network_id", "cidr", "ip_version", "allocation_pools", "revision_number"],
    "properties": {
        **_COMMON_OUT,
        "network_id": _STR,
        "ip_version": _INT,
        "cidr": _STR,
        "gateway_ip": _NSTR,
        "enable_dhcp": _BOOL,
        "allocation_pools": _POOLS,
        "dns_nameservers": _STRS,
        "host_routes": _OBJS,
    },
}
_PORT_OUT = {
    "type": "object",
    "required": [
        "id",
        "network_id",
        "mac_address",
        "fixed_ips",
        "status",
        "binding:profile",
        "revision_number",
    ],
    "properties": {
        **_COMMON_OUT,
        "network_id": _STR,
        "mac_address": _STR,
        "admin_state_up": _BOOL,
        "status": {"type": "string", "enum": ["ACTIVE", "DOWN", "BUILD", "ERROR"]},
        "device_id": _STR,
        "device_owner": _STR,
        "fixed_ips": _FIXED_IPS,
        "binding:host_id": _STR,
        "binding:profile": _OBJ,
        "binding:vif_type": _STR,
        "binding:vnic_type": _STR,
        "port_security_enabled": _BOOL,
        "security_groups": _STRS,
    },
}
_ERROR = {
    "type": "object",
    "required": ["NeutronError"],
    "properties": {
        "NeutronError": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": _STR, "message": _STR, "detail": _STR},
        }
    },
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _envelope(key: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: schema}}


_ERR = {"description": "error (NeutronError envelope)", "content": _json(_ERROR)}
_FIELDS = {
    "name": "fields",
    "in": "query",
    "required": False,
    "description": "return only these attributes",
    "schema": {"type": "array", "items": _STR},
    "style": "form",
    "explode": True,
}


def _filter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": _STR}


def _closed_envelope(key: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {**_envelope(key, schema), "additionalProperties": False}


def _collection(
    one: str,
    schema_in: dict[str, Any],
    schema_put: dict[str, Any],
    schema_out: dict[str, Any],
    filters: list[str],
    create_links: dict[str, Any],
) -> dict[str, Any]:
    many = one + "s"
    cap = one.capitalize()
    body_put = {"required": True, "content": _json(_closed_envelope(one, schema_put))}
    body_bulk = {
        "oneOf": [
            _closed_envelope(one, schema_in),
            _closed_envelope(many, {"type": "array", "items": schema_in, "minItems": 1}),
        ]
    }
    # ?fields= may leave any attribute out of a shown or listed resource
    selected = {k: v for k, v in schema_out.items() if k != "required"}
    out_one = {"description": "ok", "content": _json(_envelope(one, selected))}
    out_many = {
        "description": "ok",
        "content": _json(_envelope(many, {"type": "array", "items": selected})),
    }
    created = {
        "description": "created (one, or a list for a bulk create)",
        "content": _json(
            {
                "oneOf": [
                    _envelope(one, schema_out),
                    _envelope(many, {"type": "array", "items": schema_out}),
                ]
            }
        ),
    }
    new_id = f"$response.body#/{one}/id"
    links = {
        f"Get{cap}": {"operationId": f"show{cap}", "parameters": {"path.id": new_id}},
        f"Update{cap}": {"operationId": f"update{cap}", "parameters": {"path.id": new_id}},
        f"Delete{cap}": {"operationId": f"delete{cap}", "parameters": {"path.id": new_id}},
        **create_links,
    }
    item_param = [{"name": "id", "in": "path", "required": True, "schema": _STR}]
    return {
        f"/v2.0/{many}": {
            "get": {
                "operationId": f"list{cap}s",
                "parameters": [_FIELDS, *(_filter(f) for f in filters)],
                "responses": {"200": out_many},
            },
            "post": {
                "operationId": f"create{cap}",
                "requestBody": {"required": True, "content": _json(body_bulk)},
                "responses": {
                    "201": {**created, "links": links},
                    "400": _ERR,
                    "404": _ERR,
                    "409": _ERR,
                },
            },
        },
        f"/v2.0/{many}/{{id}}": {
            "parameters": item_param,
            "get": {
                "operationId": f"show{cap}",
                "parameters": [_FIELDS],
                "responses": {"200": out_one, "404": _ERR},
            },
            "put": {
                "operationId": f"update{cap}",
                "requestBody": body_put,
                "responses": {"200": out_one, "400": _ERR, "404": _ERR, "409": _ERR},
            },
            "delete": {
                "operationId": f"delete{cap}",
                "responses": {"204": {"description": "deleted"}, "404": _ERR, "409": _ERR},
            },
        },
    }


def openapi_document(version: str) -> dict[str, Any]:
    doc = {"description": "document", "content": _json(_OBJ)}
    paths: dict[str, Any] = {
        "/": {"get": {"operationId": "listVersions", "responses": {"200": doc}}},
        "/v2.0": {"get": {"operationId": "listResources", "responses": {"200": doc}}},
        "/v2.0/extensions": {"get": {"operationId": "listExtensions", "responses": {"200": doc}}},
        "/v2.0/extensions/{alias}": {
            "get": {
                "operationId": "showExtension",
                "parameters": [{"name": "alias", "in": "path", "required": True, "schema": _STR}],
                "responses": {"200": doc, "404": _ERR},
            }
        },
    }
    net_id = "$response.body#/network/id"
    paths.update(
        _collection(
            "network",
            _NETWORK_IN,
            _NETWORK_PUT,
            _NETWORK_OUT,
            ["id", "name", "admin_state_up", "status"],
            {
                "CreateSubnet": {
                    "operationId": "createSubnet",
                    "requestBody": {"subnet": {"network_id": net_id}},
                },
                "CreatePort": {
                    "operationId": "createPort",
                    "requestBody": {"port": {"network_id": net_id}},
                },
            },
        )
    )
    paths.update(
        _collection(
            "subnet",
            _SUBNET_IN,
            _SUBNET_PUT,
            _SUBNET_OUT,
            ["id", "name", "network_id", "cidr", "ip_version"],
            {},
        )
    )
    paths.update(
        _collection(
            "port",
            _PORT_IN,
            _PORT_PUT,
            _PORT_OUT,
            ["id", "name", "network_id", "mac_address", "device_id", "status", "fixed_ips"],
            {
                "CreateContainerPort": {
                    "operationId": "createPort",
                    "requestBody": {
                        "port": {
                            "network_id": "$response.body#/port/network_id",
                            "binding:profile": {"parent_name": "$response.body#/port/id"},
                        }
                    },
                },
            },
        )
    )
    return {
        "openapi": "3.0.3",
        "info": {"title": "pyovn networking API (Neutron v2.0 compatible)", "version": version},
        "paths": paths,
    }
