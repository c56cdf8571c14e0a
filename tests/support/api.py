"""Run pyovn's networking API for tests: in this process (an aiohttp site on 127.0.0.1, port
0, in the test's event loop) or as a `pyovn api` subprocess; plus a small HTTP client.

The in-process server is assembled from the same pieces `pyovn api` uses (SQL engine,
NbWriter, PortService, make_app), including the start-up repair and the port-status
listener, so what a test sees over HTTP is what a deployment serves."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from pyovn.api.app import make_app
from pyovn.api.models import make_engine, make_sessionmaker
from pyovn.api.nb import NB_TABLES, NbWriter
from pyovn.api.ports import PortService
from pyovn.cli.api import _url
from pyovn.controller.vswitch import add_vif
from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.sandbox import Sandbox
from tests.support.servers import free_port


@dataclass
class InProcessApi:
    """``async with InProcessApi(nb_remote, db_url) as api:`` serves the API at ``api.url``."""

    nb_remote: str | None
    database_url: str
    auth: str = "noauth"
    token: str | None = None
    mac_base: str = "fa:16:3e:00:00:00"
    url: str = ""
    service: PortService | None = None
    nb: NbWriter | None = None
    startup_repairs: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    async def start(self) -> InProcessApi:
        engine = make_engine(_url(self.database_url))
        if self.nb_remote is not None:
            self.nb = NbWriter(self.nb_remote)
            await self.nb.start()
        self.service = PortService(make_sessionmaker(engine), self.nb, mac_base=self.mac_base)
        if self.nb is not None:
            self.startup_repairs = await self.service.reconcile(repair=True)
            await self.service.refresh_statuses()
            self.nb.status_listeners.append(self.service.set_status)
        self._runner = web.AppRunner(make_app(self.service, self.auth, self.token))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{port}"
        self._engine = engine
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.nb is not None:
            await self.nb.close()
            self.nb = None
        if self.service is not None:
            self.service.close()
        if getattr(self, "_engine", None) is not None:
            self._engine.dispose()

    async def __aenter__(self) -> InProcessApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Client:
    """A thin aiohttp client: ``status, body = await c.post("/v2.0/ports", {...})``."""

    def __init__(
        self, url: str, token: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.headers = dict(headers or {})
        if token is not None:
            self.headers["X-Auth-Token"] = token
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200), headers=self.headers
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.session is not None:
            await self.session.close()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        assert self.session is not None
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        async with self.session.request(method, self.url + path, data=data, headers=hdrs) as resp:
            text = await resp.text()
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = text
            return resp.status, parsed

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.request("POST", path, body, **kw)

    async def put(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.request("PUT", path, body, **kw)

    async def delete(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("DELETE", path, **kw)

    # ---------------------------------------------------------------- shortcuts that must work

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        got, out = await self.request(method, path, body)
        assert got == status, f"{method} {path}: HTTP {got}: {out}"
        return out

    async def network(self, name: str = "net", **extra: Any) -> dict[str, Any]:
        out = await self.ok("POST", "/v2.0/networks", {"network": {"name": name, **extra}}, 201)
        return dict(out["network"])

    async def subnet(self, network_id: str, cidr: str = "10.0.0.0/24", **extra: Any) -> Any:
        body = {"subnet": {"network_id": network_id, "cidr": cidr, "ip_version": 4, **extra}}
        out = await self.ok("POST", "/v2.0/subnets", body, 201)
        return dict(out["subnet"])

    async def port(self, network_id: str, **extra: Any) -> dict[str, Any]:
        out = await self.ok(
            "POST", "/v2.0/ports", {"port": {"network_id": network_id, **extra}}, 201
        )
        return dict(out["port"])

    async def wait_status(
        self, port_id: str, status: str = "ACTIVE", timeout: float = 30.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            port = (await self.ok("GET", f"/v2.0/ports/{port_id}"))["port"]
            if port["status"] == status:
                return dict(port)
            if time.monotonic() > deadline:
                raise TimeoutError(f"port {port_id} is {port['status']}, not {status}")
            await asyncio.sleep(0.05)


# ---------------------------------------------------------------------- in a thread


class ThreadedApi:
    """A sandbox (NB, SB, northd and ``n_chassis`` simulated chassis) and the API serving in
    a background thread with its own event loop, so that blocking clients (urllib,
    openstacksdk, subprocesses) and other event loops can talk to it.

    ``with ThreadedApi(tmp_path) as api: api.url ...``; ``api.run(coro_or_fn)`` runs code
    in the server's loop (for looking at NB, plugging VIFs) and returns its result."""

    def __init__(
        self,
        workdir: Path,
        n_chassis: int = 0,
        database_url: str | None = None,
        auth: str = "noauth",
        token: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.n_chassis = n_chassis
        self.database_url = database_url or f"sqlite:///{workdir / 'api.db'}"
        self.auth = auth
        self.token = token
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.sandbox: Sandbox | None = None
        self.api: InProcessApi | None = None

    @property
    def url(self) -> str:
        assert self.api is not None
        return self.api.url

    def run(self, what: Any, timeout: float = 60.0) -> Any:
        """Run a coroutine, or a plain function, in the server's loop."""

        async def call() -> Any:
            result = what() if callable(what) else what
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout)

    def start(self) -> ThreadedApi:
        self.thread.start()
        try:
            self.run(self._start(), timeout=120)
        except BaseException:
            self.stop()
            raise
        return self

    async def _start(self) -> None:
        self.sandbox = Sandbox(self.workdir / "run", self.n_chassis)
        await self.sandbox.start()
        self.api = InProcessApi(self.sandbox.nb_remote, self.database_url, self.auth, self.token)
        await self.api.start()

    async def _stop(self) -> None:
        if self.api is not None:
            await self.api.close()
        if self.sandbox is not None:
            await self.sandbox.close()

    def stop(self) -> None:
        if self.thread.is_alive():
            try:
                self.run(self._stop(), timeout=60)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(30)
        if not self.loop.is_running():
            self.loop.close()

    def __enter__(self) -> ThreadedApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- NB and chassis

    def lsp(self, name: str) -> Any:
        """The NB Logical_Switch_Port named ``name`` (a RowView) or None."""
        assert self.sandbox is not None and self.sandbox.nb is not None
        nb = self.sandbox.nb
        return self.run(lambda: nb.find_one("Logical_Switch_Port", name=name))

    def nb_rows(self, table: str) -> list[Any]:
        assert self.api is not None and self.api.nb is not None
        client = self.api.nb.client
        return list(self.run(lambda: list(client.rows(table).values())))

    def plug(self, chassis: int, iface: str, port_id: str) -> None:
        assert self.sandbox is not None
        self.run(add_vif(self.sandbox.chassis[chassis].ovs, iface, port_id))


