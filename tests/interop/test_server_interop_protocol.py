"""The wire-protocol scenarios of tests/functional/test_ovsdb_server.py, against Debian's
ovsdb-server: what pyovn's server is tested for is what the real server does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.server_scenarios import PYOVN_ONLY, SCENARIOS
from tests.support.servers import have, real_server

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        not have("ovsdb-server") or not have("ovsdb-tool"),
        reason="Open vSwitch's ovsdb-server is not installed (apt install openvswitch-common)",
    ),
]


@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - PYOVN_ONLY))
def test_scenario_against_real_server(tmp_path: Path, name: str) -> None:
    with real_server(tmp_path, "nb") as server:
        asyncio.run(asyncio.wait_for(SCENARIOS[name](server.remote), 120))
