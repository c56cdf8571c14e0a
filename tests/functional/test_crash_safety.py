"""A process killed with SIGKILL loses no transaction it acknowledged."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pyovn.ovsdb.server.storage import Storage

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pyovn.ovsdb.server.ops import execute
    from pyovn.ovsdb.server.storage import Storage

    path, mode = sys.argv[1], sys.argv[2]
    storage, db = Storage.open(path, fsync_mode=mode)

    async def main():
        i = 0
        while True:
            ops = [
                {"op": "insert", "table": "Logical_Switch",
                 "row": {"name": f"sw{i}", "external_ids": ["map", [["n", str(i)]]]}},
            ]
            if i % 3 == 0:   # some updates and deletes too, so records are diffs
                ops.append({"op": "mutate", "table": "Logical_Switch",
                            "where": [["name", "==", f"sw{i - 3}"]],
                            "mutations": [["external_ids", "insert", ["map", [["x", "y"]]]]]})
            result = execute(db, ops)
            assert result.commit is not None, result.results
            seq = storage.write_commit(result.commit)
            db.apply(result.commit)
            if storage.needs_sync(result.commit):
                await storage.sync(seq)
            # acknowledged: the client would get its reply now
            uuid = result.results[0]["uuid"][1]
            sys.stdout.write(f"ack {i} {uuid}\\n")
            sys.stdout.flush()
            i += 1

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("mode", ["never", "always"])
def test_sigkill_loses_no_acknowledged_transaction(tmp_path: Path, mode: str) -> None:
    from pyovn.ovsdb.schema import DatabaseSchema
    from pyovn.schemas import schema_path

    path = str(tmp_path / "nb.db")
    Storage.create(path, DatabaseSchema.from_file(schema_path("nb")))[0].close()
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as err_file:
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, path, mode],
            stdout=subprocess.PIPE,
            stderr=err_file,
            text=True,
        )
    acked: dict[int, str] = {}
    try:
        assert child.stdout is not None
        for line in child.stdout:
            _, n, uuid = line.split()
            acked[int(n)] = uuid
            if len(acked) >= 300:
                child.send_signal(signal.SIGKILL)  # mid-run: it is writing the next one
                break
    finally:
        child.kill()
        child.wait(120)
        assert child.stdout is not None
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL, errors.read_text()
    assert len(acked) >= 300

    storage, db = Storage.open(path)  # a torn last record, if any, is cut off here
    storage.close()
    rows = db.tables["Logical_Switch"].rows
    for n, uuid in acked.items():
        row = rows.get(uuid)  # type: ignore[call-overload]
        assert row is not None, f"acknowledged transaction {n} was lost"
        assert row.data["name"] == f"sw{n}"
        assert row.data["external_ids"]["n"] == str(n)
        if n + 3 in acked and n % 3 == 0:
            assert row.data["external_ids"].get("x") == "y"
    # the file holds a prefix of the history: transactions 0..m-1, no gaps (the child may
    # have gone past the acknowledgements this test read, which were still in the pipe)
    numbers = sorted(int(row.data["name"][2:]) for row in rows.values())
    assert numbers == list(range(len(numbers)))
