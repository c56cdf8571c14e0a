"""ovn-nbctl's logical switch and logical switch port commands (ls-*, lsp-*).

Lookups verify what they read (the name a row was found by, the absence of a name about to
be used), and set members change through ``mutate``, so a chain rebuilt after "try again"
makes the same decisions on fresh data.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pyovn.cli.ctl.context import Ctx
from pyovn.cli.ctl.options import UNLIMITED_ARGS, CommandSpec
from pyovn.cli.ctl.values import CtlError, is_uuid, placeholder, sort_key
from pyovn.cli.ctl.workdb import Key
from pyovn.ovsdb.client.replica import RowView
from pyovn.ovsdb.client.txn import NamedUuid
from pyovn.ovsdb.types import Uuid

LS = "Logical_Switch"
LSP = "Logical_Switch_Port"
LSP_TYPES = ("", "router", "localnet", "localport", "l2gateway", "vtep", "external",
             "virtual", "remote")  # fmt: skip
_ETH_RE = re.compile(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}")
_ETH_FULL_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


def uuid_text(key: Key) -> str:
    return placeholder(key) if isinstance(key, NamedUuid) else str(key)


def one(row: RowView, column: str) -> Any:
    value = row[column]
    if isinstance(value, frozenset):
        return next(iter(value)) if value else None
    return value


# ---------------------------------------------------------------------------- lookups


def _lookup(ctx: Ctx, table: str, ident: str, noun: str, plural: str, must_exist: bool) -> Key:
    rows = ctx.db.rows(table)
    if is_uuid(ident):
        key = Uuid(ident.lower())
        if key in rows:
            ctx.db.verify_exists(table, key)
            return key
    found = [k for k, r in rows.items() if r["name"] == ident]
    if len(found) > 1:
        raise CtlError(f"Multiple {plural} named '{ident}'.  Use a UUID.")
    if found:
        ctx.db.verify(table, found[0], ["name"])
        return found[0]
    if must_exist:
        raise CtlError(f"{ident}: {noun} {'UUID' if is_uuid(ident) else 'name'} not found")
    return None


def ls_lookup(ctx: Ctx, ident: str, must_exist: bool = True) -> Key:
    return _lookup(ctx, LS, ident, "switch", "logical switches", must_exist)


def lsp_lookup(ctx: Ctx, ident: str, must_exist: bool = True) -> Key:
    return _lookup(ctx, LSP, ident, "port", "logical switch ports", must_exist)


def switch_of(ctx: Ctx, port: Key) -> Key | None:
    for key, row in sorted(ctx.db.rows(LS).items(), key=lambda kv: sort_key(kv[0])):
        if port in row["ports"]:
            return key
    return None


def _port_row(ctx: Ctx) -> RowView:
    return ctx.db.rows(LSP)[lsp_lookup(ctx, ctx.args[0])]


def _listing(rows: dict[Key, RowView]) -> list[str]:
    items = sorted(rows.items(), key=lambda kv: (kv[1]["name"], sort_key(kv[0])))
    return [f"{uuid_text(k)} ({r['name']})" for k, r in items]


# ---------------------------------------------------------------------------- switches


def cmd_ls_add(ctx: Ctx) -> None:
    may_exist, duplicate = ctx.has("--may-exist"), ctx.has("--add-duplicate")
    if may_exist and duplicate:
        raise CtlError("--may-exist and --add-duplicate may not be used together")
    if not ctx.args:
        ctx.db.insert(LS, {})
        return
    name = ctx.args[0]
    if not duplicate:
        if ctx.db.find(LS, name=name):
            if may_exist:
                return
            raise CtlError(f"{name}: a switch with this name already exists")
        ctx.db.verify_absent(LS, [["name", "==", name]])
    ctx.db.insert(LS, {"name": name})


def cmd_ls_del(ctx: Ctx) -> None:
    key = ls_lookup(ctx, ctx.args[0], must_exist=not ctx.has("--if-exists"))
    if key is None:
        return
    ports = ctx.db.rows(LS)[key]["ports"]
    ctx.db.delete(LS, key)
    for port in sorted(ports, key=sort_key):
        if ctx.db.get(LSP, port) is not None:
            ctx.db.delete(LSP, port)


def cmd_ls_list(ctx: Ctx) -> None:
    for line in _listing(ctx.db.rows(LS)):
        ctx.line(line)


# ---------------------------------------------------------------------------- ports


def _parse_tag(text: str) -> int:
    if not re.match(r"^[+-]?[0-9]+$", text) or not 0 <= int(text) <= 4095:
        raise CtlError(f"{text}: invalid tag (must be in range 0 to 4095)")
    return int(text)


def cmd_lsp_add(ctx: Ctx) -> None:
    args = ctx.args
    if len(args) == 3:
        raise CtlError("lsp-add with parent must also specify a tag")
    switch = ls_lookup(ctx, args[0])
    name = args[1]
    parent = args[2] if len(args) == 4 else None
    tag = _parse_tag(args[3]) if len(args) == 4 else None
    existing = lsp_lookup(ctx, name, must_exist=False)
    if existing is not None:
        if not ctx.has("--may-exist"):
            raise CtlError(f"{name}: a port with this name already exists")
        _check_existing(ctx, existing, switch, name, parent, tag)
        return
    ctx.db.verify_absent(LSP, [["name", "==", name]])
    row: dict[str, Any] = {"name": name}
    if parent is not None:
        row["parent_name"] = frozenset((parent,))
        row["tag_request"] = frozenset((tag,))
    port = ctx.db.insert(LSP, row)
    ctx.db.add_elements(LS, switch, "ports", frozenset((port,)), "lsp-add")


def _check_existing(
    ctx: Ctx, port: Key, switch: Key, name: str, parent: str | None, tag: int | None
) -> None:
    row = ctx.db.rows(LSP)[port]
    owner = switch_of(ctx, port)
    if owner != switch:
        owner_name = ctx.db.rows(LS)[owner]["name"] if owner is not None else ""
        raise CtlError(f"{name}: port already exists but in switch {owner_name}")
    old_parent = one(row, "parent_name")
    if parent is None:
        if old_parent is not None:
            raise CtlError(f"{name}: port already exists but has parent {old_parent}")
        return
    if old_parent is None:
        raise CtlError(f"{name}: port already exists but has no parent")
    if old_parent != parent:
        raise CtlError(f"{name}: port already exists with different parent {old_parent}")
    old_tag = one(row, "tag_request")
    if old_tag != tag:
        raise CtlError(f"{name}: port already exists with different tag_request {old_tag or 0}")


def cmd_lsp_del(ctx: Ctx) -> None:
    port = lsp_lookup(ctx, ctx.args[0], must_exist=not ctx.has("--if-exists"))
    if port is None:
        return
    switch = switch_of(ctx, port)
    if switch is not None:
        ctx.db.remove_elements(LS, switch, "ports", frozenset((port,)), "lsp-del")
    ctx.db.delete(LSP, port)


def cmd_lsp_list(ctx: Ctx) -> None:
    switch = ls_lookup(ctx, ctx.args[0])
    ports = ctx.db.rows(LS)[switch]["ports"]
    rows = {k: r for k, r in ctx.db.rows(LSP).items() if k in ports}
    for line in _listing(rows):
        ctx.line(line)


def cmd_lsp_get_ls(ctx: Ctx) -> None:
    port = lsp_lookup(ctx, ctx.args[0])
    switch = switch_of(ctx, port)
    if switch is not None:
        ctx.line(f"{uuid_text(switch)} ({ctx.db.rows(LS)[switch]['name']})")


def _print_one(column: str) -> Any:
    def run(ctx: Ctx) -> None:
        value = one(_port_row(ctx), column)
        if value is not None:
            ctx.line(str(value))

    return run


def _print_each(column: str) -> Any:
    def run(ctx: Ctx) -> None:
        for value in sorted(_port_row(ctx)[column]):
            ctx.line(value)

    return run


def cmd_lsp_set_addresses(ctx: Ctx) -> None:
    port = lsp_lookup(ctx, ctx.args[0])
    addresses = ctx.args[1:]
    for address in addresses:
        if not _valid_address(address):
            raise CtlError(
                f"{address}: Invalid address format. See ovn-nb(5). Hint: An Ethernet "
                "address must be listed before an IP address, together as a single argument."
            )
    _check_duplicate_ips(ctx, port, addresses)
    ctx.db.write(LSP, port, {"addresses": frozenset(addresses)})


def _valid_address(address: str) -> bool:
    if address in ("unknown", "dynamic", "router"):
        return True
    if address.startswith("dynamic "):
        return True
    return bool(_ETH_RE.match(address))


def parse_lsp_address(address: str) -> tuple[list[Any], list[Any]] | None:
    """ "MAC [IP[/PLEN]]..." -> (IPv4 addresses, IPv6 addresses); None if it is not one."""
    words = address.split()
    if not words or not _ETH_FULL_RE.match(words[0]):
        return None
    v4: list[Any] = []
    v6: list[Any] = []
    for word in words[1:]:
        try:
            ip = ipaddress.ip_interface(word).ip
        except ValueError:
            return None
        (v4 if ip.version == 4 else v6).append(ip)
    return v4, v6


def _check_duplicate_ips(ctx: Ctx, port: Key, addresses: list[str]) -> None:
    switch = switch_of(ctx, port)
    if switch is None:
        return
    wanted: list[Any] = []
    for address in addresses:
        parsed = parse_lsp_address(address)
        if parsed is not None:
            wanted.extend(parsed[0] + parsed[1])
    if not wanted:
        return
    ls_row = ctx.db.rows(LS)[switch]
    ports = ctx.db.rows(LSP)
    for other in sorted(ls_row["ports"], key=sort_key):
        row = ports.get(other)
        if other == port or row is None:
            continue
        for address in sorted(row["addresses"]):
            parsed = parse_lsp_address(address)
            if parsed is None:
                continue
            for ip in wanted:
                if ip in parsed[0] or ip in parsed[1]:
                    family = "IPv4" if ip.version == 4 else "IPv6"
                    raise CtlError(
                        f"Error on switch {ls_row['name']}: duplicate {family} address "
                        f"'{ip}' found on logical switch port '{row['name']}'"
                    )


def cmd_lsp_set_port_security(ctx: Ctx) -> None:
    port = lsp_lookup(ctx, ctx.args[0])
    ctx.db.write(LSP, port, {"port_security": frozenset(ctx.args[1:])})


def cmd_lsp_get_up(ctx: Ctx) -> None:
    ctx.line("up" if one(_port_row(ctx), "up") is True else "down")


def cmd_lsp_set_enabled(ctx: Ctx) -> None:
    port = lsp_lookup(ctx, ctx.args[0])
    state = ctx.args[1]
    if state not in ("enabled", "disabled"):
        raise CtlError(f'{state}: state must be "enabled" or "disabled"')
    ctx.db.write(LSP, port, {"enabled": frozenset((state == "enabled",))})


def cmd_lsp_get_enabled(ctx: Ctx) -> None:
    ctx.line("disabled" if one(_port_row(ctx), "enabled") is False else "enabled")


def cmd_lsp_set_type(ctx: Ctx) -> None:
    port = lsp_lookup(ctx, ctx.args[0])
    kind = ctx.args[1]
    if kind not in LSP_TYPES:
        raise CtlError(f"Logical switch port type '{kind}' is unrecognized. Not setting type.")
    ctx.db.write(LSP, port, {"type": kind})


def cmd_lsp_get_type(ctx: Ctx) -> None:
    ctx.line(_port_row(ctx)["type"])


def cmd_lsp_set_options(ctx: Ctx) -> None:
    port = lsp_lookup(ctx, ctx.args[0])
    options = {}
    for arg in ctx.args[1:]:
        key, eq, value = arg.partition("=")
        if eq:
            options[key] = value
    ctx.db.write(LSP, port, {"options": options})


def cmd_lsp_get_options(ctx: Ctx) -> None:
    for key, value in sorted(_port_row(ctx)["options"].items()):
        ctx.line(f"{key}={value}")


def switch_commands() -> dict[str, CommandSpec]:
    n = UNLIMITED_ARGS
    ls, lsp = (LS,), (LS, LSP)
    specs = [
        CommandSpec("ls-add", 0, 1, cmd_ls_add, ("--may-exist", "--add-duplicate"), ls,
                    "[--may-exist|--add-duplicate] ls-add [SWITCH]", "create a logical switch"),
        CommandSpec("ls-del", 1, 1, cmd_ls_del, ("--if-exists",), lsp,
                    "[--if-exists] ls-del SWITCH", "delete SWITCH and all its ports"),
        CommandSpec("ls-list", 0, 0, cmd_ls_list, (), ls, "ls-list", "print all switches"),
        CommandSpec("lsp-add", 2, 4, cmd_lsp_add, ("--may-exist",), lsp,
                    "[--may-exist] lsp-add SWITCH PORT [PARENT TAG_REQUEST]",
                    "add logical port PORT on SWITCH (a container port of PARENT with VLAN "
                    "TAG_REQUEST; 0 lets northd choose the tag)"),
        CommandSpec("lsp-del", 1, 1, cmd_lsp_del, ("--if-exists",), lsp,
                    "[--if-exists] lsp-del PORT", "delete PORT from its attached switch"),
        CommandSpec("lsp-list", 1, 1, cmd_lsp_list, (), lsp, "lsp-list SWITCH",
                    "print the names of all logical ports on SWITCH"),
        CommandSpec("lsp-get-ls", 1, 1, cmd_lsp_get_ls, (), lsp, "lsp-get-ls PORT",
                    "print the switch PORT is attached to"),
        CommandSpec("lsp-get-parent", 1, 1, _print_one("parent_name"), (), lsp,
                    "lsp-get-parent PORT", "get the parent of PORT if set"),
        CommandSpec("lsp-get-tag", 1, 1, _print_one("tag"), (), lsp, "lsp-get-tag PORT",
                    "get the PORT's tag if set"),
        CommandSpec("lsp-set-addresses", 1, n, cmd_lsp_set_addresses, (), lsp,
                    "lsp-set-addresses PORT [ADDRESS]...", "set MAC or MAC+IP addresses"),
        CommandSpec("lsp-get-addresses", 1, 1, _print_each("addresses"), (), lsp,
                    "lsp-get-addresses PORT", "get a list of MAC+IP addresses on PORT"),
        CommandSpec("lsp-set-port-security", 1, n, cmd_lsp_set_port_security, (), lsp,
                    "lsp-set-port-security PORT [ADDRS]...", "set port security addresses"),
        CommandSpec("lsp-get-port-security", 1, 1, _print_each("port_security"), (), lsp,
                    "lsp-get-port-security PORT", "get PORT's port security addresses"),
        CommandSpec("lsp-get-up", 1, 1, cmd_lsp_get_up, (), lsp, "lsp-get-up PORT",
                    "get state of PORT ('up' or 'down')"),
        CommandSpec("lsp-set-enabled", 2, 2, cmd_lsp_set_enabled, (), lsp,
                    "lsp-set-enabled PORT STATE", "set administrative state (enabled|disabled)"),
        CommandSpec("lsp-get-enabled", 1, 1, cmd_lsp_get_enabled, (), lsp,
                    "lsp-get-enabled PORT", "get administrative state"),
        CommandSpec("lsp-set-type", 2, 2, cmd_lsp_set_type, (), lsp, "lsp-set-type PORT TYPE",
                    "set the type for PORT"),
        CommandSpec("lsp-get-type", 1, 1, cmd_lsp_get_type, (), lsp, "lsp-get-type PORT",
                    "get the type for PORT"),
        CommandSpec("lsp-set-options", 1, n, cmd_lsp_set_options, (), lsp,
                    "lsp-set-options PORT KEY=VALUE [KEY=VALUE]...", "set options for PORT"),
        CommandSpec("lsp-get-options", 1, 1, cmd_lsp_get_options, (), lsp,
                    "lsp-get-options PORT", "get the options for PORT"),
    ]  # fmt: skip
    return {s.name: s for s in specs}
