"""pyovn.controller.vswitch: ovs-vsctl-style VIF plugging, against pyovn's server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pyovn.controller.vswitch import add_vif, del_vif, vswitch_client
from tests.support.inproc import start_inproc


def test_concurrent_add_vif_creates_one_bridge(tmp_path: Path) -> None:
    """Clients racing to plug VIFs into a database without br-int (or any Open_vSwitch
    row) end up with one Open_vSwitch row, one br-int, and every port on it."""

    async def main() -> None:
        server = await start_inproc(tmp_path, ("vswitch",), durable_files=False)
        clients = [vswitch_client(server.remote) for _ in range(4)]
        try:
            for c in clients:
                await c.start(timeout=10)
            await asyncio.gather(
                *(add_vif(c, f"vif{i}", f"lsp{i}") for i, c in enumerate(clients))
            )
            check = clients[0]
            await check.wait_for(lambda: len(check.rows("Port")) == 4, 10)
            bridges = list(check.rows("Bridge").values())
            assert [b["name"] for b in bridges] == ["br-int"]
            assert len(check.rows("Open_vSwitch")) == 1
            assert len(bridges[0]["ports"]) == 4
            with pytest.raises(ValueError, match="already exists"):
                await add_vif(clients[1], "vif0", "other")
            await del_vif(clients[2], "vif0")
            await check.wait_for(lambda: len(check.rows("Port")) == 3, 10)
        finally:
            for c in clients:
                await c.close()
            await server.close()

    asyncio.run(main())
