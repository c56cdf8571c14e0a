"""Request validation: every bad input is an HTTP 400 whose message names the field."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pyovn.api.errors import BadRequest

_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_UNSET: Any = object()
MAX_TAG = 4095


def check_fields(kind: str, body: dict[str, Any], allowed: set[str]) -> None:
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid input: the {kind} must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    if "tags" in body:  # accepted (and not kept), but it must be well-formed
        check_list(body, "tags", str)


def check_str(body: dict[str, Any], name: str, default: Any = _UNSET) -> Any:
    """A string member; without ``default`` it is required."""
    if name not in body:
        if default is _UNSET:
            raise BadRequest(f"Invalid input for {name}: it is required")
        return default
    value = body[name]
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is not a valid string.")
    if len(value) > 255:
        raise BadRequest(f"Invalid input for {name}. Reason: longer than 255 characters.")
    return value


def project_of(body: dict[str, Any], default: str) -> str:
    """project_id, or its older name tenant_id, or ``default`` (both are checked)."""
    tenant = check_str(body, "tenant_id", default)
    return str(check_str(body, "project_id", tenant))


def check_bool(body: dict[str, Any], name: str, default: bool) -> bool:
    if name not in body:
        return default
    value = body[name]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is not a valid boolean value.")


def check_int(body: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    if name not in body:
        return default
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is not an integer.")
    if not lo <= value <= hi:
        raise BadRequest(
            f"Invalid input for {name}. Reason: {value} is not in the range {lo} to {hi}."
        )
    return value


def check_list(body: dict[str, Any], name: str, kind: type) -> list[Any]:
    value = body.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
        raise BadRequest(
            f"Invalid input for {name}. Reason: '{value}' is not a list of {kind.__name__}."
        )
    return value


def check_ip(name: str, value: Any) -> str:
    """An IPv4 or IPv6 address given as a string, normalised."""
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            pass
    raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is not a valid IP address.")


def check_ip_list(body: dict[str, Any], name: str) -> list[str]:
    return [check_ip(name, v) for v in check_list(body, name, str)]


def check_mac(value: Any) -> str:
    if not isinstance(value, str) or not _MAC.match(value):
        raise BadRequest(
            f"Invalid input for mac_address. Reason: '{value}' is not a valid MAC address."
        )
    if int(value.split(":")[0], 16) & 1:
        raise BadRequest(
            f"Invalid input for mac_address. Reason: '{value}' is a multicast address."
        )
    return value.lower()


def parse_profile(value: Any) -> tuple[dict[str, Any], str | None, int | str | None]:
    """binding:profile -> (profile, parent port id, tag: int, "auto" or None).

    A container inside a VM: {"parent_name": VM_PORT_ID, "tag": 1..4095 | "auto"}; without
    "tag" the tag is picked automatically; "tag" without "parent_name" is an error."""
    if value is None:
        return {}, None, None
    if not isinstance(value, dict):
        raise BadRequest("Invalid input for binding:profile. Reason: it must be a dictionary.")
    parent = value.get("parent_name")
    tag = value.get("tag")
    if parent is None:
        if "tag" in value:
            raise BadRequest(
                "Invalid input for binding:profile. Reason: 'tag' requires "
                "'parent_name' (the VM's port) to be given with it."
            )
        return dict(value), None, None
    if not isinstance(parent, str) or not parent:
        raise BadRequest(
            "Invalid input for binding:profile. Reason: 'parent_name' must be "
            "the id of the VM's port."
        )
    if tag is None or tag == "auto":
        return dict(value), parent, "auto"
    if isinstance(tag, bool) or not isinstance(tag, int):
        raise BadRequest(
            f"Invalid input for binding:profile. Reason: 'tag' must be an integer "
            f'between 1 and {MAX_TAG} or "auto", not {tag!r}.'
        )
    if not 1 <= tag <= MAX_TAG:
        raise BadRequest(
            f"Invalid input for binding:profile. Reason: 'tag' {tag} is not "
            f"between 1 and {MAX_TAG}."
        )
    return dict(value), parent, tag
