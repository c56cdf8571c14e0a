"""Building logical topologies on a running sandbox, for end-to-end tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from pyovn.controller.vswitch import add_vif, del_vif
from pyovn.sandbox import Sandbox


class Topo:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        assert sandbox.nb is not None
        self.nb = sandbox.nb

    async def ls_add(self, name: str) -> None:
        await self.nb.transact(lambda txn: txn.insert("Logical_Switch", {"name": name}))

    async def lsp_add(self, switch: str, name: str, mac: str | None = None, ip: str | None = None,
                      parent: str | None = None, tag: int | None = None,
                      port_security: bool = True, extra: dict[str, Any] | None = None) -> None:
        def build(txn: Any) -> None:
            row: dict[str, Any] = {"name": name}
            if mac is not None:
                row["addresses"] = [f"{mac} {ip}" if ip else mac]
                if port_security:
                    row["port_security"] = [f"{mac} {ip}" if ip else mac]
            if parent is not None:
                row["parent_name"] = parent
                row["tag_request"] = tag
            row.update(extra or {})
            port = txn.insert("Logical_Switch_Port", row)
            sw = self.nb.find_one("Logical_Switch", name=switch)
            txn.mutate("Logical_Switch", sw.uuid, [("ports", "insert", [port])])

        await self.nb.transact(build)

    async def lsp_set(self, name: str, **columns: Any) -> None:
        await self.nb.transact(
            lambda txn: txn.update("Logical_Switch_Port", self.lsp(name).uuid, columns))

    async def lsp_del(self, name: str) -> None:
        def build(txn: Any) -> None:
            port = self.lsp(name)
            for sw in self.nb.rows("Logical_Switch").values():
                if port.uuid in sw["ports"]:
                    txn.mutate("Logical_Switch", sw.uuid, [("ports", "delete", [port.uuid])])

        await self.nb.transact(build)

    def lsp(self, name: str) -> Any:
        return self.nb.find_one("Logical_Switch_Port", name=name)

    def chassis(self, index: int) -> Any:
        return self.sb.chassis[index]

    async def plug(self, index: int, iface: str, iface_id: str) -> None:
        await add_vif(self.chassis(index).ovs, iface, iface_id)

    async def unplug(self, index: int, iface: str) -> None:
        await del_vif(self.chassis(index).ovs, iface)

    def host(self, index: int, iface: str) -> Any:
        return self.chassis(index).controller.backend.host(iface)

    def up(self, name: str) -> bool:
        row = self.lsp(name)
        return row is not None and row.one("up") is True

    async def wait_up(self, name: str, up: bool = True, timeout: float = 10.0) -> None:
        await self.nb.wait_for(lambda: self.up(name) is up, timeout=timeout)

    def binding(self, name: str) -> Any:
        assert self.sb.northd is not None
        return self.sb.northd.sb.find_one("Port_Binding", logical_port=name)

    def bound_on(self, name: str) -> str | None:
        assert self.sb.northd is not None
        pb = self.binding(name)
        if pb is None or pb.one("chassis") is None:
            return None
        row = self.sb.northd.sb.get("Chassis", pb.one("chassis"))
        return None if row is None else row["name"]

    def tag(self, name: str) -> int | None:
        row = self.lsp(name)
        return None if row is None else row.one("tag")


async def until(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(step)
