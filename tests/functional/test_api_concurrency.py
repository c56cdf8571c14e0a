"""Concurrent creates never hand out the same VLAN tag under one parent or the same IP
address: the database's unique constraints decide, the loser retries. Two `pyovn api`
processes share one database (SQLite file, or a private PostgreSQL started here), and the
requests are spread over both, so the races are real ones between separate processes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import ApiProcess, Client, PrivatePostgres, have_postgres, nb_ports
from tests.support.servers import ServerProcess, start_pyovn_server

WORKERS = 2


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.db'}"
        return
    if not have_postgres():
        pytest.skip("PostgreSQL 15 server binaries are not installed (apt install postgresql-15)")
    with PrivatePostgres(tmp_path / "pg") as pg:
        yield pg.url


@pytest.fixture
def nb(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_pyovn_server(tmp_path, "nb", "nb")
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def apis(tmp_path: Path, nb: ServerProcess, database_url: str) -> Iterator[list[ApiProcess]]:
    with ExitStack() as stack:
        servers = []
        for _ in range(WORKERS):
            servers.append(stack.enter_context(ApiProcess(tmp_path, nb.remote, database_url)))
        yield servers


async def _setup(url: str, cidr: str = "10.0.0.0/16") -> tuple[dict[str, Any], dict[str, Any]]:
    async with Client(url) as c:
        net = await c.network("n")
        await c.subnet(net["id"], cidr)
        vm = await c.port(net["id"], name="vm")
        return net, vm


async def _create_many(urls: list[str], bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    clients = [Client(u) for u in urls]
    for c in clients:
        await c.__aenter__()
    try:
        results = await asyncio.gather(
            *(
                clients[i % len(clients)].post("/v2.0/ports", {"port": body})
                for i, body in enumerate(bodies)
            )
        )
    finally:
        for c in clients:
            await c.__aexit__()
    for status, out in results:
        assert status == 201, out
    return [out["port"] for _, out in results]


def test_parallel_children_get_distinct_tags(apis: list[ApiProcess]) -> None:
    async def main() -> None:
        net, vm = await _setup(apis[0].url)
        profile = {"parent_name": vm["id"], "tag": "auto"}
        bodies = [
            {"network_id": net["id"], "name": f"c{i}", "binding:profile": profile}
            for i in range(20)
        ]
        ports = await _create_many([a.url for a in apis], bodies)
        tags = [p["binding:profile"]["tag"] for p in ports]
        assert sorted(tags) == list(range(1, 21))  # distinct, and the lowest free ones
        async with Client(apis[1].url) as c:
            listed = (await c.ok("GET", f"/v2.0/ports?network_id={net['id']}"))["ports"]
        stored = sorted(
            p["binding:profile"]["tag"] for p in listed if p["binding:profile"].get("parent_name")
        )
        assert stored == list(range(1, 21))

    asyncio.run(asyncio.wait_for(main(), 300))


def test_parallel_ports_get_distinct_addresses(apis: list[ApiProcess]) -> None:
    async def main() -> None:
        net, vm = await _setup(apis[0].url)
        bodies = [{"network_id": net["id"], "name": f"p{i}"} for i in range(100)]
        ports = await _create_many([a.url for a in apis], bodies)
        ips = [a["ip_address"] for p in ports for a in p["fixed_ips"]]
        assert len(ips) == 100 and len(set(ips)) == 100
        assert vm["fixed_ips"][0]["ip_address"] not in ips
        assert len({p["mac_address"] for p in ports}) == 100
        async with Client(apis[1].url) as c:
            listed = (await c.ok("GET", f"/v2.0/ports?network_id={net['id']}"))["ports"]
        assert len(listed) == 101
        all_ips = [a["ip_address"] for p in listed for a in p["fixed_ips"]]
        assert len(set(all_ips)) == 101

    asyncio.run(asyncio.wait_for(main(), 300))


def test_concurrent_updates_from_two_processes_leave_nb_at_the_newest_revision(
    apis: list[ApiProcess], nb: ServerProcess
) -> None:
    """Each NB update verifies the row it read is still there: a write that lost the race
    is built again and then left out, as the newer revision is already in NB."""

    async def main() -> dict[str, Any]:
        _net, vm = await _setup(apis[0].url)
        clients = [Client(a.url) for a in apis]
        for c in clients:
            await c.__aenter__()
        try:
            results = await asyncio.gather(
                *(
                    clients[i % len(clients)].put(
                        f"/v2.0/ports/{vm['id']}", {"port": {"name": f"name-{i}"}}
                    )
                    for i in range(40)
                )
            )
            assert all(status == 200 for status, _ in results), results
            return dict((await clients[0].ok("GET", f"/v2.0/ports/{vm['id']}"))["port"])
        finally:
            for c in clients:
                await c.__aexit__()

    final = asyncio.run(asyncio.wait_for(main(), 300))
    assert final["revision_number"] == 41
    row = nb_ports(nb.remote)[final["id"]]
    assert row["external_ids"]["neutron:revision_number"] == "41"
    assert row["external_ids"]["neutron:port_name"] == final["name"]
