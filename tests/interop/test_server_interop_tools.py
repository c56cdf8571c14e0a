"""Open vSwitch and OVN clients against ``pyovn ovsdb-server`` (a subprocess, unix sockets):
Debian's ovsdb-client, ovn-nbctl and ovn-sbctl, the ``ovs`` Python IDL and ovsdbapp; and
``pyovn ovsdb-client`` against Debian's ovsdb-server."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyovn.schemas import schema_path
from tests.support.servers import ServerProcess, have, real_server, start_pyovn_server

pytestmark = pytest.mark.interop

NB = "OVN_Northbound"
TIMEOUT = 60


def needs(*tools: str) -> pytest.MarkDecorator:
    missing = [t for t in tools if not have(t)]
    return pytest.mark.skipif(
        bool(missing), reason=f"{', '.join(missing)} not installed (apt install ovn-common)"
    )


@pytest.fixture
def nb(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_pyovn_server(tmp_path, "nb", name="nb", extra=["--remote=ptcp:0:127.0.0.1"])
    try:
        yield server
    finally:
        server.kill(signal.SIGTERM)


@pytest.fixture
def sb(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_pyovn_server(tmp_path, "sb", name="sb")
    try:
        yield server
    finally:
        server.kill(signal.SIGTERM)


def run(*cmd: str, check: bool = True) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr}")
    return proc.stdout


@contextlib.contextmanager
def spawn(*cmd: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def read_until(proc: subprocess.Popen[bytes], needle: str, timeout: float = TIMEOUT) -> str:
    """``proc``'s output so far, once it contains ``needle`` (unbuffered reads)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    out = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in out:
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} never appeared; got {out.decode()!r}")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            data = os.read(fd, 65536)
            if not data:
                raise AssertionError(f"{needle!r} never appeared before EOF; got {out!r}")
            out += data
    return out.decode()


# ------------------------------------------------------------------ Debian's ovsdb-client


@needs("ovsdb-client")
def test_ovsdb_client_against_pyovn(nb: ServerProcess) -> None:
    remote = nb.remote
    assert run("ovsdb-client", "list-dbs", remote).split() == [NB, "_Server"]
    schema = json.loads(run("ovsdb-client", "get-schema", remote, NB))
    want = json.loads(schema_path("nb").read_text())
    assert schema["name"] == NB and schema["version"] == want["version"]
    assert set(schema["tables"]) == set(want["tables"])
    assert run("ovsdb-client", "get-schema-version", remote, NB).strip() == want["version"]
    assert "Logical_Switch_Port" in run("ovsdb-client", "list-tables", remote, NB)

    txn = [NB, {"op": "insert", "table": "Logical_Switch", "row": {"name": "sw0"}}]
    (result,) = json.loads(run("ovsdb-client", "transact", remote, json.dumps(txn)))
    assert result["uuid"][0] == "uuid"
    dump = run("ovsdb-client", "dump", remote, NB, "Logical_Switch", "name")
    assert "sw0" in dump

    with spawn(
        "ovsdb-client", "--format=csv", "monitor", remote, NB, "Logical_Switch", "name"
    ) as mon:
        read_until(mon, "initial,sw0")
        txn = [NB, {"op": "insert", "table": "Logical_Switch", "row": {"name": "live"}}]
        run("ovsdb-client", "transact", remote, json.dumps(txn))
        read_until(mon, "insert,live")
        txn = [NB, {"op": "delete", "table": "Logical_Switch", "where": [["name", "==", "live"]]}]
        run("ovsdb-client", "transact", remote, json.dumps(txn))
        read_until(mon, "delete,live")

    where = json.dumps([["name", "==", "x"]])
    with spawn(
        "ovsdb-client", "--format=json", "monitor-cond", remote, NB, where, "Logical_Switch", "name"
    ) as mon:
        for name in ("y", "x"):
            txn = [NB, {"op": "insert", "table": "Logical_Switch", "row": {"name": name}}]
            run("ovsdb-client", "transact", remote, json.dumps(txn))
        out = read_until(mon, '"x"')
        assert '"y"' not in out

    with spawn(
        "ovsdb-client",
        "--format=csv",
        "monitor-cond-since",
        remote,
        NB,
        "[true]",
        "Logical_Switch",
        "name",
    ) as mon:
        read_until(mon, "sw0")
        txn = [NB, {"op": "insert", "table": "Logical_Switch", "row": {"name": "since"}}]
        run("ovsdb-client", "transact", remote, json.dumps(txn))
        read_until(mon, "since")


