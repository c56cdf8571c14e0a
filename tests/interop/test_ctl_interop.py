"""pyovn nbctl/sbctl side by side with Debian's ovn-nbctl/ovn-sbctl.

1. The same command sequence runs through ``ovn-nbctl`` (against one fresh ovsdb-server)
   and ``pyovn nbctl`` (against another: Debian's, then pyovn's own server). Every step must
   succeed or fail alike, print the same output (UUIDs masked; ``show`` blocks and ``list``
   records compared as sets, since ovn-nbctl prints rows in hash order) and the same error
   text; the two databases must end up with the same rows.
2. With Debian's ovsdb-server and ovn-northd running on NB and SB: northd assigns the tag of
   a container port added with ``lsp-add SW PORT PARENT 0``; ``--wait=sb`` blocks until
   northd has caught up (northd is stopped, then started again); ``pyovn sbctl`` prints
   show/lflow-list/count-flows as ovn-sbctl does on the same Southbound database.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pyovn.cli import nbctl as pyovn_nbctl
from pyovn.cli import sbctl as pyovn_sbctl
from pyovn.ovsdb.client.rpc import RpcConnection
from tests.support.servers import (
    ServerProcess,
    env_without_pyovn_logs,
    start_pyovn_server,
    start_real_server,
)

TOOLS = ("ovn-nbctl", "ovn-sbctl", "ovn-northd", "ovsdb-server", "ovsdb-tool")
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        any(shutil.which(t) is None for t in TOOLS),
        reason="OVN tools are not installed (apt install ovn-central ovn-common)",
    ),
]

OVN_SCHEMAS = {
    "nb": Path("/usr/share/ovn/ovn-nb.ovsschema"),
    "sb": Path("/usr/share/ovn/ovn-sb.ovsschema"),
}
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
LOG_PREFIX_RE = re.compile(r"^\S+\|\d+\|\w+\|\w+\|")


@dataclass
class Outcome:
    ok: bool
    out: str
    err: str


# ---------------------------------------------------------------------------- running tools


def real_tool(tool: str, remote: str, args: list[str]) -> Outcome:
    proc = subprocess.run(
        [tool, f"--db={remote}", *args], capture_output=True, text=True, timeout=60
    )
    return Outcome(proc.returncode == 0, proc.stdout, proc.stderr)


def pyovn_inproc(main: Callable[[list[str]], int], remote: str, args: list[str]) -> Outcome:
    """pyovn nbctl/sbctl in this process (the scenario runs a hundred commands)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([f"--db={remote}", *args])
    return Outcome(rc == 0, out.getvalue(), err.getvalue())


def pyovn_cli(verb: str, remote: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyovn.cli.main", verb, f"--db={remote}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env_without_pyovn_logs(),
    )


def real_db_server(workdir: Path, schema: str, name: str) -> ServerProcess:
    """Debian's ovsdb-server on a file made from Debian's OVN schema."""
    db = workdir / f"{name}.db"
    subprocess.run(["ovsdb-tool", "create", str(db), str(OVN_SCHEMAS[schema])], check=True)
    return start_real_server(workdir, schema, name)


# ---------------------------------------------------------------------------- normalizing


def mask(text: str) -> str:
    return UUID_RE.sub("<uuid>", text)


