"""pyovn trace on a Southbound database written by pyovn northd (real sockets, in-process
servers), through the library API and the `pyovn trace` command."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from pyovn.cli.trace import main as trace_main
from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.trace import TraceResult, trace
from tests.support.northd_run import Setup, northd_setup

LIMIT = 120.0

MAC = {name: f"00:00:00:00:00:{i:02x}" for name, i in
       (("vm1", 1), ("vm2", 2), ("vm3", 3), ("vm4", 4), ("c1", 0x11), ("c2", 0x12),
        ("web", 0x21), ("p1", 0x31))}  # fmt: skip
IP = {"vm1": "10.0.0.1", "vm2": "10.0.0.2", "vm3": "10.0.0.3", "vm4": "10.0.0.4",
      "c1": "10.0.0.11", "c2": "10.1.0.12", "web": "10.1.0.21", "p1": "10.2.0.31"}  # fmt: skip


def addr(name: str) -> tuple[str, list[str]]:
    return ("addresses", [f"{MAC[name]} {IP[name]}"])


TOPOLOGY = (
    ("add_ls", "sw0"),
    ("add_ls", "apps"),
    ("add_ls", "lab"),
    ("add_lsp", "sw0", "vm1", (addr("vm1"), ("port_security", [f"{MAC['vm1']} {IP['vm1']}"]))),
    ("add_lsp", "sw0", "vm2", (addr("vm2"),)),
    ("add_lsp", "sw0", "vm3", (addr("vm3"),)),
    ("add_lsp", "sw0", "vm4", (addr("vm4"), ("enabled", False))),
    ("add_lsp", "sw0", "c1", (addr("c1"), ("parent_name", "vm1"), ("tag_request", 10))),
    ("add_lsp", "apps", "c2", (addr("c2"), ("parent_name", "vm1"), ("tag_request", 20))),
    ("add_lsp", "apps", "web", (addr("web"),)),
    ("add_lsp", "lab", "p1", (addr("p1"),)),
    ("add_lsp", "lab", "p2", (("addresses", ["unknown"]),)),
)


def scenario(tmp_path: Path, body: Callable[[Setup], Awaitable[None]]) -> None:
    async def main() -> None:
        async with northd_setup(tmp_path) as setup:
            await setup.edit(*TOPOLOGY)
            await setup.settle()
            await body(setup)

    asyncio.run(asyncio.wait_for(main(), LIMIT))


def l2(src: str, dst: str, extra: str = "") -> str:
    dst_mac = "ff:ff:ff:ff:ff:ff" if dst == "bcast" else MAC.get(dst, dst)
    micro = f'inport == "{src}" && eth.src == {MAC.get(src, src)} && eth.dst == {dst_mac}'
    return micro + (f" && {extra}" if extra else "")


def arp_request(src: str, target_ip: str) -> str:
    return l2(src, "bcast", f"arp.op == 1 && arp.sha == {MAC[src]} && arp.spa == {IP[src]} "
              f"&& arp.tpa == {target_ip}")  # fmt: skip


def flow_uuid(setup: Setup, stage: str, match: str, datapath: str = "sw0") -> str:
    dps = setup.sb.rows("Datapath_Binding")
    for uuid, row in setup.sb.rows("Logical_Flow").items():
        dp = dps[row.one("logical_datapath")]
        if (
            dp["external_ids"].get("name") == datapath
            and row["external_ids"].get("stage-name") == stage
            and row["match"] == match
        ):
            return str(uuid)
    raise AssertionError(f"no flow {stage} {match} on {datapath}")


async def run(setup: Setup, datapath: str | None, microflow: str) -> TraceResult:
    return await trace(setup.sb, datapath, microflow)


def test_unicast_vm_to_vm(tmp_path: Path) -> None:
    async def body(setup: Setup) -> None:
        result = await run(setup, "sw0", l2("vm1", "vm2", f"ip4.src == {IP['vm1']} && "
                                            f"ip4.dst == {IP['vm2']} && ip.ttl == 64"))  # fmt: skip
        assert result.delivered == ["vm2"] and not result.dropped
        text = result.render()
        lkup = flow_uuid(setup, "ls_in_l2_lkup", f"eth.dst == {MAC['vm2']}")
        assert f" 2. ls_in_l2_lkup: eth.dst == {MAC['vm2']}, priority 50, uuid {lkup[:8]}\n" in text
        assert 'egress(dp="sw0", inport="vm1", outport="vm2")' in text
        assert result.render("minimal").endswith('\noutput("vm2");\n')

    scenario(tmp_path, body)


def test_broadcast_arp_reaches_the_enabled_ports_except_the_sender(tmp_path: Path) -> None:
    async def body(setup: Setup) -> None:
        for sender in ("vm2", "vm3"):
            result = await run(setup, "sw0", arp_request(sender, "10.0.0.99"))
            expected = sorted({"vm1", "vm2", "vm3", "c1"} - {sender})  # vm4 is disabled
            assert sorted(result.delivered) == expected
            assert 'multicast(dp="sw0", mcgroup="_MC_flood")' in result.render()

    scenario(tmp_path, body)


def test_arp_responder_replies_to_the_inport(tmp_path: Path) -> None:
    async def body(setup: Setup) -> None:
        result = await run(setup, "sw0", arp_request("vm1", IP["vm2"]))
        (reply,) = result.deliveries
        assert reply.port == "vm1"
        assert reply.packet["arp.op"] == 2
        assert reply.packet["eth.src"] == reply.packet["arp.sha"] == 2  # vm2's MAC
        assert reply.packet["eth.dst"] == reply.packet["arp.tha"] == 1  # vm1's MAC
        assert reply.packet["arp.spa"] == 0x0A000002 and reply.packet["arp.tpa"] == 0x0A000001
        minimal = result.render("minimal")
        assert "arp.op = 2;\n" in minimal and minimal.endswith('output("vm1");\n')
        assert " 1. ls_in_arp_rsp: arp.tpa == 10.0.0.2 && arp.op == 1, priority 50" in (
            result.render()
        )
        # asking for one's own address is not answered: the request floods
        own = await run(setup, "sw0", arp_request("vm1", IP["vm1"]))
        assert sorted(own.delivered) == ["c1", "vm2", "vm3"]

    scenario(tmp_path, body)


def test_port_security_drops_a_spoofed_source(tmp_path: Path) -> None:
    async def body(setup: Setup) -> None:
        result = await run(setup, "sw0", l2("00:00:00:00:00:66", "vm2").replace(
            'inport == "00:00:00:00:00:66"', 'inport == "vm1"'))  # fmt: skip
        assert result.dropped
        assert " 0. ls_in_port_sec_l2: 1, priority 0, uuid " in result.render()
        assert result.drops == [f"dropped by `drop;' in ls_in_port_sec_l2 (uuid "
                                f"{flow_uuid(setup, 'ls_in_port_sec_l2', '1')[:8]})"]  # fmt: skip
        assert result.render("minimal").count("\n") == 1  # the header line only

    scenario(tmp_path, body)


def test_disabled_port_drops_both_ways(tmp_path: Path) -> None:
    async def body(setup: Setup) -> None:
        sent = await run(setup, "sw0", l2("vm4", "vm2"))
        assert sent.dropped
        assert ' 0. ls_in_port_sec_l2: inport == "vm4", priority 100' in sent.render()
        received = await run(setup, "sw0", l2("vm2", "vm4"))
        assert received.dropped
        assert f"ls_in_l2_lkup: eth.dst == {MAC['vm4']}, priority 50" in received.render()

    scenario(tmp_path, body)


def test_container_ports(tmp_path: Path) -> None:
    async def body(setup: Setup) -> None:
        into = await run(setup, None, l2("c1", "vm2"))
        assert into.delivered == ["vm2"]
        text = into.render()
        assert ('/* on the hypervisor: frame from the VIF of "vm1" with VLAN 10 -> tag stripped '
                '-> inport "c1" */') in text  # fmt: skip
        out = await run(setup, "sw0", l2("vm2", "c1"))
        assert [(d.port, d.parent, d.tag) for d in out.deliveries] == [("c1", "vm1", 10)]
        assert '/* on the hypervisor: VLAN 10 pushed -> out of the VIF of "vm1" */' in out.render()
        # a frame on vm1's VIF with VLAN 20 belongs to c2, on another switch
        tagged = await run(setup, "sw0", l2("vm1", "web", "vlan.vid == 20").replace(
            f"eth.src == {MAC['vm1']}", f"eth.src == {MAC['c2']}"))  # fmt: skip
        assert tagged.delivered == ["web"]
        assert '\ningress(dp="apps", inport="c2")\n' in tagged.render()

    scenario(tmp_path, body)


def test_unknown_vlan_tag_is_dropped_on_the_hypervisor(tmp_path: Path) -> None:
    async def body(setup: Setup) -> None:
        result = await run(setup, "sw0", l2("vm1", "vm2", "vlan.vid == 99"))
        assert result.dropped
        assert 'no container port inside "vm1" has VLAN tag 99 -> dropped */' in result.render()
        assert "ingress(" not in result.render("all")

    scenario(tmp_path, body)


def test_unknown_destination(tmp_path: Path) -> None:
    async def body(setup: Setup) -> None:
        nowhere = await run(setup, "sw0", l2("vm2", "00:00:00:00:00:99"))
        assert nowhere.dropped
        assert ' 3. ls_in_l2_unknown: outport == "none", priority 50' in nowhere.render()
        flooded = await run(setup, "lab", l2("p1", "00:00:00:00:00:99"))
        assert flooded.delivered == ["p2"]
        assert 'multicast(dp="lab", mcgroup="_MC_unknown")' in flooded.render()

    scenario(tmp_path, body)


def test_library_api_starts_a_fresh_client_and_finds_datapaths(tmp_path: Path) -> None:
    async def body(setup: Setup) -> None:
        client = OvsdbClient(setup.server.remote, "OVN_Southbound")
        try:
            switch = setup.nb.find_one("Logical_Switch", name="sw0")
            assert switch is not None
            nb_uuid = switch.uuid
            for datapath in ("sw0", str(nb_uuid), None):
                result = await trace(client, datapath, l2("vm3", "vm2"))
                assert result.datapath == "sw0" and result.delivered == ["vm2"]
        finally:
            await client.close()

    scenario(tmp_path, body)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    codes: dict[str, Any] = {}

    async def body(setup: Setup) -> None:
        db = f"--db={setup.server.remote}"

        async def cli(*argv: str) -> int:
            return await asyncio.to_thread(trace_main, list(argv))

        codes["minimal"] = await cli(db, "--minimal", "sw0", l2("vm3", "vm2"))
        codes["all"] = await cli(db, "--all", l2("vm3", "bcast"))
        codes["bad datapath"] = await cli(db, "nosuch", l2("vm3", "vm2"))
        codes["bad microflow"] = await cli(db, "sw0", 'inport == "vm3" && tcp.dst == 80')
        codes["usage"] = await cli(db, "--frobnicate", "sw0", "x")
        codes["unreachable"] = await cli(f"--db=unix:{tmp_path}/none.sock", "-t", "0.5",
                                         "sw0", l2("vm3", "vm2"))  # fmt: skip

    scenario(tmp_path, body)
    out, err = capsys.readouterr()
    assert codes == {"minimal": 0, "all": 0, "bad datapath": 1, "bad microflow": 1, "usage": 2,
                     "unreachable": 1}  # fmt: skip
    assert re.match(r"# reg14=0x[0-9a-f]+,vlan_tci=0x0000,dl_src=00:00:00:00:00:03,", out)
    assert '\noutput("vm2");\n# reg14=' in out
    assert "# Detailed trace.\n" in out and "# Summary trace.\n" in out
    assert 'pyovn trace: unknown datapath "nosuch"' in err
    assert "pyovn trace: microflow constraints are ambiguous" in err
