"""The order of a chassis' writes when it binds a port (as ovn-controller): the flow changes go
to the switch first; the claim (Port_Binding.chassis, up=false) follows while the switch
installs them; up=true and ovn-installed only once the switch has confirmed them. The
simulated switch's install is held open here to play a slow barrier."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pyovn.sandbox import Sandbox
from tests.support.topo import Topo


def _with_unplugged_port(tmp_path: Path, body: Any) -> None:
    """Run ``body(sandbox, topo, controller)`` on a one-chassis sandbox whose switch sw0
    has a port vm1 that no interface names yet."""

    async def main() -> None:
        sandbox = Sandbox(tmp_path / "run", 1)
        await sandbox.start()
        try:
            t = Topo(sandbox)
            await t.ls_add("sw0")
            await t.lsp_add("sw0", "vm1", "0a:00:00:00:00:01", "10.0.0.1")
            await asyncio.sleep(0.2)
            await body(sandbox, t, sandbox.chassis[0].controller)
        finally:
            await sandbox.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_claim_follows_the_flows_and_up_waits_for_the_switch(tmp_path: Path) -> None:
    async def body(sandbox: Sandbox, t: Topo, ctl: Any) -> None:
        events: list[str] = []
        barrier = asyncio.Event()
        install = ctl.backend.install

        async def slow_install(flows: list[Any]) -> Any:
            result = install(flows)
            events.append("flows sent")
            await barrier.wait()
            events.append("flows confirmed")
            return result

        commit = ctl.sb.commit

        async def recording_commit(txn: Any) -> Any:
            ops = txn.to_params()[1:]
            if any(op.get("table") == "Port_Binding" and op["op"] == "update" for op in ops):
                rows = [op["row"] for op in ops if op["op"] == "update"]
                events.append("claim" if all(r.get("up") is False for r in rows) else "up")
            return await commit(txn)

        ctl.backend.install = slow_install
        ctl.sb.commit = recording_commit  # type: ignore[method-assign]
        await t.plug(0, "vm1", "vm1")

        def claimed() -> bool:
            pb = ctl.sb.find_one("Port_Binding", logical_port="vm1")
            return pb is not None and pb.one("chassis") == ctl.chassis_uuid()

        # the claim is in SB while the switch still works on the flows; up is not
        await ctl.sb.wait_for(claimed, timeout=10)
        pb = ctl.sb.find_one("Port_Binding", logical_port="vm1")
        assert pb is not None and pb.one("up") is False
        assert events == ["flows sent", "claim"]
        await asyncio.sleep(0.1)
        assert not t.up("vm1")
        iface = sandbox.chassis[0].ovs.find_one("Interface", name="vm1")
        assert iface is not None and "ovn-installed" not in iface["external_ids"]

        barrier.set()
        await t.wait_up("vm1")
        assert events[:4] == ["flows sent", "claim", "flows confirmed", "up"]

        def installed() -> bool:
            row = sandbox.chassis[0].ovs.find_one("Interface", name="vm1")
            return row is not None and row["external_ids"].get("ovn-installed") == "true"

        await sandbox.chassis[0].ovs.wait_for(installed, timeout=10)

    _with_unplugged_port(tmp_path, body)


def test_up_sent_before_the_claim_reply_waits_for_the_claim(tmp_path: Path) -> None:
    """The up transaction goes out right behind the claim, before the claim's reply: it marks
    up only a binding that is this chassis' when the server reaches it (checked with a
    ``wait`` on the chassis column), so it never claims on its own."""

    async def body(sandbox: Sandbox, t: Topo, ctl: Any) -> None:
        ups: list[list[Any]] = []
        commit = ctl.sb.commit

        async def recording_commit(txn: Any) -> Any:
            ops = txn.to_params()[1:]
            rows = [op["row"] for op in ops if op["op"] == "update"]
            if any(r.get("up") is True for r in rows):
                ups.append(ops)
            return await commit(txn)

        ctl.sb.commit = recording_commit  # type: ignore[method-assign]
        await t.plug(0, "vm1", "vm1")
        await t.wait_up("vm1")
        chassis = str(ctl.chassis_uuid())
        # the first up: sent while the claim was in flight, conditional on it
        wait, update = ups[0][0], ups[0][1]
        assert wait["op"] == "wait" and wait["columns"] == ["chassis"]
        assert wait["rows"] == [{"chassis": ["uuid", chassis]}]
        assert update["row"] == {"up": True}

    _with_unplugged_port(tmp_path, body)


def _gc_calls(tmp_path: Path, monkeypatch: Any, daemon: bool) -> dict[str, list[bool]]:
    """tune_gc calls of the controller and northd over a sandbox run binding one port."""
    from pyovn.controller import daemon as controller_daemon
    from pyovn.northd import daemon as northd_daemon

    calls: dict[str, list[bool]] = {"controller": [], "northd": []}
    for name, module, cls in (
        ("controller", controller_daemon, controller_daemon.Controller),
        ("northd", northd_daemon, northd_daemon.Northd),
    ):
        monkeypatch.setattr(
            module, "tune_gc", lambda freeze=False, name=name: calls[name].append(freeze)
        )
        init = cls.__init__

        def patched(self: Any, *a: Any, init: Any = init, **k: Any) -> None:
            init(self, *a, **k)
            self.freeze_gc = daemon

        monkeypatch.setattr(cls, "__init__", patched)

    async def main() -> None:
        sandbox = Sandbox(tmp_path / "run", 1)
        await sandbox.start()
        try:
            t = Topo(sandbox)
            await t.ls_add("sw0")
            await t.lsp_add("sw0", "vm1", "0a:00:00:00:00:01", "10.0.0.1")
            await t.plug(0, "vm1", "vm1")
            await t.wait_up("vm1")
        finally:
            await sandbox.close()

    asyncio.run(asyncio.wait_for(main(), 60))
    return calls


def test_a_daemon_freezes_the_collector_once_after_its_first_round(
    tmp_path: Path, monkeypatch: Any
) -> None:
    calls = _gc_calls(tmp_path, monkeypatch, daemon=True)
    assert calls == {"controller": [False, True], "northd": [False, True]}


def test_embedded_the_collector_is_not_frozen(tmp_path: Path, monkeypatch: Any) -> None:
    calls = _gc_calls(tmp_path, monkeypatch, daemon=False)
    assert calls == {"controller": [False], "northd": [False]}
