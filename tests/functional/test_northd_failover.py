"""Two northds on one pair of databases, in-process and driven round by round: the standby
takes over when the active one goes, keeps every tunnel key and tag it finds in the
databases, carries on incrementally, and hands over again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.support.northd import diff_snapshots, sb_snapshot
from tests.support.northd_run import LIMIT, DrivenNorthd, fresh_northd_snapshot, northd_setup

VM = (("addresses", ["00:00:00:00:00:01 10.0.0.1"]),)


def keys_and_tags(s: Any) -> dict[str, tuple[int, Any]]:
    return {
        r["logical_port"]: (r["tunnel_key"], r["tag"]) for r in s.sb.rows("Port_Binding").values()
    }


async def standby(s: Any) -> DrivenNorthd:
    other = DrivenNorthd(s.server.remote, s.server.remote)
    await other.northd.start()  # connected, lock requested, not granted
    assert not other.northd.active
    return other


async def take_over(s: Any, new: DrivenNorthd) -> None:
    await s.driven.close()
    await asyncio.wait_for(new.northd.sb.lock("ovn_northd", wait=True), LIMIT)
    s.driven, s.northd = new, new.northd


def test_takeover_keeps_keys_and_goes_on(tmp_path: Path) -> None:
    async def main() -> None:
        async with northd_setup(tmp_path) as s:
            b = await standby(s)
            try:
                await s.edit(("add_ls", "vms"), ("add_ls", "pods"))
                await s.edit(*[("add_lsp", "vms", f"vm{i}", VM) for i in range(4)])
                await s.edit(
                    *[
                        ("add_lsp", "pods", f"c{i}", (("parent_name", "vm0"), ("tag_request", 0)))
                        for i in range(5)
                    ]
                )
                await s.settle()
                await s.edit(("del_lsp", "vm1"), ("del_lsp", "c2"))  # holes in keys and tags
                await s.settle()
                before = keys_and_tags(s)
                # the standby stayed out of it
                assert b.commits == 0 and b.northd.n_rounds == 0
                await take_over(s, b)
                await s.settle()
                assert keys_and_tags(s) == before
                assert b.nb_commits == 0
                # and goes on incrementally after the takeover recompute
                await s.edit(
                    ("add_lsp", "vms", "vm9", VM),
                    ("add_lsp", "pods", "c9", (("parent_name", "vm0"), ("tag_request", 0))),
                )
                await s.settle()
                after = keys_and_tags(s)
                assert {k: v for k, v in after.items() if k in before} == before
                assert after["c9"][1] == frozenset({3})  # c2's freed tag
                assert b.northd.graph.northd.stats.recompute == 1
                # hand back to a new northd
                c = await standby(s)
                await take_over(s, c)
                await s.settle()
                assert keys_and_tags(s) == after
                got = sb_snapshot(s.northd.sb.rows)
                await s.driven.close()
                rows, _ = await fresh_northd_snapshot(s.server.remote, tmp_path / "fresh")
                want = sb_snapshot(rows)
                assert got == want, diff_snapshots(got, want)
            finally:
                await b.close()

    asyncio.run(asyncio.wait_for(main(), 120))
