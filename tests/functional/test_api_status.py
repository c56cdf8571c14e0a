"""Port status follows OVN: ACTIVE when NB says Logical_Switch_Port.up (a chassis bound the
port), DOWN when the VIF goes away, and right again after the API restarts while it was down.
Concurrent updates of one port leave NB at the newest revision."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pyovn.controller.vswitch import del_vif
from tests.support.api import Client, InProcessApi, SyncClient, ThreadedApi


def test_status_follows_the_binding_and_survives_a_restart(tmp_path: Path) -> None:
    with ThreadedApi(tmp_path, n_chassis=1) as api:
        c = SyncClient(api.url)
        net = c.network("n")
        c.subnet(net["id"], "10.0.0.0/24")
        vm = c.port(net["id"], name="vm")
        kid = c.port(net["id"], name="kid", **{"binding:profile": {"parent_name": vm["id"]}})
        assert c.ok("GET", f"/v2.0/ports/{vm['id']}")["port"]["status"] == "DOWN"
        api.plug(0, "vm-eth0", vm["id"])
        c.wait_status(vm["id"], "ACTIVE")
        c.wait_status(kid["id"], "ACTIVE")  # a container is up where its VM is bound
        listed = c.ok("GET", f"/v2.0/ports?network_id={net['id']}&status=ACTIVE&fields=id")
        assert {p["id"] for p in listed["ports"]} == {vm["id"], kid["id"]}

        assert api.sandbox is not None
        ovs = api.sandbox.chassis[0].ovs
        api.run(del_vif(ovs, "vm-eth0"))
        c.wait_status(vm["id"], "DOWN")
        c.wait_status(kid["id"], "DOWN")

        # the API is down while the VIF comes back: it finds out when it starts again
        assert api.api is not None
        api.run(api.api.close())
        api.plug(0, "vm-eth1", vm["id"])
        api.run(lambda: api.sandbox.nb.wait_for(lambda: _up(api, vm["id"]), 30))  # type: ignore[union-attr]
        api.api = InProcessApi(api.sandbox.nb_remote, api.database_url)
        api.run(api.api.start())
        c = SyncClient(api.url)
        assert c.ok("GET", f"/v2.0/ports/{vm['id']}")["port"]["status"] == "ACTIVE"
        c.wait_status(kid["id"], "ACTIVE")


def _up(api: ThreadedApi, name: str) -> bool:
    assert api.sandbox is not None and api.sandbox.nb is not None
    row = api.sandbox.nb.find_one("Logical_Switch_Port", name=name)
    return row is not None and row.one("up") is True


def test_concurrent_updates_leave_nb_at_the_newest_revision(tmp_path: Path) -> None:
    with ThreadedApi(tmp_path) as api:
        c = SyncClient(api.url)
        net = c.network("n")
        c.subnet(net["id"], "10.0.0.0/24")
        port = c.port(net["id"], name="p0")

        async def renames() -> None:
            async with Client(api.url) as ac:
                results = await asyncio.gather(
                    *(
                        ac.put(f"/v2.0/ports/{port['id']}", {"port": {"name": f"p{i}"}})
                        for i in range(1, 31)
                    )
                )
            assert all(status == 200 for status, _ in results), results

        asyncio.run(renames())
        final = c.ok("GET", f"/v2.0/ports/{port['id']}")["port"]
        assert final["revision_number"] == 31
        row = api.lsp(port["id"])
        assert row["external_ids"]["neutron:revision_number"] == "31"
        assert row["external_ids"]["neutron:port_name"] == final["name"]
