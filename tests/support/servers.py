"""Start OVSDB servers for tests: pyovn's (as a subprocess) and Debian's, standalone or as a
three-server Raft cluster. Every server runs in a tmp dir on unix sockets; stderr goes to a
file there (a pipe nobody reads would block a server that logs a lot)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pyovn.schemas import schema_path

REPO = Path(__file__).resolve().parents[2]


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stderr_text(proc: subprocess.Popen[bytes], stderr_path: Path | None) -> str:
    if stderr_path is not None and stderr_path.exists():
        return stderr_path.read_text(errors="replace")[-4000:]
    if proc.stderr is not None:
        return proc.stderr.read().decode(errors="replace")
    return ""


def wait_for_socket(
    path: Path,
    proc: subprocess.Popen[bytes] | None = None,
    timeout: float = 30.0,
    stderr_path: Path | None = None,
) -> None:
    """Wait until a server accepts connections on unix socket ``path``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                try:
                    s.connect(str(path))
                    return
                except OSError:
                    pass
        if proc is not None and proc.poll() is not None:
            err = _stderr_text(proc, stderr_path)
            raise RuntimeError(f"server exited with {proc.returncode}: {err}")
        time.sleep(0.02)
    raise TimeoutError(f"{path} did not appear")


def create_db(path: Path, schema: str, tool: str = "pyovn") -> None:
    if tool == "pyovn":
        cmd = [sys.executable, "-m", "pyovn.cli.main", "ovsdb-tool", "create", str(path), schema]
    else:
        cmd = ["ovsdb-tool", "create", str(path), str(schema_path(schema))]
    subprocess.run(cmd, check=True, capture_output=True)


