"""pyovn trace against Debian's ovn-trace on the same Southbound database (written by pyovn
northd, served by pyovn's ovsdb-server): same tables visited, same actions, same deliveries
and drops, same text in all three forms once pyovn's own additions are taken out (the
``/* on the hypervisor: ... */`` lines about container VLAN tags and the notes on tied flows).
"""

from __future__ import annotations

import asyncio
import difflib
import re
from pathlib import Path

import pytest

from pyovn.trace import trace
from tests.functional.test_trace import IP, MAC, TOPOLOGY, arp_request, l2
from tests.support.northd_run import Setup, northd_setup
from tests.support.servers import have

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        not have("ovn-trace"), reason="ovn-trace is not installed (apt install ovn-common)"
    ),
]

LIMIT = 180.0

MICROFLOWS: tuple[tuple[str, str], ...] = (
    ("sw0", l2("vm1", "vm2", f"ip4.src == {IP['vm1']} && ip4.dst == {IP['vm2']} && ip.ttl == 64")),
    ("sw0", l2("vm3", "vm2", "ip6 && udp.dst == 53")),
    ("sw0", arp_request("vm2", "10.0.0.99")),
    ("sw0", arp_request("vm1", IP["vm3"])),
    ("sw0", arp_request("vm1", IP["vm1"])),
    ("sw0", l2("vm1", "vm2").replace(f"eth.src == {MAC['vm1']}", "eth.src == 00:00:00:00:00:66")),
    ("sw0", l2("vm4", "vm2")),
    ("sw0", l2("vm2", "vm4")),
    ("sw0", l2("vm2", "vm2")),
    ("sw0", l2("c1", "vm2")),
    ("sw0", l2("vm2", "c1")),
    ("sw0", l2("c1", "bcast")),
    ("sw0", l2("vm2", "00:00:00:00:00:99")),
    ("lab", l2("p1", "00:00:00:00:00:99")),
    ("lab", l2("p1", "bcast", "ip4 && icmp4.type == 8")),
    ("apps", l2("web", "c2", "tcp && ip4 && tcp.dst == 80 && tcp.flags == 2")),
)


def pyovn_only_removed(text: str) -> str:
    lines = [
        line
        for line in text.split("\n")
        if "/* on the hypervisor: " not in line and not re.search(r"/\* \d+ flows match", line)
    ]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue  # the blank line that set off a removed top-level note
        out.append(line)
    return "\n".join(out)


async def ovn_trace(remote: str, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "ovn-trace", f"--db={remote}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


def run(tmp_path: Path, body: object) -> None:
    async def main() -> None:
        async with northd_setup(tmp_path) as setup:
            await setup.edit(*TOPOLOGY)
            await setup.settle()
            await body(setup)  # type: ignore[operator]

    asyncio.run(asyncio.wait_for(main(), LIMIT))


def test_same_traces_as_ovn_trace(tmp_path: Path) -> None:
    async def body(setup: Setup) -> None:
        failures = []
        for datapath, micro in MICROFLOWS:
            ours = await trace(setup.sb, datapath, micro)
            theirs = await ovn_trace(setup.server.remote, "--all", datapath, micro)
            mine = pyovn_only_removed(ours.render("all"))
            if mine != theirs:
                diff = "".join(
                    difflib.unified_diff(
                        theirs.splitlines(True), mine.splitlines(True), "ovn-trace", "pyovn"
                    )
                )
                failures.append(f"{datapath} {micro}\n{diff}")
            delivered = re.findall(r'^output\("([^"]+)"\);$', theirs.split("# Minimal trace.")[1],
                                   re.M)  # fmt: skip
            if sorted(delivered) != sorted(ours.delivered):
                failures.append(f"{micro}: ovn-trace delivers to {delivered}, pyovn to "
                                f"{ours.delivered}")  # fmt: skip
        assert not failures, "\n\n".join(failures)

    run(tmp_path, body)


def test_datapath_can_be_omitted_or_given_by_uuid_as_for_ovn_trace(tmp_path: Path) -> None:
    async def body(setup: Setup) -> None:
        micro = l2("vm3", "vm2")
        switch = setup.nb.find_one("Logical_Switch", name="sw0")
        assert switch is not None
        nb_uuid = str(switch.uuid)
        (sb_uuid,) = [
            str(u)
            for u, row in setup.sb.rows("Datapath_Binding").items()
            if row["external_ids"].get("name") == "sw0"
        ]
        for args in ((), (nb_uuid,), (sb_uuid,)):
            ours = await trace(setup.sb, args[0] if args else None, micro)
            theirs = await ovn_trace(setup.server.remote, "--minimal", *args, micro)
            assert ours.render("minimal").split("\n", 1)[1] == theirs.split("\n", 1)[1]

    run(tmp_path, body)


def test_the_hypervisor_step_is_pyovns_own(tmp_path: Path) -> None:
    """ovn-trace sees vm1's VLAN 10 frame as vm1's tagged traffic (dropped by the
    vlan.present flow); pyovn, like pyovn's controller, hands it to container c1."""

    async def body(setup: Setup) -> None:
        micro = l2("vm1", "vm2", "vlan.vid == 10").replace(
            f"eth.src == {MAC['vm1']}", f"eth.src == {MAC['c1']}"
        )
        ours = await trace(setup.sb, "sw0", micro)
        theirs = await ovn_trace(setup.server.remote, "sw0", micro)
        assert ours.delivered == ["vm2"]
        assert '\ningress(dp="sw0", inport="c1")\n' in ours.render()
        assert " 0. ls_in_port_sec_l2: vlan.present, priority 100" in theirs
        assert ours.header == theirs.split("\n", 1)[0].removeprefix("# ")
        # a tag no container owns: both drop it, pyovn before the logical flows
        micro = l2("web", "bcast", "vlan.vid == 7")
        ours = await trace(setup.sb, "apps", micro)
        theirs = await ovn_trace(setup.server.remote, "--minimal", "apps", micro)
        assert ours.dropped and theirs.count("\n") == 1
        assert ours.drops == ['dropped on the hypervisor: no container port inside "web" has '
                              "VLAN tag 7"]  # fmt: skip

    run(tmp_path, body)
