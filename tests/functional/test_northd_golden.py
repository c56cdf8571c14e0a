"""The golden topology through a running Northd and a real Southbound database: the
Logical_Flow rows print exactly as tests/unit/northd/golden/two_switches_flows.txt (the
engine's own output), and the port bindings and multicast groups as
tests/functional/golden/two_switches_bindings.txt. Regenerate with PYOVN_REGEN_GOLDEN=1."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.northd import (
    GOLDEN_TOPOLOGY,
    bindings_from_sb,
    check_golden,
    lines_from_sb,
    render_flows,
)
from tests.support.northd_run import northd_setup

UNIT_GOLDEN = Path(__file__).parents[1] / "unit" / "northd" / "golden"
GOLDEN = Path(__file__).parent / "golden"


def test_sb_flows_and_bindings_match_the_golden_files(tmp_path: Path) -> None:
    async def main() -> None:
        async with northd_setup(tmp_path) as s:
            await s.edit(*GOLDEN_TOPOLOGY)
            await s.settle()
            flows = render_flows(lines_from_sb(s.sb.rows, s.nb.rows))
            # the SB replica of the test's own client, not northd's
            assert flows == render_flows(lines_from_sb(s.northd.sb.rows, s.nb.rows))
            check_golden(UNIT_GOLDEN / "two_switches_flows.txt", flows)
            check_golden(GOLDEN / "two_switches_bindings.txt", bindings_from_sb(s.sb.rows))

    asyncio.run(asyncio.wait_for(main(), 120))


def test_all_edits_in_one_round_match_too(tmp_path: Path) -> None:
    """Northd sees the whole topology at once (one round for every edit)."""

    async def main() -> None:
        async with northd_setup(tmp_path) as s:
            await s.edit(*GOLDEN_TOPOLOGY)  # northd does not run between the edits
            rounds = await s.settle()
            assert rounds >= 1
            check_golden(
                UNIT_GOLDEN / "two_switches_flows.txt",
                render_flows(lines_from_sb(s.sb.rows, s.nb.rows)),
            )

    asyncio.run(asyncio.wait_for(main(), 120))
