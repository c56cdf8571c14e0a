"""Crash consistency of the API: SQL commits first, NB follows, the reconciler closes the gap.

`pyovn api` runs as a subprocess against a pyovn ovsdb-server (NB). The test hook
PYOVN_API_CRASH_AFTER_SQL=network|subnet|port makes it exit right after the SQL commit;
restarted without the hook it repairs NB at start-up. NB rows deleted, changed or added
behind the API's back are reported by `pyovn api --sync=log` (nothing changed), put right by
`--sync=repair` and by the periodic reconciler. Killed at random moments under load, the API
loses nothing a client was told had succeeded."""

from __future__ import annotations

import http.client
import os
import random
import signal
import subprocess
import threading
import time
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pyovn.ovsdb.client.client import OvsdbClient
from tests.support.api import (
    ApiProcess,
    SyncClient,
    nb_call,
    nb_ports,
    nb_switches,
    pyovn_cmd,
    run_sync,
)
from tests.support.servers import ServerProcess, free_port, start_pyovn_server

DROPPED = (ConnectionError, urllib.error.URLError, http.client.HTTPException, TimeoutError)


@pytest.fixture
def nb(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_pyovn_server(tmp_path, "nb", "nb")
    try:
        yield server
    finally:
        server.kill(signal.SIGTERM)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'api.db'}"


def api_process(tmp_path: Path, nb: ServerProcess, db_url: str, *extra: str, **env: str) -> Any:
    return ApiProcess(tmp_path, nb.remote, db_url, list(extra), env=dict(env))


def wait(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.05)


def delete_lsp(client: OvsdbClient, name: str) -> Any:
    def build(txn: Any) -> None:
        row = client.find_one("Logical_Switch_Port", name=name)
        for ls in client.rows("Logical_Switch").values():
            if row.uuid in ls["ports"]:
                txn.mutate("Logical_Switch", ls.uuid, [("ports", "delete", [row.uuid])])

    return client.transact(build)


def add_stray_lsp(client: OvsdbClient, switch: str, name: str) -> Any:
    """A port that looks like the API's (it has neutron:revision_number) but SQL has none."""

    def build(txn: Any) -> None:
        ls = client.find_one("Logical_Switch", name=switch)
        new = txn.insert(
            "Logical_Switch_Port",
            {
                "name": name,
                "addresses": ["fa:16:3e:00:00:99 10.0.0.99"],
                "external_ids": {"neutron:revision_number": "1"},
            },
        )
        txn.mutate("Logical_Switch", ls.uuid, [("ports", "insert", [new])])

    return client.transact(build)


def tamper_lsp(client: OvsdbClient, name: str) -> Any:
    def build(txn: Any) -> None:
        row = client.find_one("Logical_Switch_Port", name=name)
        txn.update("Logical_Switch_Port", row.uuid, {"addresses": ["00:00:00:00:00:01"]})

    return client.transact(build)


def drop_switch(client: OvsdbClient, name: str) -> Any:
    def build(txn: Any) -> None:
        txn.delete("Logical_Switch", client.find_one("Logical_Switch", name=name).uuid)

    return client.transact(build)


# ---------------------------------------------------------------------- crash after SQL


