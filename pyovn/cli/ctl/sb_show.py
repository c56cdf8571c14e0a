"""ovn-sbctl's show and its chassis and port binding commands (plus pyovn's chassis-list).

``show`` prints each Chassis with its hostname, its Encaps (type, ip, options) and the
Port_Bindings bound to it, as ovn-sbctl does; values are quoted as ovn-sbctl quotes them
(``ip: "192.168.0.1"``, ``hostname: host1``) and empty values are left out. ovn-sbctl
prints chassis and bindings in hash order; pyovn sorts them by name.
"""

from __future__ import annotations

from typing import Any

from pyovn.cli.ctl.context import Ctx
from pyovn.cli.ctl.options import CommandSpec
from pyovn.cli.ctl.values import CtlError, atom_text, datum_text, sort_key
from pyovn.cli.ctl.workdb import Key
from pyovn.ovsdb.types import AtomicType, BaseType

CHASSIS = "Chassis"
ENCAP = "Encap"
PORT_BINDING = "Port_Binding"
STRING = BaseType(AtomicType.STRING)


def _str(value: Any) -> str:
    return atom_text(STRING, value)


def cmd_show(ctx: Ctx) -> None:
    chassis_rows = ctx.db.rows(CHASSIS)
    encaps = ctx.db.rows(ENCAP)
    bindings = ctx.db.rows(PORT_BINDING)
    encap_schema = ctx.db.table(ENCAP)
    bound: dict[Key, list[str]] = {}
    for row in bindings.values():
        for chassis in row["chassis"]:
            bound.setdefault(chassis, []).append(row["logical_port"])
    for key, row in sorted(chassis_rows.items(), key=lambda kv: (kv[1]["name"], sort_key(kv[0]))):
        ctx.line(f"Chassis {_str(row['name'])}")
        if row["hostname"]:
            ctx.line(f"    hostname: {_str(row['hostname'])}")
        for encap_key in sorted(row["encaps"], key=sort_key):
            encap = encaps.get(encap_key)
            if encap is None:
                continue
            ctx.line(f"    Encap {_str(encap['type'])}")
            if encap["ip"]:
                ctx.line(f"        ip: {_str(encap['ip'])}")
            if encap["options"]:
                options = datum_text(encap_schema.columns["options"].type, encap["options"])
                ctx.line(f"        options: {options}")
        for port in sorted(bound.get(key, [])):
            ctx.line(f"    Port_Binding {_str(port)}")


def cmd_chassis_list(ctx: Ctx) -> None:
    """pyovn's own: one "UUID (name)" line per chassis, sorted by name."""
    rows = ctx.db.rows(CHASSIS)
    for key, row in sorted(rows.items(), key=lambda kv: (kv[1]["name"], sort_key(kv[0]))):
        ctx.line(f"{key} ({row['name']})")


def _chassis(ctx: Ctx, name: str, must_exist: bool = True) -> Key | None:
    found = ctx.db.find(CHASSIS, name=name)
    if found:
        ctx.db.verify(CHASSIS, found[0].uuid, ["name"])
        return found[0].uuid
    if must_exist:
        raise CtlError(f"no chassis named {name}")
    return None


def _binding(ctx: Ctx, name: str, must_exist: bool = True) -> Key | None:
    found = ctx.db.find(PORT_BINDING, logical_port=name)
    if found:
        ctx.db.verify(PORT_BINDING, found[0].uuid, ["logical_port"])
        return found[0].uuid
    if must_exist:
        raise CtlError(f"no port named {name}")
    return None


def cmd_chassis_add(ctx: Ctx) -> None:
    name, types, ip = ctx.args
    if _chassis(ctx, name, must_exist=False) is not None:
        if ctx.has("--may-exist"):
            return
        raise CtlError(
            f"cannot create a chassis named {name} because a chassis named {name} already exists"
        )
    ctx.db.verify_absent(CHASSIS, [["name", "==", name]])
    encaps = []
    for kind in dict.fromkeys(t for t in types.split(",") if t):
        encaps.append(
            ctx.db.insert(
                ENCAP,
                {"type": kind, "ip": ip, "chassis_name": name, "options": {"csum": "true"}},
            )
        )
    ctx.db.insert(CHASSIS, {"name": name, "encaps": frozenset(encaps)})


def cmd_chassis_del(ctx: Ctx) -> None:
    key = _chassis(ctx, ctx.args[0], must_exist=not ctx.has("--if-exists"))
    if key is not None:
        ctx.db.delete(CHASSIS, key)


def cmd_lsp_bind(ctx: Ctx) -> None:
    port, chassis_name = ctx.args
    binding = _binding(ctx, port)
    chassis = _chassis(ctx, chassis_name)
    row = ctx.db.rows(PORT_BINDING)[binding]
    if row["chassis"]:
        if ctx.has("--may-exist"):
            return
        (old,) = row["chassis"]
        old_row = ctx.db.get(CHASSIS, old)
        old_name = old_row["name"] if old_row is not None else str(old)
        raise CtlError(f"lport ({port}) has already been binded to chassis ({old_name})")
    ctx.db.verify(PORT_BINDING, binding, ["chassis"])
    ctx.db.write(PORT_BINDING, binding, {"chassis": frozenset((chassis,))})


def cmd_lsp_unbind(ctx: Ctx) -> None:
    binding = _binding(ctx, ctx.args[0], must_exist=not ctx.has("--if-exists"))
    if binding is not None and ctx.db.rows(PORT_BINDING)[binding]["chassis"]:
        ctx.db.write(PORT_BINDING, binding, {"chassis": frozenset()})


def chassis_commands() -> dict[str, CommandSpec]:
    ch, pb = (CHASSIS, ENCAP), (CHASSIS, PORT_BINDING)
    specs = [
        CommandSpec("show", 0, 0, cmd_show, (), (CHASSIS, ENCAP, PORT_BINDING), "show",
                    "print overview of database contents"),
        CommandSpec("chassis-list", 0, 0, cmd_chassis_list, (), (CHASSIS,), "chassis-list",
                    "print all chassis, one \"UUID (name)\" per line (pyovn only)"),
        CommandSpec("chassis-add", 3, 3, cmd_chassis_add, ("--may-exist",), ch,
                    "[--may-exist] chassis-add CHASSIS ENCAP-TYPE ENCAP-IP",
                    "create a new chassis named CHASSIS"),
        CommandSpec("chassis-del", 1, 1, cmd_chassis_del, ("--if-exists",), ch,
                    "[--if-exists] chassis-del CHASSIS", "delete CHASSIS and its encaps"),
        CommandSpec("lsp-bind", 2, 2, cmd_lsp_bind, ("--may-exist",), pb,
                    "[--may-exist] lsp-bind PORT CHASSIS", "bind logical port PORT to CHASSIS"),
        CommandSpec("lsp-unbind", 1, 1, cmd_lsp_unbind, ("--if-exists",), pb,
                    "[--if-exists] lsp-unbind PORT", "reset binding of logical port PORT"),
    ]  # fmt: skip
    return {s.name: s for s in specs}