def blocks(text: str, indent: str) -> list[str]:
    """Split ``text`` into blocks that start at lines with exactly ``indent``."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        starts = line.startswith(indent) and not line[len(indent)].isspace()
        if starts or not out:
            out.append(line)
        else:
            out[-1] += line
    return out


def normalize_show(text: str) -> list[Any]:
    """show output as a sorted tree: top blocks, each with sorted sub-blocks."""
    tree = []
    for block in blocks(mask(text), ""):
        head, _, rest = block.partition("\n")
        tree.append((head, sorted(blocks(rest, "    ")) if rest else []))
    return sorted(tree)


def normalize_records(text: str) -> list[str]:
    return sorted(record.strip("\n") for record in mask(text).split("\n\n"))


def normalize_table(text: str) -> list[str]:
    lines = mask(text).splitlines()
    return lines[:2] + sorted(lines[2:])


def normalize_err(text: str) -> str:
    lines = []
    for line in text.splitlines():
        line = LOG_PREFIX_RE.sub("", line)
        line = line.removeprefix("ovn-nbctl: ").removeprefix("ovn-sbctl: ")
        if line:
            lines.append(line)
    return "\n".join(sorted(set(lines)))


def normalize(args: list[str], text: str) -> Any:
    names = [a for a in args if not a.startswith("-")]
    if names and names[0] == "show":
        return normalize_show(text)
    if "table" in args or "--format=table" in args:
        return normalize_table(text)
    if names and names[0] in ("list", "find"):
        return normalize_records(text)
    return mask(text)


# ---------------------------------------------------------------------------- database dumps


async def _dump(remote: str, database: str) -> dict[str, list[dict[str, Any]]]:
    rpc = await RpcConnection.open(remote)
    try:
        schema = await rpc.call("get_schema", [database])
        tables = sorted(schema["tables"])
        ops = [{"op": "select", "table": t, "where": []} for t in tables]
        results = await rpc.call("transact", [database, *ops])
    finally:
        await rpc.close()
    return {t: r["rows"] for t, r in zip(tables, results, strict=True)}


def canonical_dump(remote: str, database: str) -> dict[str, list[str]]:
    """Every row, with UUIDs replaced by the name of the row they point to (or <uuid>)."""
    dump = asyncio.run(_dump(remote, database))
    labels: dict[str, str] = {}
    for table, rows in dump.items():
        names = [r.get("name") for r in rows]
        for row in rows:
            name = row.get("name")
            if isinstance(name, str) and name and names.count(name) == 1:
                labels[row["_uuid"][1]] = f"{table}:{name}"

    def relabel(value: Any) -> Any:
        if isinstance(value, list):
            if len(value) == 2 and value[0] == "uuid":
                return labels.get(value[1], "<uuid>")
            if len(value) == 2 and value[0] in ("set", "map"):
                return [value[0], sorted((relabel(v) for v in value[1]), key=json.dumps)]
            return [relabel(v) for v in value]
        return value

    out = {}
    for table, rows in dump.items():
        canon = []
        for row in rows:
            body = {k: relabel(v) for k, v in row.items() if k not in ("_uuid", "_version")}
            canon.append(json.dumps(body, sort_keys=True))
        if canon:
            out[table] = sorted(canon)
    return out


# ---------------------------------------------------------------------------- scenario

SCENARIO: list[list[str]] = [
    ["show"],
    ["ls-add", "sw0"],
    ["ls-add", "sw0"],
    ["--may-exist", "ls-add", "sw0"],
    ["--may-exist", "--add-duplicate", "ls-add", "sw9"],
    ["ls-add", "sw1", "--", "lsp-add", "sw1", "l1"],
    ["lsp-add", "sw0", "vm1"],
    ["lsp-add", "sw0", "vm1"],
    ["lsp-add", "nosw", "x"],
    ["lsp-add", "sw0", "c1", "vm1", "5"],
    ["lsp-add", "sw0", "c2", "vm1"],
    ["lsp-add", "sw0", "c3", "vm1", "4096"],
    ["lsp-add", "sw0", "c3", "vm1", "-1"],
    ["lsp-add", "sw0", "c0", "vm1", "0"],
    ["--may-exist", "lsp-add", "sw0", "c1", "vm1", "6"],
    ["--may-exist", "lsp-add", "sw0", "c1", "vm2", "5"],
    ["--may-exist", "lsp-add", "sw0", "c1"],
    ["--may-exist", "lsp-add", "sw0", "vm1", "c1", "5"],
    ["--may-exist", "lsp-add", "sw0", "c1", "vm1", "5"],
    ["--may-exist", "lsp-add", "sw1", "c1", "vm1", "5"],
    ["lsp-set-addresses", "vm1", "00:00:00:00:00:01 10.0.0.1", "dynamic"],
    ["lsp-set-addresses", "c1", "00:00:00:00:00:02 10.0.0.1"],
    ["lsp-set-addresses", "c1", "bogus"],
    ["lsp-set-addresses", "c1", "10.0.0.2"],
    ["lsp-set-addresses", "c1", "00:00:00:00:00:02 10.0.0.2", "unknown"],
    ["lsp-set-addresses", "l1", "router"],
    ["lsp-set-port-security", "vm1", "00:00:00:00:00:01 10.0.0.1"],
    ["lsp-set-type", "l1", "router"],
    ["lsp-set-type", "l1", "patch"],
    ["lsp-set-options", "l1", "router-port=lrp0", "junk", "a=b=c"],
    ["lsp-set-enabled", "c1", "disabled"],
    ["lsp-set-enabled", "c1", "maybe"],
    ["set", "logical_switch_port", "vm1", "tag=3", 'external_ids:"neutron:port_name"=vmport'],
    ["set", "logical_switch", "sw0", "external_ids:neutron\\:network_name=net0"],
    ["set", "logical_switch_port", "vm1", "addresses=a:b"],
    ["set", "logical_switch_port", "vm1", "tag_request=4096"],
    ["set", "logical_switch_port", "vm1", "ta=1"],
    ["set", "logical_switch_port", "vm1", "options"],
    ["set", "logical_switch_port", "c0", "up=true", "enabled=yes", "options:k=a,b"],
    ["show"],
    ["show", "sw0"],
    ["show", "nosuch"],
    ["ls-list"],
    ["lsp-list", "sw0"],
    ["lsp-list", "nosw"],
    ["lsp-get-addresses", "vm1", "--", "lsp-get-addresses", "c1"],
    ["lsp-get-port-security", "vm1"],
    ["lsp-get-up", "vm1", "--", "lsp-get-up", "c0"],
    ["lsp-get-enabled", "c1", "--", "lsp-get-enabled", "vm1", "--", "lsp-get-enabled", "c0"],
    ["lsp-get-tag", "vm1", "--", "lsp-get-tag", "c1"],
    ["lsp-get-parent", "c1", "--", "lsp-get-parent", "vm1"],
    ["lsp-get-type", "l1", "--", "lsp-get-type", "vm1"],
    ["lsp-get-options", "l1"],
    ["lsp-get-ls", "c1"],
    ["lsp-get-up", "nope"],
    ["--oneline", "lsp-list", "sw0", "--", "--may-exist", "ls-add", "sw0", "--", "ls-list"],
    ["--oneline", "lsp-get-type", "vm1", "--", "lsp-get-options", "l1"],
    ["list", "logical_switch_port"],
    ["list", "logical_switch", "sw0", "net0"],
    ["list", "nb_global"],
    ["list", "nb_global", "."],
    ["--if-exists", "list", "logical_switch", "nope"],
    ["list", "logical_switch", "nope"],
    ["list", "ls"],
    ["--columns=name,tag_request,parent_name", "find", "logical_switch_port", "tag_request>=5"],
    ["--columns=name", "find", "logical_switch_port", "addresses{>=}dynamic"],
    ["--columns=name", "find", "logical_switch_port", 'type!=""'],
    ["--columns=name", "find", "logical_switch_port", "options:k=a,b"],
    ["--bare", "--columns=name,addresses", "find", "logical_switch_port", "name=vm1"],
    ["-f", "table", "--columns=name,parent_name,tag_request", "list", "logical_switch_port"],
    ["-f", "csv", "--columns=name,tag", "find", "logical_switch_port", "name=vm1"],
    [
        "-f",
        "table",
        "--no-headings",
        "--columns=name,tag",
        "find",
        "logical_switch_port",
        "name=vm1",
    ],
    ["-f", "csv", "--no-headings", "--columns=name,tag", "find", "logical_switch_port", "name=vm1"],
    ["--columns=name", "find", "logical_switch_port", "tag_request{>}[]"],
    ["--columns=name", "find", "logical_switch", "external_ids:neutron\\:network_name!=x"],
    ["-f", "json", "--columns=name,addresses", "find", "logical_switch_port", "name=vm1"],
    ["--data=bare", "--columns=name,external_ids", "list", "logical_switch", "sw0"],
    ["get", "logical_switch_port", "vm1", "addresses", "external_ids", "tag"],
    ["get", "logical_switch_port", "l1", "options:router-port"],
    ["get", "logical_switch_port", "l1", "options:nokey"],
    ["--if-exists", "get", "logical_switch_port", "l1", "options:nokey"],
    ["get", "nb_global", ".", "nb_cfg", "sb_cfg"],
    ["add", "logical_switch", "sw1", "external_ids", "a=1", "b=2"],
    ["add", "logical_switch", "sw1", "external_ids", "a=9"],
    ["remove", "logical_switch", "sw1", "external_ids", "a", "b=3"],
    ["get", "logical_switch", "sw1", "external_ids"],
    ["clear", "logical_switch", "sw1", "external_ids"],
    ["clear", "logical_switch_port", "c1", "name"],
    [
        "--id=@p",
        "create",
        "logical_switch_port",
        "name=cp",
        "tag_request=7",
        "--",
        "add",
        "logical_switch",
        "sw1",
        "ports",
        "@p",
    ],
    ["--id=@q", "create", "logical_switch_port", "name=cq"],
    ["lsp-list", "sw1"],
    ["destroy", "logical_switch_port", "cp"],
    ["lsp-list", "sw1"],
    ["lsp-del", "c1"],
    ["lsp-del", "nope"],
    ["--if-exists", "lsp-del", "nope"],
    ["ls-del", "nope"],
    ["--if-exists", "ls-del", "nope"],
    ["ls-add", "a1", "--", "lsp-add", "nosuch", "p"],
    ["ls-list"],
    # (pyovn's ls-del also drops the ports from its view at once, so unlike ovn-nbctl it
    # lets a later command of the same chain reuse their names; not compared here)
    ["ls-del", "sw1"],
    ["ls-add", "sw1", "--", "lsp-add", "sw1", "cp"],
    ["lsp-list", "sw1"],
    ["ls-add"],
    ["--add-duplicate", "ls-add", "sw0"],
    ["lsp-add", "sw0", "x"],
    ["ls-del", "sw0"],
    ["list", "logical_switch", "sw0"],
    ["bogus"],
    ["--if-exists", "ls-list"],
    ["ls-add", "a", "b"],
    ["lsp-add"],
]


@pytest.fixture(params=["debian-server", "pyovn-server"])
def server_pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    servers = [real_db_server(tmp_path, "nb", "ref")]
    try:
        if request.param == "debian-server":
            servers.append(real_db_server(tmp_path, "nb", "mine"))
        else:
            servers.append(start_pyovn_server(tmp_path, "nb", name="mine"))
        yield servers[0].remote, servers[1].remote
    finally:
        for server in servers:
            server.kill(signal.SIGTERM)


def test_same_commands_same_results(server_pair: tuple[str, str]) -> None:
    ref_remote, mine_remote = server_pair
    for args in SCENARIO:
        ref = real_tool("ovn-nbctl", ref_remote, args)
        mine = pyovn_inproc(pyovn_nbctl.main, mine_remote, args)
        assert mine.ok == ref.ok, (args, ref, mine)
        assert normalize_err(mine.err) == normalize_err(ref.err), (args, ref.err, mine.err)
        assert normalize(args, mine.out) == normalize(args, ref.out), (args, ref.out, mine.out)
    assert canonical_dump(mine_remote, "OVN_Northbound") == canonical_dump(
        ref_remote, "OVN_Northbound"
    )


# ---------------------------------------------------------------------------- with ovn-northd


class Cluster:
    """Debian's ovsdb-server for NB and SB, and ovn-northd between them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.nb = real_db_server(workdir, "nb", "nb")
        self.sb = real_db_server(workdir, "sb", "sb")
        self.northd: subprocess.Popen[bytes] | None = None
        self.n_started = 0

    def start_northd(self) -> None:
        self.n_started += 1
        ctl = self.workdir / f"northd{self.n_started}.ctl"
        self.northd = subprocess.Popen(
            [
                "ovn-northd",
                "--no-chdir",
                f"--ovnnb-db={self.nb.remote}",
                f"--ovnsb-db={self.sb.remote}",
                f"--unixctl={ctl}",
                f"--log-file={self.workdir / 'northd.log'}",
                "-vconsole:off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.workdir,
        )
        deadline = time.monotonic() + 30
        while not ctl.exists():
            assert self.northd.poll() is None, "ovn-northd exited"
            assert time.monotonic() < deadline, "ovn-northd did not start"
            time.sleep(0.05)

    def stop_northd(self) -> None:
        northd, self.northd = self.northd, None
        if northd is not None and northd.poll() is None:
            northd.terminate()
            try:
                northd.wait(10)
            except subprocess.TimeoutExpired:
                northd.kill()
                northd.wait(10)

    def close(self) -> None:
        try:
            self.stop_northd()
        finally:
            self.sb.kill(signal.SIGTERM)
            self.nb.kill(signal.SIGTERM)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path)
    try:
        cluster.start_northd()
        yield cluster
    finally:
        cluster.close()


