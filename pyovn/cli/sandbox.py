"""pyovn sandbox: NB, SB, northd and N chassis with the simulated datapath, in one process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

from pyovn.daemon import install_stop_handlers, run_loop
from pyovn.sandbox import Sandbox


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="pyovn sandbox", description=__doc__)
    p.add_argument("--chassis", type=int, default=2, metavar="N", help="number of chassis")
    p.add_argument(
        "--demo", action="store_true", help="play the container-in-VM life cycle, then exit"
    )
    p.add_argument(
        "--rundir",
        metavar="DIR",
        help="where databases and sockets live (default: a new temporary directory)",
    )
    p.add_argument("-v", "--verbose", action="count", default=0)
    args = p.parse_args(argv)
    if args.chassis < 1 or args.chassis > 250:
        p.error("--chassis must be 1..250")
    level = (
        logging.WARNING
        if args.verbose == 0
        else (logging.INFO if args.verbose == 1 else logging.DEBUG)
    )
    logging.basicConfig(level=level, format="%(asctime)s|%(levelname)s|%(name)s|%(message)s")
    rundir = Path(args.rundir) if args.rundir else Path(tempfile.mkdtemp(prefix="pyovn-sandbox-"))
    return run_loop(_run(rundir, args.chassis, args.demo))


async def _run(rundir: Path, n: int, demo: bool) -> int:
    start = time.perf_counter()
    sandbox = Sandbox(rundir, n)
    try:
        await sandbox.start()
    except Exception as exc:
        print(f"pyovn sandbox: failed to start: {exc}", file=sys.stderr)
        await sandbox.close()
        return 1
    names = ", ".join(c.name for c in sandbox.chassis)
    print(
        f"pyovn sandbox: NB, SB, northd and {n} chassis ({names}) up in "
        f"{time.perf_counter() - start:.2f} s"
    )
    print(sandbox.remotes_text())
    try:
        if demo:
            from pyovn.demo import Demo

            return await Demo(sandbox).run()
        print(
            "\nTry:  pyovn nbctl show   ovn-nbctl show   pyovn sbctl show   "
            "pyovn trace SWITCH 'MICROFLOW'\n(Ctrl-C stops the sandbox)",
            flush=True,
        )
        stop = asyncio.Event()
        install_stop_handlers(stop)
        await stop.wait()
        return 0
    finally:
        await sandbox.close()
