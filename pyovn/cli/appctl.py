"""pyovn appctl: send a command to a running pyovn daemon's control socket (like ovs-appctl)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from pyovn.unixctl import call


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="pyovn appctl", description=__doc__)
    p.add_argument(
        "-t",
        "--target",
        required=True,
        metavar="PATH",
        help="the daemon's control socket (its --unixctl path)",
    )
    p.add_argument("-T", "--timeout", type=float, default=10.0, metavar="SECS")
    p.add_argument("command")
    p.add_argument("args", nargs="*")
    args = p.parse_args(argv)
    try:
        ok, text = asyncio.run(call(args.target, args.command, args.args, args.timeout))
    except (TimeoutError, OSError) as exc:
        print(f"pyovn appctl: cannot talk to {args.target}: {exc}", file=sys.stderr)
        return 1
    stream = sys.stdout if ok else sys.stderr
    stream.write(text if text.endswith("\n") or not text else text + "\n")
    return 0 if ok else 2