@needs("ovsdb-client")
def test_ovsdb_client_over_tcp(nb: ServerProcess, tmp_path: Path) -> None:
    port = tcp_port(nb)
    assert NB in run("ovsdb-client", "list-dbs", f"tcp:127.0.0.1:{port}").split()


def tcp_port(server: ServerProcess) -> int:
    out = run("ovs-appctl", "-t", str(server.ctl), "ovsdb-server/list-remotes", check=False)
    for line in out.splitlines():
        if line.startswith("ptcp:") and not line.startswith("ptcp:0:"):
            return int(line.split(":")[1])
    # pyovn's unixctl may not list remotes: read the listening port from /proc
    return _listening_port(server.pid)


def _listening_port(pid: int) -> int:
    import os

    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                return int(fields[1].split(":")[1], 16)
    raise AssertionError("no listening TCP socket")


# ------------------------------------------------------------------ ovn-nbctl / ovn-sbctl


@needs("ovn-nbctl")
def test_ovn_nbctl_against_pyovn(nb: ServerProcess) -> None:
    def nbctl(*args: str) -> str:
        return run("ovn-nbctl", f"--db={nb.remote}", *args)

    nbctl("ls-add", "sw0")
    nbctl("lsp-add", "sw0", "vm1")
    nbctl("lsp-add", "sw0", "c1", "vm1", "42")  # a container port: parent and tag
    nbctl("lsp-set-addresses", "vm1", "00:00:00:00:00:01 10.0.0.1")
    nbctl("lsp-set-addresses", "c1", "00:00:00:00:00:02 10.0.0.2")
    # the tag is northd's to assign from tag_request; set it as northd would
    nbctl("set", "Logical_Switch_Port", "c1", "tag=42")
    assert nbctl("lsp-get-tag", "c1").strip() == "42"
    assert nbctl("lsp-get-parent", "c1").strip() == "vm1"
    assert nbctl("lsp-get-addresses", "vm1").strip() == "00:00:00:00:00:01 10.0.0.1"
    show = nbctl("show")
    assert "switch" in show and "(sw0)" in show
    assert "port c1" in show and "parent: vm1" in show and "tag: 42" in show
    assert '"00:00:00:00:00:01 10.0.0.1"' in show
    listed = nbctl(
        "--columns=name,parent_name,tag_request,tag", "list", "Logical_Switch_Port", "c1"
    )
    assert "tag_request         : 42" in listed and "parent_name         : vm1" in listed
    names = nbctl("--bare", "--columns=name", "find", "Logical_Switch_Port", "parent_name=vm1")
    assert names.split() == ["c1"]
    # destroy (a root row), lsp-del, ls-del
    nbctl("ls-add", "tmp")
    nbctl("destroy", "Logical_Switch", "tmp")
    assert "tmp" not in nbctl("ls-list")
    nbctl("lsp-del", "c1")
    assert nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port").split() == ["vm1"]
    nbctl("ls-del", "sw0")
    assert nbctl("show").strip() == ""
    assert nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port").strip() == ""
    # errors come back as errors
    proc = subprocess.run(
        ["ovn-nbctl", f"--db={nb.remote}", "lsp-add", "nope", "p"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode != 0 and "nope" in proc.stderr


@needs("ovn-nbctl")
def test_ovn_nbctl_over_tcp(nb: ServerProcess) -> None:
    remote = f"tcp:127.0.0.1:{tcp_port(nb)}"
    run("ovn-nbctl", f"--db={remote}", "ls-add", "overtcp")
    assert "overtcp" in run("ovn-nbctl", f"--db={remote}", "ls-list")


@needs("ovn-sbctl", "ovsdb-client")
def test_ovn_sbctl_against_pyovn(sb: ServerProcess) -> None:
    def sbctl(*args: str) -> str:
        return run("ovn-sbctl", f"--db={sb.remote}", *args)

    assert sbctl("show").strip() == ""
    sbctl("chassis-add", "ch1", "geneve", "192.168.0.1")
    txn = [
        "OVN_Southbound",
        {
            "op": "insert",
            "table": "Encap",
            "uuid-name": "e",
            "row": {"type": "vxlan", "ip": "192.168.0.2", "chassis_name": "ch2"},
        },
        {
            "op": "insert",
            "table": "Chassis",
            "row": {
                "name": "ch2",
                "hostname": "host2",
                "encaps": ["named-uuid", "e"],
                "external_ids": ["map", [["k", "v"]]],
            },
        },
    ]
    run("ovsdb-client", "transact", sb.remote, json.dumps(txn))
    show = sbctl("show")
    assert "Chassis ch1" in show and "Chassis ch2" in show
    assert "geneve" in show and '"192.168.0.1"' in show and "vxlan" in show
    listed = sbctl("list", "Chassis")
    assert "ch1" in listed and "host2" in listed and "{k=v}" in listed
    assert sbctl("--bare", "--columns=hostname", "find", "Chassis", "name=ch2").strip() == "host2"
    sbctl("chassis-del", "ch1")
    assert "ch1" not in sbctl("show")


# ------------------------------------------------------------------ the ovs Python IDL


def test_ovs_python_idl_against_pyovn(nb: ServerProcess) -> None:
    ovs_idl = pytest.importorskip("ovs.db.idl", reason="the ovs Python package is not installed")
    import ovs.poller

    helper = ovs_idl.SchemaHelper(location=str(schema_path("nb")))
    helper.register_all()
    idl = ovs_idl.Idl(nb.remote, helper)
    try:

        def run_until(predicate: Any, what: str) -> None:
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                idl.run()
                if predicate():
                    return
                poller = ovs.poller.Poller()
                idl.wait(poller)
                poller.timer_wait(100)
                poller.block()
            raise AssertionError(f"IDL never saw {what}")

        run_until(lambda: idl.has_ever_connected(), "a connection")

        txn = ovs_idl.Transaction(idl)
        sw = txn.insert(idl.tables["Logical_Switch"])
        sw.name = "from-idl"
        sw.external_ids = {"by": "ovs.db.idl"}
        status = txn.commit_block()
        assert status == ovs_idl.Transaction.SUCCESS, txn.get_error()

        def names() -> set[str]:
            return {r.name for r in idl.tables["Logical_Switch"].rows.values()}

        assert "from-idl" in names()
        # another client's change reaches the IDL
        other = [NB, {"op": "insert", "table": "Logical_Switch", "row": {"name": "from-other"}}]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pyovn.cli.main",
                "ovsdb-client",
                "transact",
                nb.remote,
                json.dumps(other),
            ],
            check=True,
            capture_output=True,
            timeout=TIMEOUT,
        )
        run_until(lambda: "from-other" in names(), "the other client's row")
        # a modification through the IDL (a verify + update, as the IDL does)
        row = next(r for r in idl.tables["Logical_Switch"].rows.values() if r.name == "from-other")
        txn = ovs_idl.Transaction(idl)
        row.verify("external_ids")
        row.external_ids = {"seen": "yes"}
        assert txn.commit_block() == ovs_idl.Transaction.SUCCESS, txn.get_error()
        dump = run_pyovn_client("dump", nb.remote, NB, "Logical_Switch", "name", "external_ids")
        assert "seen" in dump and "from-idl" in dump
    finally:
        idl.close()


