"""OvsdbClient against a Debian three-server Raft cluster: given every remote it writes via
the leader; when the leader is SIGKILLed mid-run it carries on with the new leader, and no
acknowledged transaction is lost."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyovn.ovsdb.client.client import OvsdbClient
from tests.support.rawrpc import RawClient
from tests.support.servers import RaftCluster, have, raft_cluster

NB = "OVN_Northbound"
LIMIT = 120.0

pytestmark = [
    pytest.mark.interop,
    pytest.mark.slow,
    pytest.mark.skipif(
        not have("ovsdb-server") or not have("ovsdb-tool") or not have("ovs-appctl"),
        reason="Open vSwitch's ovsdb-server/ovsdb-tool/ovs-appctl are not installed "
        "(apt install openvswitch-common)",
    ),
]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[RaftCluster]:
    with raft_cluster(tmp_path, "nb") as c:
        c.wait_for_leader(NB, timeout=LIMIT)
        yield c


def names(client: OvsdbClient) -> set[str]:
    return {str(r["name"]) for r in client.rows("Logical_Switch").values()}


async def add(client: OvsdbClient, name: str) -> None:
    """Safe to re-run: a retry after a lost reply finds the row already there."""

    def build(txn: Any) -> None:
        if name not in names(client):
            txn.insert("Logical_Switch", {"name": name})

    await client.transact(build, retries=1000)


async def select_names(remote: str) -> set[str]:
    raw = await RawClient.open(remote)
    try:
        (result,) = await raw.transact(
            NB, {"op": "select", "table": "Logical_Switch", "where": [], "columns": ["name"]}
        )
        return {r["name"] for r in result["rows"]}
    finally:
        await raw.close()


def test_client_writes_via_leader_and_survives_leader_kill(cluster: RaftCluster) -> None:
    async def main() -> None:
        client = OvsdbClient(cluster.remotes, NB, leader_only=True, max_backoff=1.0)
        client.watch("Logical_Switch", columns=["name"])
        try:
            await client.start(timeout=LIMIT)
            leader = cluster.leader_index(NB)
            assert leader is not None
            assert client.connected_remote == cluster.remotes[leader]

            acked: list[str] = []
            for i in range(30):
                await add(client, f"before{i}")
                acked.append(f"before{i}")

            # kill the leader while transactions are in flight
            writes = asyncio.ensure_future(
                asyncio.gather(*(add(client, f"during{i}") for i in range(20)))
            )
            await asyncio.sleep(0.05)
            old = cluster.servers[leader]
            await asyncio.to_thread(old.kill, signal.SIGKILL)
            await asyncio.wait_for(writes, LIMIT)
            acked += [f"during{i}" for i in range(20)]

            for i in range(30):
                await add(client, f"after{i}")
                acked.append(f"after{i}")

            new_leader = await asyncio.to_thread(cluster.wait_for_leader, NB, LIMIT)
            assert new_leader != leader
            assert client.connected_remote == cluster.remotes[new_leader]
            assert client.n_reconnects >= 1
            # nothing acknowledged is lost: in the client's replica and on the new leader
            assert set(acked) <= names(client)
            assert set(acked) <= await select_names(cluster.remotes[new_leader])
            assert len(names(client)) == len(acked)  # and nothing was inserted twice
        finally:
            await client.close()

    asyncio.run(asyncio.wait_for(main(), 600))


def test_client_skips_followers(cluster: RaftCluster) -> None:
    """With leader_only the client connects to the leader even when followers come first."""

    async def main() -> None:
        leader = cluster.leader_index(NB)
        assert leader is not None
        order = [r for i, r in enumerate(cluster.remotes) if i != leader]
        order.append(cluster.remotes[leader])
        client = OvsdbClient(order, NB, leader_only=True, max_backoff=1.0)
        client.watch("Logical_Switch", columns=["name"])
        follower_client = OvsdbClient(order[0], NB, leader_only=False, max_backoff=1.0)
        follower_client.watch("Logical_Switch", columns=["name"])
        try:
            await client.start(timeout=LIMIT)
            assert client.connected_remote == cluster.remotes[leader]
            await add(client, "via-leader")
            # a follower serves reads (leader_only=False), and sees the leader's write
            await follower_client.start(timeout=LIMIT)
            assert follower_client.connected_remote == order[0]
            await follower_client.wait_for(lambda: "via-leader" in names(follower_client), LIMIT)
        finally:
            await client.close()
            await follower_client.close()

    asyncio.run(asyncio.wait_for(main(), 600))