@pytest.mark.parametrize("where", ["network", "subnet", "port"])
def test_crash_after_sql_commit_is_repaired_at_restart(
    tmp_path: Path, nb: ServerProcess, db_url: str, where: str
) -> None:
    with api_process(tmp_path, nb, db_url) as api:
        c = SyncClient(api.url)
        net = c.network("before")
        c.subnet(net["id"], "10.0.0.0/24")
        vm = c.port(net["id"], name="vm")
    api = api_process(tmp_path, nb, db_url, PYOVN_API_CRASH_AFTER_SQL=where).start()
    try:
        c = SyncClient(api.url)
        parent = {"parent_name": vm["id"], "tag": 7}
        subnet_body = {"network_id": net["id"], "cidr": "10.1.0.0/24"}
        port_body = {"network_id": net["id"], "name": "crashed", "binding:profile": parent}
        requests = {
            "network": ("/v2.0/networks", {"network": {"name": "crashed"}}),
            "subnet": ("/v2.0/subnets", {"subnet": subnet_body}),
            "port": ("/v2.0/ports", {"port": port_body}),
        }
        path, body = requests[where]
        with pytest.raises(DROPPED):
            c.request("POST", path, body)  # the client sees the connection drop
        assert api.wait() == 137
    finally:
        api.stop()
    assert len(nb_ports(nb.remote)) == 1  # NB did not get the new row (only vm is there)
    assert len(nb_switches(nb.remote)) == 1

    with api_process(tmp_path, nb, db_url) as api:  # restart without the hook
        assert "start-up repair: created" in api.stderr()
        c = SyncClient(api.url)
        if where == "port":
            (port,) = c.ok("GET", "/v2.0/ports?name=crashed")["ports"]
            row = nb_ports(nb.remote)[port["id"]]
            assert row["parent_name"] == frozenset({vm["id"]})
            assert row["tag_request"] == frozenset({7})
            ip = port["fixed_ips"][0]["ip_address"]
            assert row["addresses"] == frozenset({f"{port['mac_address']} {ip}"})
            assert row["external_ids"]["neutron:revision_number"] == "1"
            assert row["external_ids"]["neutron:port_name"] == "crashed"
        elif where == "network":
            (crashed,) = c.ok("GET", "/v2.0/networks?name=crashed")["networks"]
            assert f"neutron-{crashed['id']}" in nb_switches(nb.remote)
        else:
            (sub,) = c.ok("GET", "/v2.0/subnets?cidr=10.1.0.0/24")["subnets"]

            def dhcp_subnets(cl: OvsdbClient) -> list[str]:
                return [
                    r["external_ids"].get("subnet_id") for r in cl.rows("DHCP_Options").values()
                ]

            dhcp = nb_call(nb.remote, dhcp_subnets)
            assert sub["id"] in dhcp
        # and the API works on: a new port lands in NB straight away
        fresh = c.port(net["id"], name="after")
        assert fresh["id"] in nb_ports(nb.remote)


# ---------------------------------------------------------------------- drift repair


def build_model(c: SyncClient) -> dict[str, Any]:
    net = c.network("drift")
    c.subnet(net["id"], "10.0.0.0/24")
    vm = c.port(net["id"], name="vm")
    kid = c.port(net["id"], name="kid", **{"binding:profile": {"parent_name": vm["id"], "tag": 3}})
    other = c.port(net["id"], name="other")
    return {"net": net, "vm": vm, "kid": kid, "other": other}


def test_sync_log_reports_and_sync_repair_fixes(
    tmp_path: Path, nb: ServerProcess, db_url: str
) -> None:
    with api_process(tmp_path, nb, db_url, "--sync-interval=0") as api:
        m = build_model(SyncClient(api.url))
    correct = nb_ports(nb.remote)
    ls_name = f"neutron-{m['net']['id']}"
    nb_call(nb.remote, lambda cl: delete_lsp(cl, m["kid"]["id"]))
    nb_call(nb.remote, lambda cl: tamper_lsp(cl, m["other"]["id"]))
    nb_call(nb.remote, lambda cl: add_stray_lsp(cl, ls_name, "stray"))
    drifted = nb_ports(nb.remote)
    assert m["kid"]["id"] not in drifted and "stray" in drifted

    code, out = run_sync(nb.remote, db_url, "log", tmp_path)
    assert code == 0, out
    assert f"created Logical_Switch_Port {m['kid']['id']}" in out
    assert f"updated Logical_Switch_Port {m['other']['id']}" in out
    assert "deleted Logical_Switch_Port stray" in out
    assert "found 3 difference(s)" in out
    assert nb_ports(nb.remote) == drifted  # --sync=log changes nothing

    code, out = run_sync(nb.remote, db_url, "repair", tmp_path)
    assert code == 0, out
    assert f"created Logical_Switch_Port {m['kid']['id']}" in out
    assert "deleted Logical_Switch_Port stray" in out
    assert "repaired 3 difference(s)" in out
    repaired = nb_ports(nb.remote)
    assert set(repaired) == set(correct)
    for name, row in correct.items():
        for column in ("addresses", "port_security", "external_ids", "parent_name", "tag_request"):
            assert repaired[name][column] == row[column], (name, column)

    code, out = run_sync(nb.remote, db_url, "log", tmp_path)
    assert code == 0 and "found 0 difference(s)" in out


def test_sync_repair_recreates_a_deleted_switch(
    tmp_path: Path, nb: ServerProcess, db_url: str
) -> None:
    with api_process(tmp_path, nb, db_url, "--sync-interval=0") as api:
        m = build_model(SyncClient(api.url))
    correct = nb_ports(nb.remote)
    nb_call(nb.remote, lambda cl: drop_switch(cl, f"neutron-{m['net']['id']}"))
    assert nb_ports(nb.remote) == {}  # its ports went with it
    code, out = run_sync(nb.remote, db_url, "repair", tmp_path)
    assert code == 0, out
    assert f"created Logical_Switch neutron-{m['net']['id']}" in out
    assert set(nb_ports(nb.remote)) == set(correct)
    ls = nb_switches(nb.remote)[f"neutron-{m['net']['id']}"]
    assert len(ls["ports"]) == len(correct)


