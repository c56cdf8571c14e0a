"""pyovn northd beside Debian's ovn-northd 23.03, and each on the other's ovsdb-server.

* Side by side: the same ovn-nbctl command sequence against Debian's servers + ovn-northd and
  against pyovn's servers + pyovn northd; the Port_Binding rows (logical_port, type,
  parent_port, tag, datapath) and Datapath_Binding rows (name) agree, and tunnel keys are
  unique per scope in both. The differences that are by design (docs/northd.md) are
  asserted as differences, so a change on either side shows up here.
* pyovn northd on Debian's ovsdb-server (databases from pyovn's schemas and from OVN's own),
  and Debian's ovn-northd on pyovn's ovsdb-server: the result is sane.

Every northd is waited for until ``status`` (through ovn-appctl, for both) says active: it
has both monitors in place before it asks for the lock.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.northd_procs import (
    NorthdProcess,
    have_ovn_tools,
    nbctl,
    processes,
    sbctl,
    start_pyovn_northd,
    start_real_northd,
    wait_until,
)
from tests.support.servers import (
    ServerProcess,
    have,
    start_pyovn_server,
    start_real_server,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        not (
            have("ovn-northd") and have("ovsdb-server") and have("ovn-appctl") and have_ovn_tools()
        ),
        reason="OVN (ovn-northd, ovn-nbctl, ovn-sbctl, ovn-appctl) or ovsdb-server not installed",
    ),
]

OVN_SCHEMAS = Path("/usr/share/ovn")

# The same commands for both northds; each element is one ovn-nbctl invocation.
SEQUENCE: tuple[tuple[str, ...], ...] = (
    ("ls-add", "sw0"),
    ("lsp-add", "sw0", "vm1", "--", "lsp-set-addresses", "vm1", "00:00:00:00:00:01 10.0.0.1"),
    ("lsp-set-port-security", "vm1", "00:00:00:00:00:01 10.0.0.1"),
    ("lsp-add", "sw0", "vm2", "--", "lsp-set-addresses", "vm2", "00:00:00:00:00:02 10.0.0.2"),
    ("lsp-add", "sw0", "vm3", "--", "lsp-set-enabled", "vm3", "disabled"),
    ("lsp-add", "sw0", "gw", "--", "lsp-set-addresses", "gw", "unknown"),
    ("lsp-add", "sw0", "ln0", "--", "lsp-set-type", "ln0", "localnet"),
    ("lsp-set-options", "ln0", "network_name=physnet1"),
    ("ls-add", "pods"),
    ("lsp-add", "pods", "c1", "vm1", "0"),
    ("lsp-add", "pods", "c2", "vm1", "0"),
    ("lsp-add", "pods", "c3", "vm1", "0"),
    ("lsp-add", "pods", "c7", "vm1", "7"),
    ("lsp-add", "pods", "d1", "vm2", "0"),
    ("lsp-set-addresses", "c1", "00:00:00:01:00:01 10.1.0.1"),
    ("lsp-del", "c2"),
    ("lsp-add", "pods", "c4", "vm1", "0"),  # takes the freed tag
    ("ls-add", "gone", "--", "lsp-add", "gone", "x1"),
    ("ls-del", "gone"),
    ("lsp-add", "pods", "e1", "vm3", "0", "--", "lsp-set-addresses", "e1", "dynamic"),
)


# ---------------------------------------------------------------------------- helpers


def ovn_appctl(ctl: Path, *args: str) -> str:
    out = subprocess.run(
        ["ovn-appctl", "-t", str(ctl), *args], capture_output=True, text=True, timeout=30
    )
    return out.stdout


def wait_active(northd: NorthdProcess) -> None:
    wait_until(
        lambda: ovn_appctl(northd.ctl, "status") == "Status: active\n" or not northd.alive(),
        "northd to be active",
    )
    assert northd.alive(), northd.stderr()


def _value(v: Any) -> Any:
    """ovsdb JSON (ovn-sbctl --format=json) -> Python."""
    if isinstance(v, list) and len(v) == 2 and v[0] in ("set", "map", "uuid"):
        if v[0] == "uuid":
            return v[1]
        if v[0] == "map":
            return {k: _value(x) for k, x in v[1]}
        items = [_value(x) for x in v[1]]
        return items[0] if len(items) == 1 else (None if not items else sorted(items))
    return v


def table(tool: Any, db: str, name: str, columns: str) -> list[dict[str, Any]]:
    out = json.loads(tool(db, "--format=json", f"--columns={columns}", "list", name))
    return [
        dict(zip(out["headings"], (_value(v) for v in row), strict=True)) for row in out["data"]
    ]


def southbound(sb: str) -> dict[str, Any]:
    """What the two northds should agree on, with tunnel keys checked and then dropped."""
    dps = table(sbctl, sb, "Datapath_Binding", "_uuid,tunnel_key,external_ids")
    dp_keys = [d["tunnel_key"] for d in dps]
    assert len(set(dp_keys)) == len(dp_keys), dp_keys
    names = {d["_uuid"]: d["external_ids"].get("name") for d in dps}
    assert all(d["external_ids"].get("logical-switch") for d in dps)
    pbs = table(
        sbctl, sb, "Port_Binding", "logical_port,datapath,tunnel_key,type,parent_port,tag,mac"
    )
    per_dp: dict[str, list[int]] = {}
    for p in pbs:
        per_dp.setdefault(p["datapath"], []).append(p["tunnel_key"])
    for keys in per_dp.values():
        assert len(set(keys)) == len(keys), keys
    return {
        "datapaths": sorted(names.values()),
        "ports": {
            p["logical_port"]: (names[p["datapath"]], p["type"], p["parent_port"], p["tag"])
            for p in pbs
        },
        "macs": {p["logical_port"]: p["mac"] for p in pbs},
    }


def nb_tags(nb: str) -> dict[str, Any]:
    return {r["name"]: r["tag"] for r in table(nbctl, nb, "Logical_Switch_Port", "name,tag")}


def apply(nb: str, sequence: tuple[tuple[str, ...], ...] = SEQUENCE) -> None:
    for args in sequence:
        nbctl(nb, *args)
    nbctl(nb, "--wait=sb", "sync")


def debian_servers(
    workdir: Path, started: list[Any], schemas: str = "pyovn"
) -> tuple[ServerProcess, ServerProcess]:
    if schemas == "ovn":  # Debian's own schema files
        subprocess.run(
            ["ovsdb-tool", "create", str(workdir / "nb.db"), str(OVN_SCHEMAS / "ovn-nb.ovsschema")],
            check=True,
        )
        subprocess.run(
            ["ovsdb-tool", "create", str(workdir / "sb.db"), str(OVN_SCHEMAS / "ovn-sb.ovsschema")],
            check=True,
        )
    nb = start_real_server(workdir, "nb", name="nb")
    started.append(nb)
    sb = start_real_server(workdir, "sb", name="sb")
    started.append(sb)
    return nb, sb


def pyovn_servers(workdir: Path, started: list[Any]) -> tuple[ServerProcess, ServerProcess]:
    nb = start_pyovn_server(workdir, "nb", name="nb")
    started.append(nb)
    sb = start_pyovn_server(workdir, "sb", name="sb")
    started.append(sb)
    return nb, sb


# ---------------------------------------------------------------------------- tests


EXPECTED_PORTS = {
    "vm1": ("sw0", "", None, None),
    "vm2": ("sw0", "", None, None),
    "vm3": ("sw0", "", None, None),
    "gw": ("sw0", "", None, None),
    "ln0": ("sw0", "localnet", None, None),
    "c1": ("pods", "", "vm1", 1),
    "c3": ("pods", "", "vm1", 3),
    "c4": ("pods", "", "vm1", 2),
    "c7": ("pods", "", "vm1", 7),
    "d1": ("pods", "", "vm2", 1),
    "e1": ("pods", "", "vm3", 1),
}


def test_side_by_side_with_ovn_northd(tmp_path: Path) -> None:
    real_dir, py_dir = tmp_path / "real", tmp_path / "pyovn"
    real_dir.mkdir()
    py_dir.mkdir()
    with processes() as started:
        rnb, rsb = debian_servers(real_dir, started)
        real = start_real_northd(real_dir, rnb.remote, rsb.remote)
        started.append(real)
        pnb, psb = pyovn_servers(py_dir, started)
        ours = start_pyovn_northd(py_dir, pnb.remote, psb.remote)
        started.append(ours)
        wait_active(real)
        wait_active(ours)
        apply(rnb.remote)
        apply(pnb.remote)
        want, got = southbound(rsb.remote), southbound(psb.remote)
        assert want["datapaths"] == got["datapaths"] == ["pods", "sw0"]
        assert want["ports"] == got["ports"] == EXPECTED_PORTS
        assert want["macs"] == got["macs"]
        assert nb_tags(rnb.remote) == nb_tags(pnb.remote)
        # flows: OVN's full switch pipeline vs pyovn's L2 subset (by design), both on
        # stages named as in ovn-northd(8)
        real_flows = sbctl(rsb.remote, "lflow-list")
        our_flows = sbctl(psb.remote, "lflow-list")
        for stage in ("ls_in_l2_lkup", "ls_in_l2_unknown", "ls_in_arp_rsp"):
            assert stage in real_flows and stage in our_flows
        assert (
            'match=(eth.dst == 00:00:00:00:00:01), action=(outport = "vm1"; output;)' in real_flows
        )
        assert (
            'match=(eth.dst == 00:00:00:00:00:01), action=(outport = "vm1"; output;)' in our_flows
        )
        # multicast groups: pyovn makes OVN's _MC_flood and _MC_unknown, with OVN's keys
        real_mc = {
            (g["name"], g["tunnel_key"])
            for g in table(sbctl, rsb.remote, "Multicast_Group", "name,tunnel_key")
        }
        our_mc = {
            (g["name"], g["tunnel_key"])
            for g in table(sbctl, psb.remote, "Multicast_Group", "name,tunnel_key")
        }
        assert our_mc == {("_MC_flood", 32768), ("_MC_unknown", 32769)}
        assert our_mc < real_mc


def test_conflicting_tag_requests_differ_by_design(tmp_path: Path) -> None:
    """Two children of one parent asking for the same tag: OVN gives both the tag, pyovn
    gives it to the first and explains in the other's external_ids:pyovn:error."""
    sequence = (
        ("ls-add", "sw0", "--", "lsp-add", "sw0", "vm1"),
        ("lsp-add", "sw0", "c1", "vm1", "5"),
        ("lsp-add", "sw0", "c2", "vm1", "5"),
    )
    real_dir, py_dir = tmp_path / "real", tmp_path / "pyovn"
    real_dir.mkdir()
    py_dir.mkdir()
    with processes() as started:
        rnb, rsb = debian_servers(real_dir, started)
        real = start_real_northd(real_dir, rnb.remote, rsb.remote)
        started.append(real)
        pnb, psb = pyovn_servers(py_dir, started)
        ours = start_pyovn_northd(py_dir, pnb.remote, psb.remote)
        started.append(ours)
        wait_active(real)
        wait_active(ours)
        apply(rnb.remote, sequence)
        apply(pnb.remote, sequence)
        assert nb_tags(rnb.remote) == {"vm1": None, "c1": 5, "c2": 5}
        assert nb_tags(pnb.remote) == {"vm1": None, "c1": 5, "c2": None}
        assert "already used by port c1" in nbctl(
            pnb.remote, "get", "Logical_Switch_Port", "c2", "external_ids"
        )


