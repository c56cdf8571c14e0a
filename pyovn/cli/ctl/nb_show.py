"""``ovn-nbctl show [SWITCH|ROUTER]``: a brief overview of switches, routers and ports.

The layout is ovn-nbctl's: a switch line, then one block per port in the order of the
switch's ports column (UUID order), with ``type``, ``parent``, ``tag``, ``addresses`` and
``router-port`` lines when set. ovn-nbctl lists switches in hash order; pyovn sorts them by
name (then UUID) so the output is stable.
"""

from __future__ import annotations

from pyovn.cli.ctl.context import Ctx
from pyovn.cli.ctl.nb_switch import LS, LSP, ls_lookup, one, uuid_text
from pyovn.cli.ctl.options import CommandSpec
from pyovn.cli.ctl.values import CtlError, is_uuid, sort_key
from pyovn.cli.ctl.workdb import Key
from pyovn.ovsdb.client.replica import RowView
from pyovn.ovsdb.types import Uuid

LR = "Logical_Router"
LRP = "Logical_Router_Port"
SHOW_TABLES = (LS, LSP, LR, LRP, "NAT", "Gateway_Chassis")


def _aka(row: RowView, key: str) -> str:
    other = row["external_ids"].get(key)
    return f" (aka {other})" if other else ""


def _quoted_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _by_name(rows: dict[Key, RowView]) -> list[tuple[Key, RowView]]:
    return sorted(rows.items(), key=lambda kv: (kv[1]["name"], sort_key(kv[0])))


def print_switch(ctx: Ctx, key: Key) -> None:
    row = ctx.db.rows(LS)[key]
    ctx.line(f"switch {uuid_text(key)} ({row['name']}){_aka(row, 'neutron:network_name')}")
    ports = ctx.db.rows(LSP)
    for port_key in sorted(row["ports"], key=sort_key):
        port = ports.get(port_key)
        if port is None:
            continue
        ctx.line(f"    port {port['name']}{_aka(port, 'neutron:port_name')}")
        if port["type"]:
            ctx.line(f"        type: {port['type']}")
        parent = one(port, "parent_name")
        if parent is not None:
            ctx.line(f"        parent: {parent}")
        tag = one(port, "tag")
        if tag is not None:
            ctx.line(f"        tag: {tag}")
        addresses = sorted(port["addresses"])
        if addresses and addresses[0] != "router":
            ctx.line(f"        addresses: {_quoted_list(addresses)}")
        router_port = port["options"].get("router-port")
        if router_port is not None:
            ctx.line(f"        router-port: {router_port}")


def print_router(ctx: Ctx, key: Key) -> None:
    row = ctx.db.rows(LR)[key]
    ctx.line(f"router {uuid_text(key)} ({row['name']}){_aka(row, 'neutron:router_name')}")
    ports = ctx.db.rows(LRP)
    chassis = ctx.db.rows("Gateway_Chassis")
    for port_key in sorted(row["ports"], key=sort_key):
        port = ports.get(port_key)
        if port is None:
            continue
        ctx.line(f"    port {port['name']}")
        ctx.line(f'        mac: "{port["mac"]}"')
        if port["networks"]:
            ctx.line(f"        networks: {_quoted_list(sorted(port['networks']))}")
        names = sorted(chassis[g]["chassis_name"] for g in port["gateway_chassis"] if g in chassis)
        if names:
            ctx.line(f"        gateway chassis: [{' '.join(names)}]")
    nats = ctx.db.rows("NAT")
    for nat_key in sorted(row["nat"], key=sort_key):
        nat = nats.get(nat_key)
        if nat is None:
            continue
        ctx.line(f"    nat {uuid_text(nat_key)}")
        ctx.line(f'        external ip: "{nat["external_ip"]}"')
        ctx.line(f'        logical ip: "{nat["logical_ip"]}"')
        ctx.line(f'        type: "{nat["type"]}"')


def _router_lookup(ctx: Ctx, ident: str) -> Key | None:
    rows = ctx.db.rows(LR)
    if is_uuid(ident) and Uuid(ident.lower()) in rows:
        return Uuid(ident.lower())
    found = [k for k, r in rows.items() if r["name"] == ident]
    if len(found) > 1:
        raise CtlError(f"Multiple logical routers named '{ident}'.  Use a UUID.")
    return found[0] if found else None


def cmd_show(ctx: Ctx) -> None:
    if ctx.args:
        switch = ls_lookup(ctx, ctx.args[0], must_exist=False)
        if switch is not None:
            print_switch(ctx, switch)
        router = _router_lookup(ctx, ctx.args[0])
        if router is not None:
            print_router(ctx, router)
        return
    for key, _ in _by_name(ctx.db.rows(LS)):
        print_switch(ctx, key)
    for key, _ in _by_name(ctx.db.rows(LR)):
        print_router(ctx, key)


SHOW_SPEC = CommandSpec(
    "show",
    0,
    1,
    cmd_show,
    (),
    SHOW_TABLES,
    "show [SWITCH|ROUTER]",
    "print overview of database contents (of one switch or router)",
)
