"""Property: random NB edits applied incrementally through a running Northd give exactly
the Southbound content (and NB write-back) of a fresh Northd that computes everything from
scratch on the final NB with an empty SB. UUIDs aside; tunnel keys are checked structurally
(unique in their scope, in range, referenced consistently), not by value.

Northd runs in the test's event loop against pyovn's in-process server; each example has
its own server and temporary directory. The engine must have handled every edit
incrementally, and the SB side must have been reconciled key by key after the first round.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.support.northd import diff_snapshots, sb_snapshot, stale_flow_hints
from tests.support.northd_run import fresh_northd_snapshot, northd_setup
from tests.unit.northd.strategies import SEED, batches


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    """Missing parents are logged at every retag; keep failure reports readable."""
    caplog.set_level(logging.ERROR, logger="pyovn.northd")


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


async def scenario(workdir: Path, batches: list[list[tuple[Any, ...]]], per_edit: bool) -> None:
    async with northd_setup(workdir) as s:
        await s.edit(*SEED)
        await s.settle()
        for batch in batches:
            if per_edit:
                for edit in batch:
                    await s.edit(edit)
                    await s.settle()
            else:
                await s.edit(*batch)
                await s.settle()
        g = s.northd.graph
        assert g.northd.stats.recompute == 1, g.engine.stats_text()
        assert g.lflow.stats.recompute == 1, g.engine.stats_text()
        assert not any(s.driven.full_syncs[1:]), "the SB side was fully reconciled"
        got = sb_snapshot(s.northd.sb.rows)
        assert not stale_flow_hints(s.northd.sb.rows, s.nb.rows)
        nb_before = {
            u: (r["tag"], r["up"], r["external_ids"])
            for u, r in s.nb.rows("Logical_Switch_Port").items()
        }
        await s.driven.close()
        rows, nb_commits = await fresh_northd_snapshot(s.server.remote, workdir / "fresh")
        want = sb_snapshot(rows)
        assert got == want, diff_snapshots(got, want)
        assert nb_commits == 0, "a fresh northd wants to write something else to NB"
        nb_after = {
            u: (r["tag"], r["up"], r["external_ids"])
            for u, r in s.nb.rows("Logical_Switch_Port").items()
        }
        assert nb_before == nb_after


def run(batches: list[list[tuple[Any, ...]]], per_edit: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="pyovn-northd-") as tmp:
        asyncio.run(asyncio.wait_for(scenario(Path(tmp), batches, per_edit), 300))


@SETTINGS
@given(batches)
def test_round_after_each_batch_equals_fresh_recompute(
    batches: list[list[tuple[Any, ...]]],
) -> None:
    run(batches, per_edit=False)


@settings(SETTINGS, max_examples=15)
@given(batches)
def test_round_after_each_edit_equals_fresh_recompute(batches: list[list[tuple[Any, ...]]]) -> None:
    run(batches, per_edit=True)