@pytest.mark.parametrize("schemas", ["pyovn", "ovn"])
def test_pyovn_northd_on_debian_ovsdb_server(tmp_path: Path, schemas: str) -> None:
    with processes() as started:
        nb, sb = debian_servers(tmp_path, started, schemas)
        ours = start_pyovn_northd(tmp_path, nb.remote, sb.remote)
        started.append(ours)
        wait_active(ours)
        apply(nb.remote)
        got = southbound(sb.remote)
        assert got["ports"] == EXPECTED_PORTS
        assert nb_tags(nb.remote)["c4"] == 2
        assert "ls_in_port_sec_l2" in sbctl(sb.remote, "lflow-list", "sw0")
        # a second round of changes is handled incrementally on Debian's server too
        nbctl(nb.remote, "--wait=sb", "lsp-del", "c1", "--", "lsp-add", "pods", "c9", "vm1", "0")
        assert nb_tags(nb.remote)["c9"] == 1
        stats = ovn_appctl(ours.ctl, "inc-engine/show-stats")
        assert "Node: northd\n- recompute:            1\n" in stats


def test_debian_northd_on_pyovn_ovsdb_server(tmp_path: Path) -> None:
    with processes() as started:
        nb, sb = pyovn_servers(tmp_path, started)
        real = start_real_northd(tmp_path, nb.remote, sb.remote)
        started.append(real)
        wait_active(real)
        apply(nb.remote)
        got = southbound(sb.remote)
        assert got["ports"] == EXPECTED_PORTS
        assert nb_tags(nb.remote)["c4"] == 2
        flows = sbctl(sb.remote, "lflow-list")
        assert flows.count("table=") > 100 and "ls_in_l2_lkup" in flows
        options = table(sbctl, sb.remote, "SB_Global", "options")[0]["options"]
        assert "northd_internal_version" in options
        nbctl(nb.remote, "--wait=sb", "lsp-del", "c1")
        assert "c1" not in southbound(sb.remote)["ports"]
        assert "ERR" not in real.stderr()
