"""`pyovn ovsdb-tool` through its command line, in a temporary directory."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pyovn.ovsdb.server.logfile import read_log

TIMEOUT = 60


def tool(*args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pyovn.cli.main", "ovsdb-tool", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def transact(db: str, *ops: Any, name: str = "OVN_Northbound", verb: str = "transact") -> Any:
    return json.loads(tool(verb, db, json.dumps([name, *ops])).stdout)


@pytest.fixture
def nb(tmp_path: Path) -> str:
    path = str(tmp_path / "nb.db")
    tool("create", path, "nb")
    return path


def ls_add(db: str, name: str) -> str:
    (res,) = transact(db, {"op": "insert", "table": "Logical_Switch", "row": {"name": name}})
    uuid: str = res["uuid"][1]
    return uuid


def switch_names(db: str) -> list[str]:
    (res,) = transact(
        db,
        {"op": "select", "table": "Logical_Switch", "where": [], "columns": ["name"]},
        verb="query",
    )
    return sorted(r["name"] for r in res["rows"])


def test_create_and_schema_facts(nb: str, tmp_path: Path) -> None:
    assert tool("db-name", nb).stdout == "OVN_Northbound\n"
    assert tool("db-version", nb).stdout == "7.0.0\n"
    assert tool("db-cksum", nb).stdout == "\n"  # pyovn's schemas carry no cksum
    assert tool("schema-name", "sb").stdout == "OVN_Southbound\n"
    assert tool("schema-version", "vswitch").stdout == "8.3.1\n"
    tool("db-is-standalone", nb)
    tool("db-is-clustered", nb, check=2)
    assert oct(os.stat(nb).st_mode & 0o777) in ("0o640", "0o600", "0o644")
    err = tool("create", nb, "nb", check=1).stderr
    assert "create failed" in err
    schema = tmp_path / "s.ovsschema"
    schema.write_text(
        json.dumps(
            {
                "name": "Mine",
                "version": "1.2.3",
                "cksum": "12345 678",
                "tables": {"A": {"columns": {"x": {"type": "integer"}}}},
            }
        )
    )
    path = str(tmp_path / "mine.db")
    tool("create", path, str(schema))
    assert tool("db-cksum", path).stdout == "12345 678\n"
    assert tool("schema-cksum", str(schema)).stdout == "12345 678\n"


def test_transact_and_query(nb: str) -> None:
    uuid = ls_add(nb, "sw0")
    ls_add(nb, "sw1")
    assert switch_names(nb) == ["sw0", "sw1"]
    res = transact(
        nb,
        {
            "op": "update",
            "table": "Logical_Switch",
            "where": [["_uuid", "==", ["uuid", uuid]]],
            "row": {"other_config": ["map", [["a", "1"]]]},
        },
    )
    assert res == [{"count": 1}]
    # query prints what the transaction would do, and never writes
    size = os.path.getsize(nb)
    res = transact(nb, {"op": "delete", "table": "Logical_Switch", "where": []}, verb="query")
    assert res == [{"count": 2}]
    assert os.path.getsize(nb) == size
    assert switch_names(nb) == ["sw0", "sw1"]


def test_output_is_compact_with_sorted_keys(nb: str) -> None:
    out = tool(
        "transact",
        nb,
        json.dumps(["OVN_Northbound", {"op": "insert", "table": "Nope", "row": {}}]),
    ).stdout
    assert out == (
        '[{"details":"Parsing ovsdb operation 1 of 1 failed: No table named Nope.",'
        '"error":"syntax error","syntax":"{\\"op\\":\\"insert\\",\\"row\\":{},'
        '\\"table\\":\\"Nope\\"}"}]\n'
    )


def test_transaction_errors_are_results_not_failures(nb: str) -> None:
    out = tool("transact", nb, '["Wrong"]')
    assert json.loads(out.stdout) == {
        "details": "database name expected as first parameter",
        "error": "syntax error",
        "syntax": '["Wrong"]',
    }
    assert json.loads(tool("transact", nb, "{}").stdout)["details"] == "array expected"
    res = transact(
        nb,
        {"op": "select", "table": "Logical_Switch", "where": []},
        {"op": "wait", "table": "Logical_Switch", "where": [], "until": "==", "rows": [{}]},
        {"op": "comment", "comment": "x"},
    )
    assert res == [
        {"rows": []},
        {"details": "triggers not supported", "error": "not supported"},
        None,
    ]


def test_usage_and_failure_exit_codes(nb: str, tmp_path: Path) -> None:
    assert "usage" in tool("--help").stdout
    assert tool(check=2).stderr
    assert "unknown command" in tool("frobnicate", check=2).stderr
    assert "at most" in tool("db-name", nb, nb, check=2).stderr
    assert "at least" in tool("transact", nb, check=2).stderr
    assert tool("--bogus", "db-name", nb, check=2).stderr
    assert "open failed" in tool("db-name", str(tmp_path / "missing.db"), check=1).stderr
    assert tool("transact", nb, "[nope", check=1).stderr
    assert tool("transact", nb, '"OVN_Northbound"', check=1).stderr
    assert "not found" in tool("create", str(tmp_path / "x.db"), "nosuch", check=1).stderr


def test_show_log(nb: str) -> None:
    transact(
        nb,
        {"op": "insert", "table": "Logical_Switch", "row": {"name": "sw0"}},
        {"op": "comment", "comment": "first switch"},
    )
    transact(nb, {"op": "insert", "table": "Address_Set", "row": {"name": "as"}})
    transact(
        nb,
        {
            "op": "mutate",
            "table": "Logical_Switch",
            "where": [],
            "mutations": [["external_ids", "insert", ["map", [["k", "v"]]]]],
        },
    )
    transact(nb, {"op": "delete", "table": "Logical_Switch", "where": []})
    lines = tool("show-log", nb).stdout.splitlines()
    assert lines[0] == 'record 0: "OVN_Northbound" schema, version="7.0.0", cksum=""'
    assert lines[1] == ""
    date = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"
    assert re.fullmatch(rf'record 1: {date} "first switch"', lines[2])
    assert [re.fullmatch(rf"record \d: {date}", line) is not None for line in lines[3:]] == [
        True
    ] * 3
    more = tool("-m", "show-log", nb).stdout
    assert re.search(r'  table Logical_Switch insert row "sw0" \([0-9a-f]{8}\):\n', more)
    assert re.search(r'  table Logical_Switch row "sw0" \([0-9a-f]{8}\) diff:\n\n', more)
    assert re.search(r'row "sw0" \([0-9a-f]{8}\) diff:\n    delete row\n', more)
    mm = tool("-mm", "show-log", nb).stdout
    assert "    name=sw0\n" in mm and "    external_ids={k=v}\n" in mm


def test_show_log_reports_a_bad_tail(nb: str) -> None:
    ls_add(nb, "sw0")
    with open(nb, "ab") as f:
        f.write(b"OVSDB JSON 500 ")
    proc = tool("show-log", nb, check=1)
    assert proc.stdout.count("record ") == 2
    assert "header" in proc.stderr


def test_compact_in_place_and_to_destination(nb: str, tmp_path: Path) -> None:
    for i in range(5):
        ls_add(nb, f"sw{i}")
    transact(nb, {"op": "delete", "table": "Logical_Switch", "where": [["name", "==", "sw0"]]})
    before = switch_names(nb)
    dst = str(tmp_path / "copy.db")
    tool("compact", nb, dst)
    assert len(read_log(dst).records) == 2
    assert switch_names(dst) == before
    size = os.path.getsize(nb)
    tool("compact", nb)
    assert os.path.getsize(nb) < size
    assert len(read_log(nb).records) == 2
    assert switch_names(nb) == before
    assert "compacted by pyovn" in tool("show-log", nb).stdout


CRASH_IN_COMPACTION = textwrap.dedent(
    """
    import os, sys
    from pyovn.ovsdb.server.storage import Storage

    def crash(src, dst):
        assert os.path.getsize(src) > 0      # the new file is fully written ...
        os._exit(9)                          # ... and the process dies before the rename

    storage, db = Storage.open(sys.argv[1])
    os.replace = crash
    storage.compact()
    """
)


def test_crash_between_temp_write_and_rename_leaves_old_file(nb: str) -> None:
    for i in range(3):
        ls_add(nb, f"sw{i}")
    before = Path(nb).read_bytes()
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_IN_COMPACTION, nb], timeout=TIMEOUT, capture_output=True
    )
    assert proc.returncode == 9, proc.stderr
    assert Path(nb).read_bytes() == before
    assert os.path.exists(nb + ".tmp")
    assert switch_names(nb) == ["sw0", "sw1", "sw2"]
    ls_add(nb, "sw3")  # the lock died with the process
    tool("compact", nb)
    assert switch_names(nb) == ["sw0", "sw1", "sw2", "sw3"]


def test_locked_database_is_refused(nb: str) -> None:
    code = (
        "import sys\n"
        "from pyovn.ovsdb.server.storage import Storage\n"
        "Storage.open(sys.argv[1])\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, nb], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        proc = tool("transact", nb, '["OVN_Northbound"]', check=1)
        assert "already locked" in proc.stderr
        # reading needs no lock
        assert switch_names(nb) == []
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(TIMEOUT)
