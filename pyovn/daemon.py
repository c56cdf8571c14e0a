"""Daemon conventions shared by pyovn's long-running commands, as Open vSwitch daemons do:
``--detach``, ``--pidfile[=FILE]``, ``--log-file[=FILE]``, ``-v``/``--verbose``, and a clean
stop on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("pyovn")


def add_daemon_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("daemon options")
    group.add_argument("--detach", action="store_true", help="run in the background")
    group.add_argument(
        "--pidfile",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="write the process id to FILE",
    )
    group.add_argument(
        "--log-file",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="log to FILE as well as stderr",
    )
    group.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (repeat for debug)"
    )
    group.add_argument("--no-chdir", action="store_true", help="accepted for compatibility")


def setup_logging(args: argparse.Namespace, name: str) -> None:
    level = logging.WARNING if args.verbose == 0 else logging.INFO
    if args.verbose >= 2:
        level = logging.DEBUG
    if getattr(args, "log_file", None) is not None and args.verbose == 0:
        level = logging.INFO
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if getattr(args, "log_file", None) is not None:
        path = args.log_file or f"{name}.log"
        handlers.append(logging.FileHandler(path))
    fmt = "%(asctime)s|%(levelname)s|%(name)s|%(message)s"
    logging.basicConfig(level=level, format=fmt, handlers=handlers, force=True)


def detach(argv: list[str], verb: str, ready: Path | None, timeout: float = 30.0) -> int:
    """Start this command again without --detach, in its own session, and return once it
    is ready (``ready`` exists, e.g. its pidfile or socket) or has failed."""
    child_argv = [a for a in argv if a != "--detach"]
    cmd = [sys.executable, "-m", "pyovn.cli.main", verb, *child_argv]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            sys.stderr.write(err)
            return code or 1
        if ready is not None and ready.exists():
            if proc.stderr is not None:
                proc.stderr.close()
            return 0
        time.sleep(0.02)
    sys.stderr.write(f"pyovn {verb}: timed out waiting for the daemon to start\n")
    return 1


def write_pidfile(path: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    Path(tmp).write_text(f"{os.getpid()}\n")
    os.replace(tmp, path)


def remove_pidfile(path: str | None) -> None:
    if path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def install_stop_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


# Python's default collection thresholds (700, 10, 10) make the cyclic garbage collector scan
# a daemon's whole heap (a database's rows, northd's replicas and flows: millions of small
# tuples, dicts and frozensets) again and again: half of the engine and sync time of a
# 50,000-port northd load, a sixth of an OVSDB server's CPU per small transaction. Collecting
# less often keeps that to a few percent. (It is process-wide: a daemon's choice.)
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc(*, freeze: bool = False) -> None:
    """Collect less often; with ``freeze``, also move what is alive now (a database just
    loaded) out of the collector's sight for good: it is never scanned again."""
    if gc.get_threshold()[0] < GC_THRESHOLDS[0]:
        gc.set_threshold(*GC_THRESHOLDS)
    if freeze:
        gc.collect()
        gc.freeze()


def run_loop(main: Awaitable[Any]) -> Any:
    """Run ``main`` on uvloop when it is installed (PYOVN_EVENT_LOOP=asyncio keeps the
    standard loop): it runs the sockets and callbacks of every daemon in C."""
    if os.environ.get("PYOVN_EVENT_LOOP", "uvloop") == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(main)  # type: ignore[arg-type]
    return asyncio.run(main)  # type: ignore[arg-type]


def daemon_main(
    argv: list[str],
    args: argparse.Namespace,
    verb: str,
    run: Callable[[argparse.Namespace], Awaitable[int | None]],
    errors: tuple[type[BaseException], ...] = (ConnectionError, OSError),
) -> int:
    """The body of every daemon's ``main``: ``--detach`` (the child writes a pidfile,
    ``VERB.pid`` unless one is named, and counts as started once it exists), logging, and
    the event loop; an error of the kinds in ``errors`` is logged and gives exit code 1."""
    if args.detach:
        ready = Path(args.pidfile or f"{verb}.pid")
        if ready.exists():
            ready.unlink()
        child = argv if args.pidfile is not None else [*argv, f"--pidfile={ready}"]
        return detach(child, verb, ready)
    setup_logging(args, verb)
    try:
        return run_loop(run(args)) or 0
    except errors as exc:
        log.error("%s", exc)
        return 1


async def serve_until_stopped(
    args: argparse.Namespace,
    verb: str,
    body: Callable[[asyncio.Event], Awaitable[Any]],
    register: Callable[[Any, asyncio.Event], None] | None = None,
) -> None:
    """Run ``body(stop)`` with the daemon trimmings: SIGTERM/SIGINT set ``stop``, the
    ``--unixctl`` socket (commands added by ``register``), and the pidfile."""
    from pyovn import __version__
    from pyovn.unixctl import UnixctlServer

    stop = asyncio.Event()
    install_stop_handlers(stop)
    unixctl = None
    if getattr(args, "unixctl", None):
        unixctl = UnixctlServer(args.unixctl, __version__)
        if register is not None:
            register(unixctl, stop)
        await unixctl.start()
    pidfile = None if args.pidfile is None else (args.pidfile or f"{verb}.pid")
    if pidfile is not None:
        write_pidfile(pidfile)
    try:
        await body(stop)
    finally:
        if unixctl is not None:
            await unixctl.close()
        remove_pidfile(pidfile)
