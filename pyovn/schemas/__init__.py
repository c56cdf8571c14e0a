"""pyovn's OVSDB schemas, written for pyovn; table, column and type names match OVN's.

Three schemas ship as package data, named by a short name:

    nb       OVN_Northbound  7.0.0   (OVN 23.03)
    sb       OVN_Southbound  20.27.0 (OVN 23.03)
    vswitch  Open_vSwitch    8.3.1   (Open vSwitch 3.1)

The names and versions are the same as OVN's because real clients (ovn-nbctl, ovn-northd,
ovn-controller, ovs-vswitchd) decide which features to use from them. Each schema holds every
table of its OVN / Open vSwitch counterpart, with every column, type, index, ``isRoot``,
``maxRows``, ``mutable`` and ``ephemeral`` flag the same, so any real OVN tool can use a pyovn
database. The files carry no ``cksum``.

Omitted tables: none (nb: 30 tables, sb: 34 tables, vswitch: 19 tables).
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_FILES", "SCHEMA_NAMES", "load_schema_json", "schema_path"]

SCHEMA_NAMES: tuple[str, ...] = ("nb", "sb", "vswitch")

SCHEMA_FILES: dict[str, str] = {
    "nb": "nb.ovsschema",
    "sb": "sb.ovsschema",
    "vswitch": "vswitch.ovsschema",
}


def schema_path(name_or_path: str) -> Path:
    """Return the path of a schema file.

    ``name_or_path`` is a short name ("nb", "sb" or "vswitch") for a schema packaged with
    pyovn, or else a filesystem path to a ``.ovsschema`` file. Raises FileNotFoundError if
    the file does not exist.
    """
    if name_or_path in SCHEMA_FILES:
        resource = files(__name__).joinpath(SCHEMA_FILES[name_or_path])
        path = resource if isinstance(resource, Path) else Path(str(resource))
        if not path.is_file():
            raise FileNotFoundError(
                f"packaged schema {name_or_path!r} is missing: expected {path} "
                "(is pyovn installed with its package data?)"
            )
        return path
    path = Path(name_or_path)
    if not path.is_file():
        names = ", ".join(SCHEMA_NAMES)
        raise FileNotFoundError(
            f"schema file not found: {name_or_path!r} (give one of {names} or a path to an "
            ".ovsschema file)"
        )
    return path


def load_schema_json(name_or_path: str) -> dict[str, Any]:
    """Read a schema (short name or path, as for `schema_path`) and return its parsed JSON."""
    path = schema_path(name_or_path)
    with path.open(encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: an OVSDB schema must be a JSON object")
    return data
