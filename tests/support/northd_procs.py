"""northd daemons as subprocesses (pyovn's and Debian's), and the OVN command-line tools."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.support.servers import ServerProcess, _popen, _reap, have

LIMIT = 60.0


class NorthdProcess:
    def __init__(self, proc: subprocess.Popen[bytes], ctl: Path, log: Path, cmd: list[str]):
        self.proc = proc
        self.ctl = ctl
        self.log = log
        self.cmd = cmd

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        _reap(self.proc)

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def start_pyovn_northd(workdir: Path, nb: str, sb: str, name: str = "northd") -> NorthdProcess:
    ctl = workdir / f"{name}.ctl"
    log = workdir / f"{name}.log"
    cmd = [
        sys.executable,
        "-m",
        "pyovn.cli.main",
        "northd",
        f"--ovnnb-db={nb}",
        f"--ovnsb-db={sb}",
        f"--unixctl={ctl}",
        "-v",
    ]
    proc = _popen(cmd, workdir, log)
    _wait_ctl(ctl, proc, log)
    return NorthdProcess(proc, ctl, log, cmd)


def start_real_northd(workdir: Path, nb: str, sb: str, name: str = "ovn-northd") -> NorthdProcess:
    ctl = workdir / f"{name}.ctl"
    log = workdir / f"{name}.log"
    cmd = [
        "ovn-northd",
        "--no-chdir",
        f"--ovnnb-db={nb}",
        f"--ovnsb-db={sb}",
        f"--unixctl={ctl}",
        f"--log-file={log}",
        "--pidfile=" + str(workdir / f"{name}.pid"),
    ]
    proc = _popen(cmd, workdir, workdir / f"{name}.stderr")
    _wait_ctl(ctl, proc, log)
    return NorthdProcess(proc, ctl, log, cmd)


def _wait_ctl(ctl: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + LIMIT
    while not ctl.exists():
        if proc.poll() is not None:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"northd exited with {proc.returncode}: {text[-2000:]}")
        if time.monotonic() > deadline:
            _reap(proc)
            raise TimeoutError(f"{ctl} did not appear")
        time.sleep(0.02)


@contextlib.contextmanager
def processes() -> Iterator[list[NorthdProcess | ServerProcess]]:
    """Collects processes started in the block and stops every one of them at the end."""
    started: list[NorthdProcess | ServerProcess] = []
    try:
        yield started
    finally:
        for p in reversed(started):
            with contextlib.suppress(Exception):
                p.kill(signal.SIGTERM)


def _tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("OVN_NB_DAEMON", None)
    return env


def nbctl(db: str, *args: str, timeout: float = LIMIT, check: bool = True) -> str:
    """Debian's ovn-nbctl (``--wait=sb`` etc. go in ``args``)."""
    cmd = ["ovn-nbctl", f"--db={db}", f"--timeout={int(timeout)}", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10, env=_tool_env())
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed: {out.stderr}")
    return out.stdout


def sbctl(db: str, *args: str, timeout: float = LIMIT) -> str:
    cmd = ["ovn-sbctl", f"--db={db}", f"--timeout={int(timeout)}", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10, env=_tool_env())
    if out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed: {out.stderr}")
    return out.stdout


def appctl(ctl: Path, *args: str) -> str:
    """``pyovn appctl -t CTL ARGS``; stdout (stderr on failure is raised)."""
    cmd = [sys.executable, "-m", "pyovn.cli.main", "appctl", "-t", str(ctl), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=LIMIT)
    if out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr}")
    return out.stdout


def wait_until(predicate: Callable[[], bool], what: str, limit: float = LIMIT) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def have_ovn_tools() -> bool:
    return have("ovn-nbctl") and have("ovn-sbctl")


# ---------------------------------------------------------------------------- async versions
# (for tests whose OVSDB server runs in the test's own event loop: nothing may block it)


async def arun(*cmd: str, check: bool = True, timeout: float = LIMIT) -> str:
    import asyncio

    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=_tool_env()
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout + 10)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode()}")
    return out.decode()


async def anbctl(db: str, *args: str, check: bool = True) -> str:
    return await arun("ovn-nbctl", f"--db={db}", f"--timeout={int(LIMIT)}", *args, check=check)


async def asbctl(db: str, *args: str) -> str:
    return await arun("ovn-sbctl", f"--db={db}", f"--timeout={int(LIMIT)}", *args)


async def aappctl(ctl: Path, *args: str) -> str:
    return await arun(sys.executable, "-m", "pyovn.cli.main", "appctl", "-t", str(ctl), *args)


async def astart_pyovn_northd(
    workdir: Path, nb: str, sb: str, name: str = "northd"
) -> NorthdProcess:
    """Start ``pyovn northd`` without blocking the event loop."""
    import asyncio

    ctl = workdir / f"{name}.ctl"
    log = workdir / f"{name}.log"
    cmd = [
        sys.executable,
        "-m",
        "pyovn.cli.main",
        "northd",
        f"--ovnnb-db={nb}",
        f"--ovnsb-db={sb}",
        f"--unixctl={ctl}",
        "-v",
    ]
    proc = _popen(cmd, workdir, log)
    deadline = time.monotonic() + LIMIT
    while not ctl.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            _reap(proc)
            raise RuntimeError(f"northd did not start: {log.read_text(errors='replace')[-2000:]}")
        await asyncio.sleep(0.02)
    return NorthdProcess(proc, ctl, log, cmd)


def lock_waiters(server: object, name: str = "ovn_northd") -> int:
    """Sessions holding or queued for lock ``name`` on pyovn's in-process server. A northd
    asks for its lock only after both its monitors are in place, so this counts the
    northds that are fully connected."""
    queues = server.server.locks._queues  # type: ignore[attr-defined]
    return len(queues.get(name, ()))


async def await_until(predicate: Callable[[], bool], what: str, limit: float = LIMIT) -> None:
    import asyncio

    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)
