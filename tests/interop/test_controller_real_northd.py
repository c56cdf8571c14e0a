"""pyovn's controllers (simulated datapath) on the Southbound database that OVN's own
ovn-northd writes: an L2 topology with a container inside a VM forwards end to end, and the
logical flows pyovn cannot compile are reported, not fatal."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from pyovn.sandbox import Sandbox
from tests.support.topo import Topo

pytestmark = pytest.mark.skipif(
    shutil.which("ovn-northd") is None, reason="Debian's ovn-northd is not installed"
)

VM1 = ("0a:00:00:00:00:01", "10.0.0.1")
VM2 = ("0a:00:00:00:00:02", "10.0.0.2")
C1 = ("0a:00:00:00:00:11", "10.0.0.11")


def test_pyovn_controllers_forward_from_ovn_northd_flows(tmp_path: Path) -> None:
    async def main() -> None:
        sandbox = Sandbox(tmp_path / "run", 2, with_northd=False)
        await sandbox.start()
        northd = subprocess.Popen(
            [
                "ovn-northd",
                "--no-chdir",
                f"--ovnnb-db={sandbox.nb_remote}",
                f"--ovnsb-db={sandbox.sb_remote}",
                f"--unixctl={tmp_path / 'northd.ctl'}",
                f"--log-file={tmp_path / 'northd.log'}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            t = Topo(sandbox)
            await t.ls_add("sw0")
            await t.lsp_add("sw0", "vm1", *VM1)
            await t.lsp_add("sw0", "vm2", *VM2)
            await t.lsp_add("sw0", "c1", *C1, parent="vm1", tag=0)
            await t.plug(0, "vm1", "vm1")
            await t.plug(1, "vm2", "vm2")
            for name in ("vm1", "vm2", "c1"):
                await t.wait_up(name, timeout=30)
            tag = t.tag("c1")
            assert tag is not None  # allocated by OVN's northd
            vm1, vm2 = t.host(0, "vm1"), t.host(1, "vm2")
            vm1.add_identity(*VM1)
            vm1.add_identity(*C1, vlan=tag)
            vm2.add_identity(*VM2)
            await vm1.ping(VM2[1], timeout=3)
            await vm2.ping(C1[1], timeout=3)
            await vm1.ping(VM2[1], vlan=tag, timeout=3)
            # spoofing stays blocked by OVN's check_in_port_sec() flows
            from pyovn.datapath.craft import icmp4_echo

            res = sandbox.chassis[0].controller.backend.inject(
                "vm1", icmp4_echo("0a:00:00:00:00:99", "0a:00:00:00:00:02", VM1[1], VM2[1])
            )
            assert res.dropped
            stats = sandbox.chassis[0].controller.cache.stats
            assert stats.compiled > 0
            # what OVN's northd writes that pyovn does not compile (multicast snooping, load
            # balancing, conntrack, service monitors) is listed, never fatal
            for why in stats.failed.values():
                assert "match=" in why
        finally:
            northd.terminate()
            northd.wait(10)
            await sandbox.close()

    asyncio.run(asyncio.wait_for(main(), 90))