class ServerProcess:
    """An ovsdb-server subprocess serving one database file on a unix socket."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        sock: Path,
        db: Path,
        cmd: list[str] | None = None,
        stderr_path: Path | None = None,
        ctl: Path | None = None,
    ) -> None:
        self.proc = proc
        self.sock = sock
        self.db = db
        self.cmd = cmd
        self.stderr_path = stderr_path
        self.ctl = ctl

    @property
    def remote(self) -> str:
        return f"unix:{self.sock}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def start_again(self) -> None:
        """Start the same command again (after ``kill``), on the same file and socket."""
        assert self.cmd is not None and not self.alive()
        with contextlib.suppress(FileNotFoundError):
            self.sock.unlink()  # a SIGKILLed server leaves its socket behind
        self.proc = _popen(self.cmd, self.db.parent, self.stderr_path)
        wait_for_socket(self.sock, self.proc, stderr_path=self.stderr_path)

    def stderr(self) -> str:
        return _stderr_text(self.proc, self.stderr_path)


def _popen(cmd: list[str], cwd: Path, stderr_path: Path | None) -> subprocess.Popen[bytes]:
    if stderr_path is None:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    with open(stderr_path, "ab") as err:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd)


def start_pyovn_server(
    workdir: Path,
    schema: str = "nb",
    name: str = "db",
    extra: list[str] | None = None,
    create: bool = True,
) -> ServerProcess:
    db = workdir / f"{name}.db"
    sock = workdir / f"{name}.sock"
    ctl = workdir / f"{name}.ctl"
    if create and not db.exists():
        create_db(db, schema)
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    cmd = [
        sys.executable,
        "-m",
        "pyovn.cli.main",
        "ovsdb-server",
        f"--remote=punix:{sock}",
        f"--unixctl={ctl}",
        *(extra or []),
        str(db),
    ]
    stderr_path = workdir / f"{name}.stderr"
    proc = _popen(cmd, workdir, stderr_path)
    try:
        wait_for_socket(sock, proc, stderr_path=stderr_path)
    except BaseException:
        _reap(proc)
        raise
    return ServerProcess(proc, sock, db, cmd, stderr_path, ctl)


def start_real_server(
    workdir: Path,
    schema: str = "nb",
    name: str = "real",
    extra: list[str] | None = None,
) -> ServerProcess:
    db = workdir / f"{name}.db"
    sock = workdir / f"{name}.sock"
    ctl = workdir / f"{name}.ctl"
    if not db.exists():
        create_db(db, schema, tool="ovsdb-tool")
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    cmd = [
        "ovsdb-server",
        "--no-chdir",
        f"--remote=punix:{sock}",
        f"--unixctl={ctl}",
        f"--log-file={workdir / (name + '.log')}",
        *(extra or []),
        str(db),
    ]
    stderr_path = workdir / f"{name}.stderr"
    proc = _popen(cmd, workdir, stderr_path)
    try:
        wait_for_socket(sock, proc, stderr_path=stderr_path)
    except BaseException:
        _reap(proc)
        raise
    return ServerProcess(proc, sock, db, cmd, stderr_path, ctl)


def _reap(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


@contextlib.contextmanager
def pyovn_server(workdir: Path, schema: str = "nb", **kw: object) -> Iterator[ServerProcess]:
    server = start_pyovn_server(workdir, schema, **kw)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.kill(signal.SIGTERM)


@contextlib.contextmanager
def real_server(
    workdir: Path, schema: str = "nb", name: str = "real", extra: list[str] | None = None
) -> Iterator[ServerProcess]:
    server = start_real_server(workdir, schema, name, extra)
    try:
        yield server
    finally:
        server.kill(signal.SIGTERM)


def env_without_pyovn_logs() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYOVN_LOG", None)
    return env


# ------------------------------------------------------------------ a Raft cluster


class RaftCluster:
    """Three Debian ovsdb-servers serving one clustered database; clients use unix sockets,
    the servers talk Raft over TCP on 127.0.0.1 (Raft needs tcp: or ssl:)."""

    def __init__(self, workdir: Path, schema: str = "nb", size: int = 3) -> None:
        self.workdir = workdir
        self.schema = schema
        self.size = size
        self.servers: list[ServerProcess] = []
        self.raft_ports: list[int] = []

    @property
    def remotes(self) -> list[str]:
        return [s.remote for s in self.servers]

    def start(self) -> None:
        schema_file = str(schema_path(self.schema))
        name = _schema_name(schema_file)
        self.raft_ports = [free_port() for _ in range(self.size)]
        addrs = [f"tcp:127.0.0.1:{p}" for p in self.raft_ports]
        for i in range(self.size):
            db = self.workdir / f"s{i + 1}.db"
            if i == 0:
                cmd = ["ovsdb-tool", "create-cluster", str(db), schema_file, addrs[0]]
            else:
                cmd = ["ovsdb-tool", "join-cluster", str(db), name, addrs[i], *addrs[:i]]
            subprocess.run(cmd, check=True, capture_output=True)
        try:
            for i in range(self.size):
                self.servers.append(start_real_server(self.workdir, name=f"s{i + 1}", extra=[]))
        except BaseException:
            self.stop()
            raise

    def appctl(self, index: int, *args: str) -> str:
        server = self.servers[index]
        out = subprocess.run(
            ["ovs-appctl", "-t", str(server.ctl), *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout

    def status(self, index: int, db: str) -> str:
        return self.appctl(index, "cluster/status", db)

    def leader_index(self, db: str) -> int | None:
        for i, server in enumerate(self.servers):
            if server.alive() and "Role: leader" in self.status(i, db):
                return i
        return None

    def wait_for_leader(self, db: str, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            index = self.leader_index(db)
            if index is not None:
                return index
            time.sleep(0.2)
        raise TimeoutError("the cluster elected no leader")

    def stop(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.kill(signal.SIGTERM)


def _schema_name(schema_file: str) -> str:
    import json

    with open(schema_file) as f:
        return str(json.load(f)["name"])


@contextlib.contextmanager
def raft_cluster(workdir: Path, schema: str = "nb") -> Iterator[RaftCluster]:
    cluster = RaftCluster(workdir, schema)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
