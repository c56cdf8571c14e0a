"""The API's port-create path under concurrency (SQLite, a pyovn NB/SB with northd): creates
waiting for the SQL writer share one SQL transaction and then one NB transaction, each
request keeps its own outcome (201, 400, 404, 409), what the create returns is what a read
returns, a generated MAC that repeats is retried, the NB lookups by name follow creates and
deletes, and a new port's first NB event costs no status write."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyovn.api.ports import PortService
from tests.support.api import Client, SyncClient, ThreadedApi


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedApi]:
    with ThreadedApi(tmp_path_factory.mktemp("api")) as server:
        yield server


@pytest.fixture
def c(api: ThreadedApi) -> SyncClient:
    return SyncClient(api.url)


@pytest.fixture
def net(c: SyncClient) -> dict[str, Any]:
    network = c.network("n")
    c.subnet(network["id"], "10.1.0.0/24")
    return network


def service(api: ThreadedApi) -> PortService:
    assert api.api is not None and api.api.service is not None
    return api.api.service


def wait_for(what: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def together(api: ThreadedApi, bodies: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    """POST the ports while the SQL writer thread is held, so that they all queue for it,
    then let it go: they run in one SQL transaction."""
    svc = service(api)
    assert svc._batcher is not None and svc._writer is not None
    batcher, writer = svc._batcher, svc._writer
    busy = threading.Event()
    api.run(lambda: writer.submit(busy.wait))

    async def main() -> list[tuple[int, Any]]:
        async with Client(api.url) as ac:
            posts = [asyncio.ensure_future(ac.post("/v2.0/ports", {"port": b})) for b in bodies]
            while len(batcher._queue) < len(bodies):
                await asyncio.sleep(0.01)
            busy.set()
            return list(await asyncio.gather(*posts))

    try:
        return asyncio.run(main())
    finally:
        busy.set()


def test_concurrent_creates_share_sql_and_nb_transactions(
    api: ThreadedApi, c: SyncClient, net: dict[str, Any]
) -> None:
    svc = service(api)
    assert svc._batcher is not None and svc.nb is not None
    vm = c.port(net["id"], name="vm")
    sql_before = svc._batcher.n_batches
    nb_before = (svc.nb.n_transactions, svc.nb.n_writes)
    bodies: list[dict[str, Any]] = [{"network_id": net["id"], "name": f"p{i}"} for i in range(24)]
    bodies += [
        {"network_id": net["id"], "binding:profile": {"parent_name": vm["id"], "tag": "auto"}}
        for _ in range(6)
    ]
    results = together(api, bodies)
    assert [status for status, _ in results] == [201] * 30, results
    ports = [body["port"] for _, body in results]
    assert svc._batcher.n_batches - sql_before == 1  # one SQL transaction for all 30
    txns = svc.nb.n_transactions - nb_before[0]
    assert svc.nb.n_writes - nb_before[1] == 30 and 1 <= txns <= 2, txns

    addresses = [p["fixed_ips"][0]["ip_address"] for p in ports]
    assert len(set(addresses)) == 30 and len({p["mac_address"] for p in ports}) == 30
    tags = sorted(p["binding:profile"]["tag"] for p in ports[24:])
    assert tags == [1, 2, 3, 4, 5, 6]
    for port in ports:  # what the create answered is what is stored
        assert c.ok("GET", f"/v2.0/ports/{port['id']}")["port"] == port
        row = api.lsp(port["id"])
        assert row is not None
        assert row["addresses"] == {f"{port['mac_address']} {port['fixed_ips'][0]['ip_address']}"}


def test_each_create_in_a_shared_transaction_keeps_its_own_outcome(
    api: ThreadedApi, c: SyncClient, net: dict[str, Any]
) -> None:
    taken = c.port(net["id"], name="taken")["fixed_ips"][0]["ip_address"]
    before = len(c.ok("GET", "/v2.0/ports")["ports"])
    bodies: list[dict[str, Any]] = [
        {"network_id": net["id"], "name": "ok1"},
        {"network_id": net["id"], "binding:profile": {"parent_name": "no-such-port"}},
        {"network_id": net["id"], "name": "ok2"},
        {"network_id": net["id"], "fixed_ips": [{"ip_address": taken}]},
        {"network_id": "no-such-network"},
        {"network_id": net["id"], "mac_address": "fa:16:3e:aa:bb:cc"},
        {"network_id": net["id"], "mac_address": "fa:16:3e:aa:bb:cc"},
        {"network_id": net["id"], "name": "ok3"},
    ]
    results = together(api, bodies)
    statuses = [status for status, _ in results]
    assert statuses[:5] == [201, 400, 201, 409, 404], results
    assert sorted(statuses[5:7]) == [201, 409] and statuses[7] == 201
    assert results[3][1]["NeutronError"]["type"] == "IpAddressAlreadyAllocated"
    conflict = results[5][1] if statuses[5] == 409 else results[6][1]
    assert conflict["NeutronError"]["type"] == "MacAddressInUse"
    ports = c.ok("GET", "/v2.0/ports")["ports"]
    assert len(ports) == before + 4  # the failures left nothing behind
    created = [body["port"]["id"] for status, body in results if status == 201]
    assert {p["id"] for p in ports} >= set(created)
    used = [(a["subnet_id"], a["ip_address"]) for p in ports for a in p["fixed_ips"]]
    assert len(used) == len(set(used))


def test_a_generated_mac_that_repeats_is_retried(
    api: ThreadedApi, c: SyncClient, net: dict[str, Any]
) -> None:
    svc = service(api)
    macs = iter(["fa:16:3e:01:02:03", "fa:16:3e:01:02:03", "fa:16:3e:01:02:04"])
    real = svc._random_mac
    svc._random_mac = lambda: next(macs)  # type: ignore[method-assign]
    try:
        first = c.port(net["id"])
        second = c.port(net["id"])
    finally:
        svc._random_mac = real  # type: ignore[method-assign]
    assert first["mac_address"] == "fa:16:3e:01:02:03"
    assert second["mac_address"] == "fa:16:3e:01:02:04"
    assert first["fixed_ips"] != second["fixed_ips"]


def test_nb_lookups_by_name_follow_creates_and_deletes(api: ThreadedApi, c: SyncClient) -> None:
    svc = service(api)
    nb = svc.nb
    assert nb is not None
    network = c.network("looked-up")
    port = c.port(network["id"])
    ls = api.run(lambda: nb.ls(network["id"]))
    lsp = api.run(lambda: nb.lsp(port["id"]))
    assert ls is not None and ls["name"] == f"neutron-{network['id']}"
    assert lsp is not None and lsp.uuid in ls["ports"]
    c.ok("DELETE", f"/v2.0/ports/{port['id']}", status=204)
    c.ok("DELETE", f"/v2.0/networks/{network['id']}", status=204)
    wait_for(lambda: api.run(lambda: nb.ls(network["id"])) is None)
    assert api.run(lambda: nb.lsp(port["id"])) is None


def test_a_new_ports_first_nb_event_writes_no_status(
    api: ThreadedApi, c: SyncClient, net: dict[str, Any]
) -> None:
    svc = service(api)
    writes: list[dict[str, bool]] = []
    real = svc._store_statuses

    def store(ups: dict[str, bool]) -> None:
        real(ups)
        writes.append(dict(ups))

    svc._store_statuses = store  # type: ignore[method-assign]
    try:
        ports = [c.port(net["id"]) for _ in range(5)]
        wait_for(lambda: not svc._created_down)  # every port's first NB event came
        assert all(api.lsp(p["id"]) is not None for p in ports)
        assert writes == []
        api.run(lambda: svc.set_status(ports[0]["id"], True))  # a later event: written
        wait_for(lambda: bool(writes))
        assert writes[0] == {ports[0]["id"]: True}
        assert c.ok("GET", f"/v2.0/ports/{ports[0]['id']}")["port"]["status"] == "ACTIVE"
    finally:
        svc._store_statuses = real  # type: ignore[method-assign]