class SyncClient:
    """A blocking JSON client (urllib): ``status, body = c.request("GET", "/v2.0/ports")``."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token is not None:
            req.add_header("X-Auth-Token", self.token)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode(errors="replace")
        try:
            return status, (json.loads(text) if text else None)
        except ValueError:
            return status, text

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        got, out = self.request(method, path, body)
        assert got == status, f"{method} {path}: HTTP {got}: {out}"
        return out

    def network(self, name: str = "net", **extra: Any) -> dict[str, Any]:
        return dict(
            self.ok("POST", "/v2.0/networks", {"network": {"name": name, **extra}}, 201)["network"]
        )

    def subnet(self, network_id: str, cidr: str = "10.0.0.0/24", **extra: Any) -> dict[str, Any]:
        body = {"subnet": {"network_id": network_id, "cidr": cidr, "ip_version": 4, **extra}}
        return dict(self.ok("POST", "/v2.0/subnets", body, 201)["subnet"])

    def port(self, network_id: str, **extra: Any) -> dict[str, Any]:
        body = {"port": {"network_id": network_id, **extra}}
        return dict(self.ok("POST", "/v2.0/ports", body, 201)["port"])

    def wait_status(self, port_id: str, status: str = "ACTIVE", timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            port = self.ok("GET", f"/v2.0/ports/{port_id}")["port"]
            if port["status"] == status:
                return port
            if time.monotonic() > deadline:
                raise TimeoutError(f"port {port_id} is {port['status']}, not {status}")
            time.sleep(0.05)


# ---------------------------------------------------------------------- subprocess


def pyovn_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pyovn.cli.main", *args]


class ApiProcess:
    """`pyovn api` as a subprocess on a free TCP port; stderr goes to a file in ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        nb_remote: str,
        database_url: str,
        extra: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = pyovn_cmd(
            "api",
            f"--ovnnb-db={nb_remote}",
            f"--database-url={database_url}",
            f"--listen=127.0.0.1:{self.port}",
            *(extra or []),
        )
        self.env = {**os.environ, **(env or {})}
        self.env.pop("PYOVN_API_CRASH_AFTER_SQL", None)
        self.env.update(env or {})
        self.stderr_path = workdir / f"api-{self.port}.stderr"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> ApiProcess:
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                self.cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=self.workdir, env=self.env
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pyovn api exited with {self.proc.returncode}: {self.stderr()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"pyovn api did not start: {self.stderr()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(15)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(15)

    def stderr(self) -> str:
        if self.stderr_path.exists():
            return self.stderr_path.read_text(errors="replace")[-4000:]
        return ""

    def __enter__(self) -> ApiProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_sync(nb_remote: str, database_url: str, mode: str, cwd: Path) -> tuple[int, str]:
    """`pyovn api --sync=MODE` once: its exit code and stdout."""
    env = dict(os.environ)
    env.pop("PYOVN_API_CRASH_AFTER_SQL", None)
    out = subprocess.run(
        pyovn_cmd(
            "api", f"--ovnnb-db={nb_remote}", f"--database-url={database_url}", f"--sync={mode}"
        ),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )
    return out.returncode, out.stdout + out.stderr


# ---------------------------------------------------------------------- PostgreSQL


PG_BIN = Path("/usr/lib/postgresql/15/bin")


def have_postgres() -> bool:
    return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists()


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free TCP port of 127.0.0.1 (and a unix socket in
    its directory). As root it runs as the ``postgres`` user (initdb refuses root); its
    directory is then a fresh one under the system temp dir, because pytest keeps its own
    temp root private (mode 0700) and resets it when another pytest run starts."""

    def __init__(self, workdir: Path) -> None:
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            workdir = Path(tempfile.mkdtemp(prefix="pyovn-pg-"))
        self.workdir = workdir
        self.data = workdir / "pgdata"
        self.port = free_port()

    def _run(self, *cmd: str) -> subprocess.CompletedProcess[str]:
        full = list(cmd)
        if self.user is not None:
            full = ["runuser", "-u", self.user, "--", *full]
        return subprocess.run(full, capture_output=True, text=True, timeout=120, check=False)

    @property
    def url(self) -> str:
        return f"postgresql://pyovn@127.0.0.1:{self.port}/pyovn"

    def start(self) -> PrivatePostgres:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            shutil.chown(self.workdir, self.user)
        out = self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "pyovn", "--no-sync"
        )
        if out.returncode != 0:
            raise RuntimeError(f"initdb failed: {out.stderr}")
        out = self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.workdir / "pg.log"),
            "-o",
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200",
            "-w",
            "start",
        )
        if out.returncode != 0:
            log = (
                (self.workdir / "pg.log").read_text() if (self.workdir / "pg.log").exists() else ""
            )
            raise RuntimeError(f"pg_ctl start failed: {out.stderr} {log}")
        out = self._run(
            str(PG_BIN / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "pyovn",
            "pyovn",
        )
        if out.returncode != 0:
            self.stop()
            raise RuntimeError(f"createdb failed: {out.stderr}")
        return self

    def stop(self) -> None:
        if self.data.exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        if self.user is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------- NB from a sync test


def nb_call(remote: str, what: Any, timeout: float = 60.0) -> Any:
    """Connect pyovn's OVSDB client to NB at ``remote`` (watching the tables the API
    writes), run ``what(client)`` (a plain function or one returning a coroutine), close."""

    async def main() -> Any:
        client = OvsdbClient(remote, "OVN_Northbound")
        for table in NB_TABLES:
            client.watch(table)
        await client.start()
        try:
            result = what(client)
            if asyncio.iscoroutine(result):
                result = await result
            return result
        finally:
            await client.close()

    return asyncio.run(asyncio.wait_for(main(), timeout))


def nb_ports(remote: str) -> dict[str, dict[str, Any]]:
    """Logical_Switch_Port rows by name, as plain dicts of their columns."""
    return nb_call(
        remote,
        lambda c: {r["name"]: r.data() for r in c.rows("Logical_Switch_Port").values()},
    )


def nb_switches(remote: str) -> dict[str, dict[str, Any]]:
    return nb_call(
        remote, lambda c: {r["name"]: r.data() for r in c.rows("Logical_Switch").values()}
    )
