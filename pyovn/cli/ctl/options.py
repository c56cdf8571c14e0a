"""The command line of ovn-nbctl / ovn-sbctl: global options, then commands separated by
``--``, each with its own options before its name::

    pyovn nbctl [OPTIONS] [--] [CMD-OPTIONS] CMD [ARG...] [-- [CMD-OPTIONS] CMD [ARG...]]...

A command option given among the global options belongs to the first command
(``pyovn nbctl --if-exists ls-del sw0``), as with OVS's ctl tools.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pyovn.ovsdb.schema import DatabaseSchema

UNLIMITED_ARGS = 1 << 30


class UsageError(Exception):
    """A malformed command line (exit code 2)."""


@dataclass(frozen=True)
class CommandSpec:
    name: str
    min_args: int
    max_args: int
    run: Callable[[Any], None]
    options: tuple[str, ...] = ()  # "--if-exists"; "--columns=" takes a value
    # tables to monitor: fixed, or from the arguments (e.g. the TABLE of ``list TABLE``)
    tables: Callable[[Command, DatabaseSchema], Iterable[str]] | tuple[str, ...] = ()
    usage: str = ""
    help: str = ""


@dataclass
class Command:
    spec: CommandSpec
    args: list[str]
    options: dict[str, str | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    def has(self, option: str) -> bool:
        return option in self.options

    def value(self, option: str) -> str | None:
        return self.options.get(option)


@dataclass
class GlobalOptions:
    db: str = ""
    timeout: float = 0.0
    wait: str = "none"
    dry_run: bool = False
    oneline: bool = False
    format: str = "list"
    data: str = "string"
    headings: bool = True
    pretty: bool = False
    leader_only: bool = True
    print_wait_time: bool = False
    help: bool = False
    version: bool = False


FORMATS = ("table", "list", "csv", "json", "html")
DATA_FORMATS = ("string", "bare", "json")


def _set_format(opts: GlobalOptions, value: str) -> None:
    if value not in FORMATS:
        raise UsageError(f"unknown output format '{value}'")
    opts.format = value


def _set_data(opts: GlobalOptions, value: str) -> None:
    if value not in DATA_FORMATS:
        raise UsageError(f"unknown data format '{value}'")
    opts.data = value


def _set_timeout(opts: GlobalOptions, value: str) -> None:
    try:
        secs = float(value)
    except ValueError:
        secs = -1
    if secs < 0:
        raise UsageError(f"value {value} on -t or --timeout is invalid")
    opts.timeout = secs


def _set_wait(opts: GlobalOptions, value: str) -> None:
    if value not in ("none", "sb", "hv"):
        raise UsageError('argument to --wait must be "none", "sb", or "hv"')
    opts.wait = value


def _set_bare(opts: GlobalOptions) -> None:
    opts.format, opts.data, opts.headings = "list", "bare", False


# long option -> (takes a value, action)
_WITH_VALUE: dict[str, Callable[[GlobalOptions, str], None]] = {
    "--db": lambda o, v: setattr(o, "db", v),
    "--timeout": _set_timeout,
    "--wait": _set_wait,
    "--format": _set_format,
    "--data": _set_data,
}
_SHORT: dict[str, str] = {"-t": "--timeout", "-f": "--format", "-d": "--data"}
_FLAGS: dict[str, Callable[[GlobalOptions], None]] = {
    "--no-wait": lambda o: setattr(o, "wait", "none"),
    "--dry-run": lambda o: setattr(o, "dry_run", True),
    "--oneline": lambda o: setattr(o, "oneline", True),
    "--no-headings": lambda o: setattr(o, "headings", False),
    "--pretty": lambda o: setattr(o, "pretty", True),
    "--bare": _set_bare,
    "--leader-only": lambda o: setattr(o, "leader_only", True),
    "--no-leader-only": lambda o: setattr(o, "leader_only", False),
    "--print-wait-time": lambda o: setattr(o, "print_wait_time", True),
    "--shuffle-remotes": lambda o: None,
    "--no-shuffle-remotes": lambda o: None,
    "--no-syslog": lambda o: None,
    "--help": lambda o: setattr(o, "help", True),
    "-h": lambda o: setattr(o, "help", True),
    "--version": lambda o: setattr(o, "version", True),
    "-V": lambda o: setattr(o, "version", True),
}


def _command_option_names(specs: dict[str, CommandSpec]) -> dict[str, bool]:
    """Every option some command accepts -> whether it takes a value."""
    out: dict[str, bool] = {}
    for spec in specs.values():
        for opt in spec.options:
            out[opt.rstrip("=")] = opt.endswith("=")
    return out


def parse_command_line(
    argv: list[str], specs: dict[str, CommandSpec], *, wait_allowed: bool = True
) -> tuple[GlobalOptions, list[Command]]:
    opts = GlobalOptions()
    cmd_options = _command_option_names(specs)
    first_local: dict[str, str | None] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--" or not arg.startswith("-") or arg == "-":
            break
        i += 1
        if arg.startswith("-v") or arg.startswith("--verbose") or arg.startswith("--log-file"):
            continue  # logging options: accepted, pyovn's CLI logs nothing
        if arg[:2] in _SHORT and not arg.startswith("--"):
            name, value = _SHORT[arg[:2]], arg[2:]
            if not value:
                if i >= len(argv):
                    raise UsageError(f"option '{arg}' requires an argument")
                value, i = argv[i], i + 1
            _WITH_VALUE[name](opts, value)
            continue
        name, eq, value = arg.partition("=")
        if name in _WITH_VALUE:
            if not eq:
                if i >= len(argv):
                    raise UsageError(f"option '{name}' requires an argument")
                value, i = argv[i], i + 1
            if name == "--wait" and not wait_allowed:
                raise UsageError(f"unrecognized option '{arg}'")
            _WITH_VALUE[name](opts, value)
        elif name in _FLAGS and not eq:
            if name in ("--no-wait", "--print-wait-time") and not wait_allowed:
                raise UsageError(f"unrecognized option '{arg}'")
            _FLAGS[name](opts)
        elif name in cmd_options:
            if cmd_options[name] and not eq:
                raise UsageError(f"option '{name}' requires an argument")
            first_local[name] = value if eq else None
        else:
            raise UsageError(f"unrecognized option '{arg}'")
    if opts.help or opts.version:
        return opts, []
    commands = _parse_commands(argv[i:], specs, first_local)
    return opts, commands


def _parse_commands(
    args: list[str], specs: dict[str, CommandSpec], first_local: dict[str, str | None]
) -> list[Command]:
    segments: list[list[str]] = [[]]
    for arg in args:
        if arg == "--":
            segments.append([])
        else:
            segments[-1].append(arg)
    commands: list[Command] = []
    for segment in segments:
        if not segment:
            continue
        local = first_local if not commands else {}
        options: dict[str, str | None] = dict(local)
        j = 0
        while j < len(segment) and segment[j].startswith("--") and len(segment[j]) > 2:
            name, eq, value = segment[j].partition("=")
            if name in options:
                raise UsageError(f"'{name}' option specified multiple times")
            options[name] = value if eq else None
            j += 1
        if j >= len(segment):
            raise UsageError("missing command name (use --help for help)")
        name = segment[j]
        spec = specs.get(name)
        if spec is None:
            raise UsageError(f"unknown command '{name}'; use --help for help")
        cmd_args = segment[j + 1 :]
        allowed = {o.rstrip("=") for o in spec.options}
        for opt in options:
            if opt not in allowed:
                raise UsageError(f"'{name}' command has no '{opt}' option")
        if len(cmd_args) < spec.min_args:
            raise UsageError(f"'{name}' command requires at least {spec.min_args} arguments")
        if len(cmd_args) > spec.max_args:
            raise UsageError(f"'{name}' command takes at most {spec.max_args} arguments")
        commands.append(Command(spec, cmd_args, options))
    if not commands:
        raise UsageError("missing command name (use --help for help)")
    return commands


def default_db(env_var: str, sock_name: str) -> str:
    """$OVN_NB_DB / $OVN_SB_DB, else the unix socket in OVN's run directory."""
    value = os.environ.get(env_var)
    if value:
        return value
    rundir = os.environ.get("OVN_RUNDIR", "/var/run/ovn")
    return f"unix:{rundir}/{sock_name}"
