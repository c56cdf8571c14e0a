"""Containers inside VMs through a running Northd (in-process, real OVSDB databases):
tag allocation, reuse, restart stability, conflicts, missing parents, re-parenting, the NB
``up`` rule and nb_cfg -> sb_cfg / hv_cfg. The SB client plays ovn-controller."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from pyovn.northd.daemon import ERROR_KEY
from tests.support.northd_run import DrivenNorthd, Setup, nb_cfg_of, northd_setup

VM = {"addresses": ["00:00:00:00:00:01 10.0.0.1"]}


def run(tmp_path: Path, body: Callable[[Setup], Awaitable[None]]) -> None:
    async def main() -> None:
        async with northd_setup(tmp_path) as s:
            await body(s)

    asyncio.run(asyncio.wait_for(main(), 120))


def child(parent: str | None, tag_request: int | None) -> tuple[tuple[str, Any], ...]:
    return (("parent_name", parent), ("tag_request", tag_request))


async def vms(s: Setup, *names: str) -> None:
    await s.edit(("add_ls", "vms"), ("add_ls", "pods"))
    await s.edit(*[("add_lsp", "vms", n, tuple(VM.items())) for n in names])
    await s.settle()


def nb_tag(s: Setup, name: str) -> int | None:
    return s.lsp(name).one("tag")


def sb_tag(s: Setup, name: str) -> int | None:
    return s.pb(name).one("tag")


def tags(s: Setup, *names: str) -> dict[str, int | None]:
    """The tag of each port, checked to be the same in NB and SB."""
    out = {}
    for n in names:
        assert nb_tag(s, n) == sb_tag(s, n), n
        out[n] = nb_tag(s, n)
    return out


def error(s: Setup, name: str) -> str | None:
    return s.lsp(name)["external_ids"].get(ERROR_KEY)


def test_dynamic_tags_lowest_free_per_parent_and_reuse(tmp_path: Path) -> None:
    async def body(s: Setup) -> None:
        await vms(s, "vm1", "vm2")
        await s.edit(
            ("add_lsp", "pods", "c1", child("vm1", 0)),
            ("add_lsp", "pods", "c2", child("vm1", 0)),
            ("add_lsp", "pods", "c3", child("vm1", 3)),
            ("add_lsp", "pods", "c4", child("vm1", 0)),
            ("add_lsp", "pods", "d1", child("vm2", 0)),  # another parent: its own tag space
        )
        await s.settle()
        assert tags(s, "c1", "c2", "c3", "c4", "d1") == {
            "c1": 1,
            "c2": 2,
            "c3": 3,
            "c4": 4,
            "d1": 1,
        }
        assert s.pb("c1").one("parent_port") == "vm1"
        await s.edit(("del_lsp", "c2"))
        await s.settle()
        await s.edit(("add_lsp", "pods", "c5", child("vm1", 0)))
        await s.settle()
        assert tags(s, "c1", "c3", "c4", "c5") == {"c1": 1, "c3": 3, "c4": 4, "c5": 2}

    run(tmp_path, body)


def test_tags_and_keys_survive_a_northd_restart(tmp_path: Path) -> None:
    async def body(s: Setup) -> None:
        await vms(s, "vm1")
        await s.edit(*[("add_lsp", "pods", f"c{i}", child("vm1", 0)) for i in range(1, 6)])
        await s.settle()
        await s.edit(("del_lsp", "c2"), ("add_lsp", "pods", "c9", child("vm1", 0)))
        await s.settle()
        names = ["c1", "c3", "c4", "c5", "c9"]
        before = tags(s, *names)
        keys = {n: s.pb(n)["tunnel_key"] for n in names}
        await s.driven.close()
        again = DrivenNorthd(s.server.remote, s.server.remote)
        try:
            await again.start()
            await again.settle()
            assert again.nb_commits == 0, "a restarted northd changed NB"
            # a new port after the restart does not take an existing tag
            s.driven = again
            s.northd = again.northd
            await s.edit(("add_lsp", "pods", "c10", child("vm1", 0)))
            await s.settle()
            assert tags(s, *names) == before
            assert {n: s.pb(n)["tunnel_key"] for n in names} == keys
            assert nb_tag(s, "c10") not in before.values()
            assert again.northd.graph.northd.stats.recompute == 1
        finally:
            await again.close()

    run(tmp_path, body)


def test_conflicting_explicit_tags(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="pyovn.northd")

    async def body(s: Setup) -> None:
        await vms(s, "vm1")
        await s.edit(("add_lsp", "pods", "a", child("vm1", 9)))
        await s.settle()
        await s.edit(("add_lsp", "pods", "b", child("vm1", 9)))  # the later one loses
        await s.settle()
        assert tags(s, "a", "b") == {"a": 9, "b": None}
        assert error(s, "a") is None
        assert error(s, "b") == "tag 9 is already used by port a under parent vm1"
        assert "tag 9 is already used by port a" in caplog.text
        # the loser still has its binding (it has no tag, so no chassis will bind it)
        assert s.pb("b").one("parent_port") == "vm1"
        # clearing the conflict by asking for another tag clears the error
        await s.edit(("set", "b", "tag_request", 10))
        await s.settle()
        assert tags(s, "a", "b") == {"a": 9, "b": 10}
        assert error(s, "b") is None
        # again, and this time the holder goes away: the other one gets the tag
        await s.edit(("add_lsp", "pods", "c", child("vm1", 10)))
        await s.settle()
        assert tags(s, "b", "c") == {"b": 10, "c": None} and error(s, "c")
        await s.edit(("del_lsp", "b"))
        await s.settle()
        assert tags(s, "c") == {"c": 10} and error(s, "c") is None

    run(tmp_path, body)


def test_conflict_error_set_by_someone_else_is_removed(tmp_path: Path) -> None:
    """pyovn:error belongs to northd: a stale one (e.g. restored from a backup) is cleared."""

    async def body(s: Setup) -> None:
        await vms(s, "vm1")
        await s.edit(("add_lsp", "pods", "a", child("vm1", 0)))
        await s.settle()
        await s.edit(("set", "a", "external_ids", {ERROR_KEY: "stale", "owner": "me"}))
        await s.settle()
        assert s.lsp("a")["external_ids"] == {"owner": "me"}

    run(tmp_path, body)


def test_missing_parent_is_logged_and_harmless(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pyovn.northd")

    async def body(s: Setup) -> None:
        await vms(s, "vm1")
        await s.edit(("add_lsp", "pods", "orphan", child("ghost", 0)))
        await s.settle()
        assert "parent port ghost of orphan does not exist" in caplog.text
        pb = s.pb("orphan")
        assert pb.one("parent_port") == "ghost" and not pb["chassis"]
        assert s.lsp("orphan").one("up") is False
        # northd goes on working
        await s.edit(("add_lsp", "pods", "c1", child("vm1", 0)))
        await s.settle()
        assert tags(s, "c1") == {"c1": 1}
        # the parent appears later: nothing breaks, the child keeps its tag
        orphan_tag = nb_tag(s, "orphan")
        await s.edit(("add_lsp", "vms", "ghost", tuple(VM.items())))
        await s.settle()
        assert tags(s, "orphan") == {"orphan": orphan_tag}

    run(tmp_path, body)


def test_reparenting_reevaluates_the_tag(tmp_path: Path) -> None:
    async def body(s: Setup) -> None:
        await vms(s, "vm1", "vm2")
        await s.edit(
            ("add_lsp", "pods", "a", child("vm1", 0)),
            ("add_lsp", "pods", "b", child("vm1", 0)),
            ("add_lsp", "pods", "x", child("vm2", 0)),
        )
        await s.settle()
        assert tags(s, "a", "b", "x") == {"a": 1, "b": 2, "x": 1}
        # a moves to vm2, where x holds tag 1: x keeps it, a gets the lowest free tag there
        await s.edit(("set", "a", "parent_name", "vm2"))
        await s.settle()
        assert tags(s, "a", "b", "x") == {"a": 2, "b": 2, "x": 1}
        assert s.pb("a").one("parent_port") == "vm2"
        # b moves too: its old tag (2) is a's under vm2 now
        await s.edit(("set", "b", "parent_name", "vm2"))
        await s.settle()
        assert tags(s, "a", "b", "x") == {"a": 2, "b": 3, "x": 1}
        # and back to vm1, where every tag is free again: the lowest
        await s.edit(("set", "b", "parent_name", "vm1"))
        await s.settle()
        assert tags(s, "a", "b", "x") == {"a": 2, "b": 1, "x": 1}
        # an explicit tag under the new parent that clashes is a conflict
        await s.edit(("add_lsp", "pods", "y", child("vm1", 5)))
        await s.settle()
        await s.edit(("add_lsp", "pods", "z", child("vm2", 5)))
        await s.settle()
        await s.edit(("set", "y", "parent_name", "vm2"))
        await s.settle()
        assert tags(s, "y", "z") == {"y": None, "z": 5} and error(s, "y")

    run(tmp_path, body)


def test_clearing_tag_request_or_parent_clears_the_tag(tmp_path: Path) -> None:
    async def body(s: Setup) -> None:
        await vms(s, "vm1")
        await s.edit(
            ("add_lsp", "pods", "a", child("vm1", 0)), ("add_lsp", "pods", "b", child("vm1", 7))
        )
        await s.settle()
        assert tags(s, "a", "b") == {"a": 1, "b": 7}
        await s.edit(("set", "a", "tag_request", None), ("set", "b", "parent_name", None))
        await s.settle()
        assert tags(s, "a", "b") == {"a": None, "b": None}
        assert s.pb("b").one("parent_port") is None
        # asking again gives the lowest free tag
        await s.edit(("set", "a", "tag_request", 0))
        await s.settle()
        assert tags(s, "a") == {"a": 1}

    run(tmp_path, body)


# ---------------------------------------------------------------------------- up, cfg


async def add_chassis(s: Setup, name: str, ip: str) -> Any:
    def build(txn: Any) -> Any:
        encap = txn.insert("Encap", {"type": "geneve", "ip": ip, "chassis_name": name})
        return txn.insert("Chassis", {"name": name, "hostname": name, "encaps": [encap]})

    return await s.sb.transact(build)


async def bind(s: Setup, port: str, chassis: Any, up: bool | None) -> None:
    """What ovn-controller does when it claims a port."""
    pb = s.pb(port)
    await s.sb.transact(
        lambda txn: txn.update("Port_Binding", pb.uuid, {"chassis": chassis, "up": up})
    )
    await s.northd.sb.wait_for(
        lambda: (
            s.northd.sb.get("Port_Binding", pb.uuid)["up"] == s.pb(port)["up"]  # type: ignore[index]
            and s.northd.sb.get("Port_Binding", pb.uuid)["chassis"] == s.pb(port)["chassis"]
        )  # type: ignore[index]
    )
    await s.settle()


def test_up_follows_the_binding(tmp_path: Path) -> None:
    async def body(s: Setup) -> None:
        await vms(s, "vm1")
        await s.edit(("add_lsp", "pods", "c1", child("vm1", 0)))
        await s.settle()
        assert s.lsp("vm1").one("up") is False
        ch = await add_chassis(s, "hv1", "192.0.2.1")
        await bind(s, "vm1", ch, None)  # an old controller that does not write up
        assert s.lsp("vm1").one("up") is True
        await bind(s, "vm1", ch, False)  # bound, flows not installed yet
        assert s.lsp("vm1").one("up") is False
        await bind(s, "vm1", ch, True)
        assert s.lsp("vm1").one("up") is True
        await bind(s, "c1", ch, True)
        assert s.lsp("c1").one("up") is True
        await bind(s, "vm1", None, None)  # released
        assert s.lsp("vm1").one("up") is False
        assert s.lsp("c1").one("up") is True
        # up=true without a chassis is not up
        await bind(s, "vm1", None, True)
        assert s.lsp("vm1").one("up") is False

    run(tmp_path, body)


def test_sb_cfg_and_hv_cfg(tmp_path: Path) -> None:
    async def body(s: Setup) -> None:
        await vms(s, "vm1")
        cfg = nb_cfg_of(s.nb)
        assert nb_cfg_of(s.sb) == cfg == nb_cfg_of(s.nb, "sb_cfg")
        assert nb_cfg_of(s.nb, "hv_cfg") == cfg  # no chassis: nothing to wait for
        ch1 = await add_chassis(s, "hv1", "192.0.2.1")
        ch2 = await add_chassis(s, "hv2", "192.0.2.2")

        def private(txn: Any) -> None:
            txn.insert("Chassis_Private", {"name": "hv1", "chassis": ch1, "nb_cfg": cfg - 1})
            txn.insert("Chassis_Private", {"name": "hv2", "chassis": ch2, "nb_cfg": cfg})

        await s.sb.transact(private)
        await s.northd.sb.wait_for(lambda: len(s.northd.sb.rows("Chassis_Private")) == 2)
        await s.settle()
        assert nb_cfg_of(s.nb, "hv_cfg") == cfg - 1  # the slowest chassis
        await s.edit(("add_lsp", "vms", "vm2", ()))  # bumps nb_cfg
        await s.settle()
        assert nb_cfg_of(s.nb, "sb_cfg") == cfg + 1
        assert nb_cfg_of(s.nb, "hv_cfg") == cfg - 1

        def catch_up(value: int) -> Callable[[Any], None]:
            def build(txn: Any) -> None:
                for r in s.sb.rows("Chassis_Private").values():
                    txn.update("Chassis_Private", r.uuid, {"nb_cfg": value})

            return build

        await s.sb.transact(catch_up(cfg + 1))
        await s.northd.sb.wait_for(
            lambda: {r["nb_cfg"] for r in s.northd.sb.rows("Chassis_Private").values()} == {cfg + 1}
        )
        await s.settle()
        assert nb_cfg_of(s.nb, "hv_cfg") == cfg + 1
        # a chassis that goes away leaves its Chassis_Private behind (chassis cleared, a
        # weak reference): it no longer holds hv_cfg back
        await s.edit(("add_lsp", "vms", "vm3", ()))
        await s.sb.transact(lambda txn: txn.delete("Chassis", ch2))
        await s.sb.transact(catch_up(cfg + 2))
        await s.sb.transact(lambda txn: txn.delete("Chassis", ch1))
        await s.northd.sb.wait_for(lambda: not s.northd.sb.rows("Chassis"))
        await s.settle()
        assert nb_cfg_of(s.nb, "hv_cfg") == cfg + 2 == nb_cfg_of(s.nb, "sb_cfg")

    run(tmp_path, body)