def nbctl_ok(remote: str, *args: str) -> str:
    proc = pyovn_cli("nbctl", remote, *args)
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout


def test_northd_assigns_tag_and_wait_sb(cluster: Cluster) -> None:
    nb = cluster.nb.remote
    nbctl_ok(
        nb,
        "--wait=sb",
        "ls-add",
        "c1sw",
        "--",
        "lsp-add",
        "c1sw",
        "vm1",
        "--",
        "lsp-add",
        "c1sw",
        "c1",
        "vm1",
        "0",
        "--",
        "lsp-add",
        "c1sw",
        "c2",
        "vm1",
        "7",
    )
    # --wait=sb returned, so northd has processed the change, tags included
    tag = nbctl_ok(nb, "lsp-get-tag", "c1")
    assert re.fullmatch(r"[0-9]+\n", tag) and 1 <= int(tag) <= 4095
    assert tag == real_tool("ovn-nbctl", nb, ["lsp-get-tag", "c1"]).out
    assert nbctl_ok(nb, "lsp-get-tag", "c2") == "7\n"
    got = nbctl_ok(nb, "get", "nb_global", ".", "nb_cfg", "sb_cfg").split()
    assert got[0] == got[1] != "0"
    assert normalize_show(nbctl_ok(nb, "show")) == normalize_show(
        real_tool("ovn-nbctl", nb, ["show"]).out
    )
    binding = real_tool(
        "ovn-sbctl",
        cluster.sb.remote,
        ["--bare", "--columns=tag,parent_port", "find", "port_binding", "logical_port=c1"],
    ).out
    assert binding == f"{int(tag)}\nvm1\n"