def test_periodic_reconciler_repairs_drift(tmp_path: Path, nb: ServerProcess, db_url: str) -> None:
    with api_process(tmp_path, nb, db_url, "--sync-interval=0.3") as api:
        m = build_model(SyncClient(api.url))
        ls_name = f"neutron-{m['net']['id']}"
        nb_call(nb.remote, lambda cl: delete_lsp(cl, m["vm"]["id"]))
        nb_call(nb.remote, lambda cl: add_stray_lsp(cl, ls_name, "stray"))
        nb_call(nb.remote, lambda cl: tamper_lsp(cl, m["other"]["id"]))
        want = f"{m['other']['mac_address']} {m['other']['fixed_ips'][0]['ip_address']}"

        def repaired() -> bool:
            ports = nb_ports(nb.remote)
            return (
                m["vm"]["id"] in ports
                and "stray" not in ports
                and ports[m["other"]["id"]]["addresses"] == frozenset({want})
            )

        wait(repaired)
        assert "repair: created Logical_Switch_Port" in api.stderr()


# ---------------------------------------------------------------------- kill -9 under load


def test_killing_the_api_loses_nothing_acknowledged(
    tmp_path: Path, nb: ServerProcess, db_url: str
) -> None:
    rng = random.Random(7)
    with api_process(tmp_path, nb, db_url) as api:
        c = SyncClient(api.url)
        net = c.network("load")
        c.subnet(net["id"], "10.0.0.0/16")
        vm = c.port(net["id"], name="vm")
    acknowledged: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def client_loop(url: str, stop: threading.Event, worker: int) -> None:
        cl = SyncClient(url)
        i = 0
        while not stop.is_set():
            i += 1
            body: dict[str, Any] = {"network_id": net["id"], "name": f"w{worker}-{i}"}
            if i % 3 == 0:
                body["binding:profile"] = {"parent_name": vm["id"]}
            try:
                status, out = cl.request("POST", "/v2.0/ports", {"port": body})
            except DROPPED:
                return  # killed mid-request: not acknowledged
            if status == 201:
                with lock:
                    acknowledged[out["port"]["id"]] = out["port"]

    for _round in range(4):
        api = api_process(tmp_path, nb, db_url).start()
        stop = threading.Event()
        workers = [threading.Thread(target=client_loop, args=(api.url, stop, w)) for w in range(4)]
        for w in workers:
            w.start()
        time.sleep(rng.uniform(0.2, 1.0))
        api.stop(signal.SIGKILL)
        stop.set()
        for w in workers:
            w.join(60)

    assert acknowledged  # the clients did get work done between the kills
    with api_process(tmp_path, nb, db_url) as api:
        c = SyncClient(api.url)
        stored = {p["id"]: p for p in c.ok("GET", "/v2.0/ports")["ports"]}
        ports = nb_ports(nb.remote)
    for ident, port in acknowledged.items():
        assert ident in stored, f"port {ident} was acknowledged and is gone"
        for key in ("mac_address", "fixed_ips", "binding:profile", "name"):
            assert stored[ident][key] == port[key]
        assert ident in ports, f"port {ident} is not in NB after the restart"
    assert set(ports) == set(stored)  # and NB holds exactly what SQL holds
    ips = [a["ip_address"] for p in stored.values() for a in p["fixed_ips"]]
    assert len(ips) == len(set(ips))
    tags = [p["binding:profile"]["tag"] for p in stored.values() if p["binding:profile"]]
    assert len(tags) == len(set(tags))


def test_detach_writes_a_pidfile_and_stop_removes_it(
    tmp_path: Path, nb: ServerProcess, db_url: str
) -> None:
    port = free_port()
    pidfile = tmp_path / "api.pid"
    out = subprocess.run(
        pyovn_cmd(
            "api", f"--ovnnb-db={nb.remote}", f"--database-url={db_url}",
            f"--listen=127.0.0.1:{port}", "--detach", f"--pidfile={pidfile}",
        ),
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    pid = int(pidfile.read_text())
    try:
        c = SyncClient(f"http://127.0.0.1:{port}")
        wait(lambda: c.request("GET", "/")[0] == 200)
        assert c.network("detached")["name"] == "detached"
    finally:
        os.kill(pid, signal.SIGTERM)
    wait(lambda: not pidfile.exists())
