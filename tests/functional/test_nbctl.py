"""`pyovn nbctl` as a subprocess against `pyovn ovsdb-server` in a temporary directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ServerProcess, env_without_pyovn_logs, pyovn_server

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def nb(tmp_path: Path) -> Iterator[ServerProcess]:
    with pyovn_server(tmp_path, "nb", name="nb") as server:
        yield server


def command(server: ServerProcess, *args: str) -> list[str]:
    return [sys.executable, "-m", "pyovn.cli.main", "nbctl", f"--db={server.remote}", *args]


def run(server: ServerProcess, *args: str, rc: int = 0) -> str:
    proc = subprocess.run(
        command(server, *args),
        capture_output=True,
        text=True,
        timeout=60,
        env=env_without_pyovn_logs(),
    )
    assert proc.returncode == rc, (args, proc.stdout, proc.stderr)
    return proc.stdout if rc == 0 else proc.stderr


def masked(text: str) -> str:
    return UUID_RE.sub("<uuid>", text)


def test_switches_ports_and_show(nb: ServerProcess) -> None:
    run(
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
        "dynamic",
        "--",
        "lsp-add",
        "sw0",
        "c1",
        "vm1",
        "5",
        "--",
        "ls-add",
        "sw1",
    )
    run(nb, "set", "logical_switch_port", "vm1", "tag=3", 'external_ids:"neutron:port_name"=vmp')
    show = run(nb, "show")
    blocks = masked(show).split("switch ")[1:]
    assert blocks[0].startswith("<uuid> (sw0)\n") and blocks[1] == "<uuid> (sw1)\n"
    ports = sorted(blocks[0].split("    port ")[1:])
    assert ports == [
        "c1\n        parent: vm1\n",
        'vm1 (aka vmp)\n        tag: 3\n        addresses: ["00:00:00:00:00:01 10.0.0.1", '
        '"dynamic"]\n',
    ]
    assert masked(run(nb, "lsp-list", "sw0")) == "<uuid> (c1)\n<uuid> (vm1)\n"
    assert masked(run(nb, "ls-list")) == "<uuid> (sw0)\n<uuid> (sw1)\n"
    assert (
        run(
            nb,
            "lsp-get-parent",
            "c1",
            "--",
            "lsp-get-tag",
            "c1",
            "--",
            "lsp-get-tag",
            "vm1",
            "--",
            "lsp-get-up",
            "c1",
        )
        == "vm1\n3\ndown\n"
    )
    run(nb, "lsp-del", "c1", "--", "ls-del", "sw1")
    assert masked(run(nb, "ls-list", "--", "lsp-list", "sw0")) == ("<uuid> (sw0)\n<uuid> (vm1)\n")
    # the deleted port's row is gone, not just unreferenced
    assert run(nb, "--bare", "--columns=name", "list", "logical_switch_port") == "vm1\n"


def test_errors_and_exit_codes(nb: ServerProcess) -> None:
    run(nb, "ls-add", "sw0", "--", "lsp-add", "sw0", "vm1")
    assert run(nb, "ls-add", "sw0", rc=1) == (
        "ovn-nbctl: sw0: a switch with this name already exists\n"
    )
    assert run(nb, "lsp-add", "sw0", "vm1", rc=1) == (
        "ovn-nbctl: vm1: a port with this name already exists\n"
    )
    assert "invalid tag" in run(nb, "lsp-add", "sw0", "c1", "vm1", "4096", rc=1)
    assert "must also specify a tag" in run(nb, "lsp-add", "sw0", "c1", "vm1", rc=1)
    assert "unknown command 'bogus'" in run(nb, "bogus", rc=2)
    assert "takes at most 1 arguments" in run(nb, "ls-add", "a", "b", rc=2)
    run(nb, "--add-duplicate", "ls-add", "sw0")
    assert run(nb, "lsp-add", "sw0", "x", rc=1) == (
        "ovn-nbctl: Multiple logical switches named 'sw0'.  Use a UUID.\n"
    )


def test_failed_chain_changes_nothing(nb: ServerProcess) -> None:
    run(nb, "ls-add", "a", "--", "lsp-add", "nosuch", "p", rc=1)
    run(nb, "ls-add", "b", "--", "set", "logical_switch", "b", "other_config=x:y", rc=1)
    assert run(nb, "ls-list") == ""


def test_generic_database_commands(nb: ServerProcess) -> None:
    run(nb, "ls-add", "sw0")
    uuid = run(
        nb,
        "--id=@p",
        "create",
        "logical_switch_port",
        "name=cp",
        "tag_request=7",
        "--",
        "add",
        "logical_switch",
        "sw0",
        "ports",
        "@p",
    ).strip()
    assert UUID_RE.fullmatch(uuid)
    assert run(nb, "get", "logical_switch_port", uuid[:8], "name", "_uuid") == f"cp\n{uuid}\n"
    run(nb, "set", "logical_switch", "sw0", "external_ids:a=1", "other_config={x=y,z=w}")
    run(nb, "add", "logical_switch", "sw0", "external_ids", "b=2", "a=9")
    run(nb, "remove", "logical_switch", "sw0", "other_config", "x")
    assert run(nb, "get", "logical_switch", "sw0", "external_ids", "other_config") == (
        '{a="1", b="2"}\n{z=w}\n'
    )
    assert (
        run(nb, "--columns=name,tag_request", "find", "logical_switch_port", "tag_request>=5")
        == "name                : cp\ntag_request         : 7\n"
    )
    run(nb, "clear", "logical_switch", "sw0", "external_ids")
    assert run(nb, "get", "logical_switch", "sw0", "external_ids") == "{}\n"
    assert run(nb, "--bare", "--columns=nb_cfg", "list", "nb_global") == "0\n"
    run(nb, "destroy", "logical_switch", "sw0")
    assert run(nb, "ls-list", "--", "list", "logical_switch_port") == ""
    assert 'no row "sw0"' in run(nb, "destroy", "logical_switch", "sw0", rc=1)
    run(nb, "--if-exists", "destroy", "logical_switch", "sw0")


def test_db_from_environment_and_connection_errors(nb: ServerProcess, tmp_path: Path) -> None:
    env = {**env_without_pyovn_logs(), "OVN_NB_DB": nb.remote}
    cmd = [sys.executable, "-m", "pyovn.cli.main", "nbctl", "ls-add", "envsw"]
    subprocess.run(cmd, check=True, env=env, timeout=60)
    assert "envsw" in run(nb, "ls-list")
    missing = f"unix:{tmp_path}/nope.sock"
    proc = subprocess.run(
        [sys.executable, "-m", "pyovn.cli.main", "nbctl", f"--db={missing}", "ls-list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        f"ovn-nbctl: {missing}: database connection failed (No such file or directory)\n"
    )


def test_wait_sb_waits_for_sb_cfg(nb: ServerProcess) -> None:
    """No northd here: the test plays northd by copying nb_cfg into sb_cfg."""
    run(nb, "init")
    waiter = subprocess.Popen(
        command(nb, "--wait=sb", "ls-add", "sw0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_without_pyovn_logs(),
    )
    try:
        deadline = time.monotonic() + 30
        while run(nb, "get", "nb_global", ".", "nb_cfg").strip() != "1":
            assert time.monotonic() < deadline and waiter.poll() is None
            time.sleep(0.1)
        time.sleep(0.5)
        assert waiter.poll() is None, "returned before sb_cfg caught up"
        run(nb, "set", "nb_global", ".", "sb_cfg=1")
        assert waiter.wait(30) == 0, waiter.stderr.read() if waiter.stderr else ""
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
    # nothing changes, nothing to wait for; sync forces a wait (here: give up after 1 s)
    run(nb, "--wait=sb", "ls-list")
    err = run(nb, "--wait=sb", "--timeout=1", "sync", rc=1)
    assert err == "ovn-nbctl: timed out after 1 seconds\n"
    assert run(nb, "get", "nb_global", ".", "nb_cfg") == "2\n"
    run(nb, "set", "nb_global", ".", "hv_cfg=2")
    run(nb, "--wait=hv", "--timeout=1", "lsp-add", "sw0", "p", rc=1)  # hv_cfg stays at 2
    assert run(nb, "lsp-list", "sw0") != ""  # the change itself was committed


def test_concurrent_invocations_are_safe(nb: ServerProcess) -> None:
    run(nb, "ls-add", "sw0")
    env = env_without_pyovn_logs()
    procs = [
        subprocess.Popen(
            command(nb, "lsp-add", "sw0", f"p{i}"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ] + [
        subprocess.Popen(
            command(nb, "ls-add", "dup"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [(p.wait(60), p.stderr.read() if p.stderr else "") for p in procs]
    assert [rc for rc, _ in results[:6]] == [0] * 6
    dup = results[6:]
    assert sorted(rc for rc, _ in dup) == [0, 1, 1, 1]
    assert all("a switch with this name already exists" in err for rc, err in dup if rc)
    assert len(run(nb, "lsp-list", "sw0").splitlines()) == 6
    assert len(run(nb, "ls-list").splitlines()) == 2


def test_oneline_and_formats(nb: ServerProcess) -> None:
    run(nb, "ls-add", "sw0", "--", "lsp-add", "sw0", "a", "--", "lsp-add", "sw0", "b")
    out = run(nb, "--oneline", "lsp-list", "sw0", "--", "ls-add", "x", "--", "lsp-get-type", "a")
    lines = out.split("\n")
    assert len(lines) == 4 and lines[3] == ""
    assert masked(lines[0]) == "<uuid> (a)\\n<uuid> (b)" and lines[1] == "" and lines[2] == ""
    table = run(nb, "-f", "table", "--columns=name", "find", "logical_switch", "name=sw0")
    assert table == "name\n----\nsw0\n"


def test_help(nb: ServerProcess) -> None:
    out = run(nb, "--help")
    assert "lsp-add SWITCH PORT [PARENT TAG_REQUEST]" in out
    assert os.linesep in out