def run_pyovn_client(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "pyovn.cli.main", "ovsdb-client", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# ------------------------------------------------------------------ ovsdbapp


def test_ovsdbapp_nb_api_against_pyovn(nb: ServerProcess) -> None:
    pytest.importorskip("ovsdbapp", reason="ovsdbapp is not installed")
    from ovsdbapp.backend.ovs_idl import connection, idlutils
    from ovsdbapp.schema.ovn_northbound import impl_idl

    helper = idlutils.get_schema_helper(nb.remote, NB)
    helper.register_all()
    idl = connection.OvsdbIdl(nb.remote, helper)
    conn = connection.Connection(idl, timeout=TIMEOUT)
    api = impl_idl.OvnNbApiIdlImpl(conn)
    try:
        api.ls_add("sw0").execute(check_error=True)
        api.lsp_add("sw0", "vm1", addresses=["00:00:00:00:00:01 10.0.0.1"]).execute(
            check_error=True
        )
        api.lsp_add("sw0", "c1", parent_name="vm1", tag=42).execute(check_error=True)
        (found,) = api.db_find(
            "Logical_Switch_Port",
            ("name", "=", "c1"),
            columns=["name", "parent_name", "tag_request"],
        ).execute(check_error=True)
        # ovsdbapp gives optional columns as lists or, in newer versions, as scalars
        assert found["parent_name"] in ("vm1", ["vm1"])
        assert found["tag_request"] in (42, [42])
        ports = api.db_find("Logical_Switch_Port", ("parent_name", "=", "vm1")).execute(
            check_error=True
        )
        assert [p["name"] for p in ports] == ["c1"]
        with api.transaction(check_error=True) as txn:
            txn.add(api.ls_add("sw1"))
            txn.add(api.lsp_add("sw1", "p1"))
        switches = {s.name for s in api.ls_list().execute(check_error=True)}
        assert switches == {"sw0", "sw1"}
        api.ls_del("sw1").execute(check_error=True)
        dump = run_pyovn_client("dump", nb.remote, NB, "Logical_Switch_Port", "name", "tag_request")
        assert "c1" in dump and "42" in dump and "p1" not in dump
    finally:
        conn.stop(timeout=10)


# ------------------------------------------------------------------ pyovn ovsdb-client vs real


@needs("ovsdb-server", "ovsdb-tool")
def test_pyovn_ovsdb_client_against_real_server(tmp_path: Path) -> None:
    with real_server(tmp_path, "nb") as server:
        remote = server.remote
        assert run_pyovn_client("list-dbs", remote).split() == [NB, "_Server"]
        schema = json.loads(run_pyovn_client("get-schema", remote, NB))
        assert schema["name"] == NB
        txn = [NB, {"op": "insert", "table": "Logical_Switch", "row": {"name": "sw0"}}]
        (result,) = json.loads(run_pyovn_client("transact", remote, json.dumps(txn)))
        assert result["uuid"][0] == "uuid"
        assert "sw0" in run_pyovn_client("dump", remote, NB, "Logical_Switch", "name")
        query = [NB, {"op": "select", "table": "Logical_Switch", "where": [], "columns": ["name"]}]
        assert json.loads(run_pyovn_client("query", remote, json.dumps(query))) == [
            {"rows": [{"name": "sw0"}]}
        ]
        with spawn(
            sys.executable,
            "-m",
            "pyovn.cli.main",
            "ovsdb-client",
            "--format=csv",
            "monitor",
            remote,
            NB,
            "Logical_Switch",
            "name",
        ) as mon:
            read_until(mon, "sw0")
            txn = [NB, {"op": "insert", "table": "Logical_Switch", "row": {"name": "live"}}]
            run("ovsdb-client", "transact", remote, json.dumps(txn))
            read_until(mon, "live")


@needs("ovsdb-server", "ovsdb-tool", "ovsdb-client")
def test_pyovn_ovsdb_client_dump_matches_ovsdb_client(tmp_path: Path) -> None:
    """Values print as Open vSwitch's ovsdb-client prints them: bare and quoted strings,
    sets, maps, integers, booleans and optional columns."""
    rows = [
        {
            "name": "sw-1.a_b",
            "external_ids": ["map", [["k", "v w"], ["true", "1"], ["a=b", ""]]],
            "other_config": ["map", [["mcast_snoop", "true"]]],
            "ports": ["named-uuid", "p1"],
        },
        {"name": "with space \u00e9", "external_ids": ["map", []]},
        {"name": "true"},
        {"name": "123abc"},
    ]
    ops: list[Any] = [{"op": "insert", "table": "Logical_Switch", "row": r} for r in rows]
    ops.append(
        {
            "op": "insert",
            "table": "Logical_Switch_Port",
            "uuid-name": "p1",
            "row": {
                "name": "p1",
                "addresses": ["set", ["00:00:00:00:00:01 10.0.0.1", "router"]],
                "tag_request": 7,
                "enabled": False,
                "port_security": ["set", []],
            },
        }
    )
    with real_server(tmp_path, "nb") as server:
        remote = server.remote
        (first, *_) = json.loads(run("ovsdb-client", "transact", remote, json.dumps([NB, *ops])))
        assert "uuid" in first
        for table, cols in (
            ("Logical_Switch", ["name", "external_ids", "other_config"]),
            ("Logical_Switch_Port", ["name", "addresses", "tag_request", "enabled", "tag"]),
            ("Logical_Switch_Port", []),
        ):
            want = run("ovsdb-client", "dump", remote, NB, table, *cols)
            got = run_pyovn_client("dump", remote, NB, table, *cols)
            assert "p1" in want if table == "Logical_Switch_Port" else "sw-1.a_b" in want
            assert got == want, f"{got}\n---- ovsdb-client:\n{want}"