def test_wait_sb_blocks_until_northd_catches_up(cluster: Cluster) -> None:
    nb, sb = cluster.nb.remote, cluster.sb.remote
    nbctl_ok(nb, "--wait=sb", "ls-add", "sw0")
    cluster.stop_northd()
    waiter = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyovn.cli.main",
            "nbctl",
            f"--db={nb}",
            "--wait=sb",
            "lsp-add",
            "sw0",
            "late",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_without_pyovn_logs(),
    )
    try:
        time.sleep(3)
        assert waiter.poll() is None, "returned while ovn-northd was not running"
        assert nbctl_ok(nb, "lsp-list", "sw0") != ""  # committed, now waiting
        found = real_tool(
            "ovn-sbctl",
            sb,
            ["--bare", "--columns=logical_port", "find", "port_binding", "logical_port=late"],
        ).out
        assert found == ""
        cluster.start_northd()
        assert waiter.wait(60) == 0, waiter.stderr.read() if waiter.stderr else ""
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
    found = real_tool(
        "ovn-sbctl",
        sb,
        ["--bare", "--columns=logical_port", "find", "port_binding", "logical_port=late"],
    ).out
    assert found == "late\n"


def test_sbctl_matches_ovn_sbctl(cluster: Cluster) -> None:
    nb, sb = cluster.nb.remote, cluster.sb.remote
    nbctl_ok(
        nb,
        "ls-add",
        "sw0",
        "--",
        "lsp-add",
        "sw0",
        "vm1",
        "--",
        "lsp-set-addresses",
        "vm1",
        "00:00:00:00:00:01 10.0.0.1",
        "--",
        "lsp-add",
        "sw0",
        "c1",
        "vm1",
        "0",
        "--",
        "ls-add",
        "sw1",
        "--",
        "set",
        "logical_switch",
        "sw1",
        'external_ids:"neutron:network_name"=net1',
        "--",
        "lsp-add",
        "sw1",
        "vm2",
        "--",
        "lsp-set-port-security",
        "vm2",
        "00:00:00:00:00:02",
    )
    for args in (
        ["chassis-add", "ch1", "geneve", "192.168.0.1"],
        ["chassis-add", "ch2", "geneve,vxlan", "192.168.0.2"],
        ["set", "chassis", "ch1", "hostname=host1"],
    ):
        assert real_tool("ovn-sbctl", sb, args).ok
    nbctl_ok(nb, "--wait=sb", "sync")
    for args in (["lsp-bind", "vm1", "ch1"], ["lsp-bind", "c1", "ch1"], ["lsp-bind", "vm2", "ch2"]):
        mine = pyovn_inproc(pyovn_sbctl.main, sb, args)
        assert mine.ok, mine
    nbctl_ok(nb, "--wait=sb", "sync")
    for args, how in (
        (["lflow-list"], mask),
        (["lflow-list", "sw0"], mask),
        (["lflow-list", "net1"], mask),
        (["--uuid", "lflow-list", "sw1"], mask),
        (["dump-flows", "sw1"], mask),
        (["count-flows"], mask),
        (["count-flows", "sw0"], mask),
        (["show"], normalize_show),
        (["list", "chassis"], normalize_records),
        (["list", "port_binding", "c1"], normalize_records),
        (
            ["--columns=logical_port,tag", "find", "port_binding", "parent_port=vm1"],
            normalize_records,
        ),
        (["get", "datapath_binding", "sw0", "external_ids"], mask),
        (["lflow-list", "nosuch"], mask),
    ):
        ref = real_tool("ovn-sbctl", sb, args)
        mine = pyovn_inproc(pyovn_sbctl.main, sb, args)
        assert mine.ok == ref.ok, (args, ref, mine)
        assert normalize_err(mine.err) == normalize_err(ref.err), (args, ref.err, mine.err)
        assert how(mine.out) == how(ref.out), args
    # byte for byte where ovn-sbctl's order is deterministic
    assert (
        pyovn_cli("sbctl", sb, "lflow-list").stdout
        == real_tool("ovn-sbctl", sb, ["lflow-list"]).out
    )
    # northd reports the bindings back to the Northbound side
    assert (
        nbctl_ok(nb, "lsp-get-up", "vm1") == real_tool("ovn-nbctl", nb, ["lsp-get-up", "vm1"]).out
    )
