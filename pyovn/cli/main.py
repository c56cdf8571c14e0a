"""The `pyovn` command: dispatches to one module per verb in pyovn.cli."""

from __future__ import annotations

import importlib
import sys

# verb -> (module in pyovn.cli, one-line summary)
VERBS: dict[str, tuple[str, str]] = {
    "ovsdb-tool": ("ovsdb_tool", "create, query and maintain OVSDB database files"),
    "ovsdb-server": ("ovsdb_server", "serve OVSDB databases over JSON-RPC"),
    "ovsdb-client": ("ovsdb_client", "talk to an OVSDB server"),
    "nbctl": ("nbctl", "configure the Northbound database (ovn-nbctl syntax)"),
    "sbctl": ("sbctl", "inspect the Southbound database (ovn-sbctl syntax)"),
    "northd": ("northd", "translate Northbound into Southbound"),
    "controller": ("controller", "per-chassis agent: bind ports, program the datapath"),
    "trace": ("trace", "trace a packet through the logical pipelines"),
    "appctl": ("appctl", "send a command to a running pyovn daemon"),
    "api": ("api", "Neutron-compatible networking API"),
    "container": ("container", "create and delete container ports through the API"),
    "sandbox": ("sandbox", "run the whole system, embedded, in one command"),
}

USAGE_EXIT = 2


def usage() -> str:
    lines = ["usage: pyovn VERB [ARGS...]", "", "verbs:"]
    for verb, (_, summary) in VERBS.items():
        lines.append(f"  {verb:<14} {summary}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if args else USAGE_EXIT
    if args[0] in ("-V", "--version"):
        from pyovn import __version__

        print(f"pyovn {__version__}")
        return 0
    verb = args[0]
    entry = VERBS.get(verb)
    if entry is None:
        print(f"pyovn: unknown verb '{verb}'\n\n{usage()}", file=sys.stderr)
        return USAGE_EXIT
    try:
        module = importlib.import_module(f"pyovn.cli.{entry[0]}")
    except ModuleNotFoundError as exc:
        if exc.name != f"pyovn.cli.{entry[0]}":
            raise
        print(f"pyovn: '{verb}' is not available in this build yet", file=sys.stderr)
        return 1
    result: int = module.main(args[1:])
    return result


if __name__ == "__main__":
    sys.exit(main())
