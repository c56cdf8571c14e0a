"""Naming tables, columns and records on the command line, as ovn-nbctl and ovn-sbctl do.

Table and column names are case-insensitive, ``-`` and ``_`` are the same, and a unique
prefix is enough (``logical-switch-port``, ``addr``). A record is named by its UUID, by a
unique prefix of at least 4 hex digits of it, by ``.`` in a table that holds one row, or by
a name under the table's record-id rules: a column (or a map key of a column) of the table
itself or of a table that refers to it (``list DHCP_Options PORT`` finds the port's
dhcpv4_options).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pyovn.cli.ctl.values import CtlError, is_uuid
from pyovn.cli.ctl.workdb import Key, WorkDb
from pyovn.ovsdb.client.txn import NamedUuid
from pyovn.ovsdb.schema import BUILTIN_COLUMNS, ColumnSchema, DatabaseSchema, TableSchema
from pyovn.ovsdb.types import Uuid

_HEX_PREFIX_RE = re.compile(r"^[0-9a-f]{4,}(-[0-9a-f-]*)?$")


@dataclass(frozen=True, slots=True)
class IdRule:
    """Rows of ``table`` whose ``column`` (``column[key]`` for a map) equals the record
    name identify the wanted row: themselves, or the row their ``ref`` column points to."""

    table: str
    column: str
    key: str | None = None
    ref: str | None = None


def _own(table: str, *names: str) -> tuple[IdRule, ...]:
    rules = []
    for name in names:
        column, _, key = name.partition(":")
        rules.append(IdRule(table, column, key or None))
    return tuple(rules)


NB_ROW_IDS: dict[str, tuple[IdRule, ...]] = {
    "Logical_Switch": _own("Logical_Switch", "name", "external_ids:neutron:network_name"),
    "Logical_Switch_Port": _own("Logical_Switch_Port", "name", "external_ids:neutron:port_name"),
    "Logical_Router": _own("Logical_Router", "name", "external_ids:neutron:router_name"),
    "Logical_Router_Port": _own("Logical_Router_Port", "name"),
    "ACL": _own("ACL", "name"),
    "Address_Set": _own("Address_Set", "name"),
    "Port_Group": _own("Port_Group", "name"),
    "Load_Balancer": _own("Load_Balancer", "name"),
    "Load_Balancer_Group": _own("Load_Balancer_Group", "name"),
    "HA_Chassis_Group": _own("HA_Chassis_Group", "name"),
    "HA_Chassis": _own("HA_Chassis", "chassis_name"),
    "Meter": _own("Meter", "name"),
    "Forwarding_Group": _own("Forwarding_Group", "name"),
    "Connection": _own("Connection", "target"),
    "Chassis_Template_Var": _own("Chassis_Template_Var", "chassis"),
    "DHCP_Options": (
        IdRule("Logical_Switch_Port", "name", None, "dhcpv4_options"),
        IdRule("Logical_Switch_Port", "external_ids", "neutron:port_name", "dhcpv4_options"),
        IdRule("Logical_Switch_Port", "name", None, "dhcpv6_options"),
        IdRule("Logical_Switch_Port", "external_ids", "neutron:port_name", "dhcpv6_options"),
    ),
}

SB_ROW_IDS: dict[str, tuple[IdRule, ...]] = {
    "Chassis": _own("Chassis", "name"),
    "Chassis_Private": _own("Chassis_Private", "name"),
    "Datapath_Binding": _own(
        "Datapath_Binding",
        "external_ids:name",
        "external_ids:name2",
        "external_ids:logical-switch",
        "external_ids:logical-router",
    ),
    "Port_Binding": _own("Port_Binding", "logical_port"),
    "MAC_Binding": _own("MAC_Binding", "logical_port"),
    "Address_Set": _own("Address_Set", "name"),
    "RBAC_Role": _own("RBAC_Role", "name"),
    "RBAC_Permission": _own("RBAC_Permission", "table"),
    "Connection": _own("Connection", "target"),
}

# tables whose single row is called "."
SINGLETONS = frozenset(("NB_Global", "SB_Global", "Open_vSwitch"))


def _norm(name: str) -> str:
    return name.lower().replace("-", "_")


def find_table(schema: DatabaseSchema, name: str) -> TableSchema:
    want = _norm(name)
    exact = [t for t in schema.tables.values() if _norm(t.name) == want]
    if exact:
        return exact[0]
    matches = [t for t in schema.tables.values() if _norm(t.name).startswith(want)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CtlError(f'multiple table names match "{name}"')
    raise CtlError(f'unknown table "{name}"')


def find_column(table: TableSchema, name: str, allow_builtin: bool = False) -> ColumnSchema:
    columns = dict(table.columns)
    if allow_builtin:
        columns = {**BUILTIN_COLUMNS, **columns}
    want = _norm(name)
    exact = [c for n, c in columns.items() if _norm(n) == want]
    if exact:
        return exact[0]
    matches = [c for n, c in columns.items() if _norm(n).startswith(want)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(sorted(c.name for c in matches))
        raise CtlError(
            f'{table.name} contains more than one column whose name matches "{name}": {names}'
        )
    raise CtlError(f'{table.name} does not contain a column whose name matches "{name}"')


def tables_for_ids(row_ids: dict[str, tuple[IdRule, ...]], table: str) -> set[str]:
    """The tables that must be watched to name records of ``table``."""
    return {table} | {rule.table for rule in row_ids.get(table, ())}


def _rule_matches(db: WorkDb, rule: IdRule, record: str) -> list[Key]:
    if rule.table not in db.schema.tables:
        return []
    table = db.table(rule.table)
    column = table.columns.get(rule.column)
    if column is None:
        return []
    found: list[Key] = []
    for row in db.rows(rule.table).values():
        value: Any = row[rule.column]
        if rule.key is not None:
            if not isinstance(value, dict) or value.get(rule.key) != record:
                continue
        elif isinstance(value, frozenset):
            if value != frozenset((record,)):
                continue
        elif value != record:
            continue
        if rule.ref is None:
            found.append(row.uuid)
            continue
        target = row[rule.ref]
        targets = target if isinstance(target, frozenset) else (target,)
        found.extend(t for t in targets if t)
    return found


def find_record(
    db: WorkDb,
    row_ids: dict[str, tuple[IdRule, ...]],
    table: str,
    record: str,
    must_exist: bool = True,
    symbols: dict[str, Any] | None = None,
) -> Key | None:
    """The row of ``table`` that ``record`` names (None if none and not ``must_exist``)."""
    rows = db.rows(table)
    if symbols is not None and record.startswith("@") and record in symbols:
        key = symbols[record]
        if key in rows:
            return key
    if is_uuid(record):
        key = Uuid(record.lower())
        if key in rows:
            return key
    if record == "." and table in SINGLETONS and len(rows) == 1:
        return next(iter(rows))
    for rule in row_ids.get(table, ()):
        found = list(dict.fromkeys(_rule_matches(db, rule, record)))
        found = [k for k in found if k in rows]
        if len(found) > 1:
            raise CtlError(f'multiple rows in {table} match "{record}"')
        if found:
            return found[0]
    if _HEX_PREFIX_RE.match(record):
        found = [k for k in rows if not isinstance(k, NamedUuid) and k.startswith(record)]
        if len(found) > 1:
            raise CtlError(f'multiple rows in {table} match "{record}"')
        if found:
            return found[0]
    if must_exist:
        raise CtlError(f'no row "{record}" in table {table}')
    return None
