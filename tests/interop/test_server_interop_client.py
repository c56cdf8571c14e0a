"""OvsdbClient against Debian's ovsdb-server (standalone): the same scenarios as
tests/functional/test_ovsdb_client.py. Open vSwitch keeps no transaction history for a
standalone database, so a reconnecting client always gets a full snapshot (found=false);
the client must still hand its listeners only the differences."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.client_scenarios import CLIENT_SCENARIOS, NB
from tests.support.servers import ServerProcess, have, start_real_server

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        not have("ovsdb-server") or not have("ovsdb-tool") or not have("ovs-appctl"),
        reason="Open vSwitch's ovsdb-server/ovsdb-tool/ovs-appctl are not installed "
        "(apt install openvswitch-common)",
    ),
]


class RealHandle:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server

    @property
    def remote(self) -> str:
        return self.server.remote

    async def restart(self, while_down: list[Any] | None = None) -> None:
        def work() -> None:
            self.server.kill(signal.SIGTERM)
            if while_down:
                subprocess.run(
                    ["ovsdb-tool", "transact", str(self.server.db), json.dumps([NB, *while_down])],
                    check=True,
                    capture_output=True,
                )
            self.server.start_again()

        await asyncio.to_thread(work)

    async def drop_connections(self) -> None:
        await asyncio.to_thread(
            subprocess.run,
            ["ovs-appctl", "-t", str(self.server.ctl), "ovsdb-server/reconnect"],
            check=True,
            capture_output=True,
        )


@pytest.mark.parametrize("name", sorted(CLIENT_SCENARIOS))
def test_client_scenario_against_real_server(tmp_path: Path, name: str) -> None:
    server = start_real_server(tmp_path, "nb")
    try:
        asyncio.run(asyncio.wait_for(CLIENT_SCENARIOS[name](RealHandle(server)), 180))
    finally:
        server.kill(signal.SIGTERM)
