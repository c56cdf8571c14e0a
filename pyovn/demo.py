"""``pyovn sandbox --demo``: the container-in-VM life cycle of ovn-architecture(7), played on
the sandbox, with what happens printed for a person to read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from pyovn.controller.vswitch import add_vif
from pyovn.datapath.craft import icmp4_echo
from pyovn.datapath.flows import INPORT, METADATA, OUTPORT, TABLE_NAMES
from pyovn.sandbox import Chassis, Sandbox

PLAN = [
    # name, switch, mac, ip, chassis index, parent, tag_request
    ("vm1", "mgmt", "0a:00:00:00:01:01", "10.0.1.1", 0, None, None),
    ("vm2", "web", "0a:00:00:00:02:02", "10.0.2.2", 1, None, None),
    ("vm3", "db", "0a:00:00:00:03:03", "10.0.3.3", 1, None, None),
    ("c1", "web", "0a:00:00:00:02:11", "10.0.2.11", 0, "vm1", 0),
    ("c2", "db", "0a:00:00:00:03:12", "10.0.3.12", 0, "vm1", 20),
    ("c3", "web", "0a:00:00:00:02:13", "10.0.2.13", 0, "vm1", 0),
]


class Demo:
    def __init__(self, sandbox: Sandbox, out: Callable[[str], None] = print) -> None:
        self.sb = sandbox
        self.out = out
        self.t0 = time.perf_counter()
        self.up_after: dict[str, float] = {}
        self.failures = 0

    @property
    def nb(self) -> Any:
        assert self.sb.nb is not None
        return self.sb.nb

    def say(self, text: str) -> None:
        self.out(text)

    def step(self, n: int, text: str) -> None:
        self.say(f"\n[{time.perf_counter() - self.t0:6.3f} s] {n}. {text}")

    # ------------------------------------------------------------------ NB helpers

    async def ls_add(self, name: str) -> None:
        await self.nb.transact(lambda txn: txn.insert("Logical_Switch", {"name": name}))

    async def lsp_add(
        self, switch: str, name: str, mac: str, ip: str, parent: str | None, tag: int | None
    ) -> None:
        def build(txn: Any) -> None:
            row: dict[str, Any] = {
                "name": name,
                "addresses": [f"{mac} {ip}"],
                "port_security": [f"{mac} {ip}"],
            }
            if parent is not None:
                row["parent_name"] = parent
                row["tag_request"] = tag
            port = txn.insert("Logical_Switch_Port", row)
            sw = self.nb.find_one("Logical_Switch", name=switch)
            txn.mutate("Logical_Switch", sw.uuid, [("ports", "insert", [port])])

        await self.nb.transact(build)

    async def lsp_del(self, name: str) -> None:
        def build(txn: Any) -> None:
            port = self.nb.find_one("Logical_Switch_Port", name=name)
            for sw in self.nb.rows("Logical_Switch").values():
                if port.uuid in sw["ports"]:
                    txn.mutate("Logical_Switch", sw.uuid, [("ports", "delete", [port.uuid])])

        await self.nb.transact(build)

    def lsp(self, name: str) -> Any:
        return self.nb.find_one("Logical_Switch_Port", name=name)

    async def wait_up(self, name: str, since: float) -> None:
        await self.nb.wait_for(
            lambda: (r := self.lsp(name)) is not None and r.one("up") is True, timeout=10
        )
        self.up_after[name] = time.perf_counter() - since

    # ------------------------------------------------------------------ the story

    async def run(self) -> int:
        chassis = self.sb.chassis
        self.step(1, "The cloud creates three logical switches and VM ports")
        for sw in ("mgmt", "web", "db"):
            await self.ls_add(sw)
        self.say("   ls-add mgmt web db")
        starts: dict[str, float] = {}
        for name, sw, mac, ip, hv, parent, _tag in PLAN:
            if parent is not None:
                continue
            await self.lsp_add(sw, name, mac, ip, None, None)
            ch = chassis[hv % len(chassis)]
            host = ch.controller.backend.host(name)
            host.add_identity(mac, ip)
            starts[name] = time.perf_counter()
            await add_vif(ch.ovs, name, name)
            self.say(f"   {name}: port on {sw} ({mac} {ip}); VIF {name} plugged on {ch.name}")
        for name in starts:
            await self.wait_up(name, starts[name])

        self.step(2, "Containers inside vm1: each a port with parent_name=vm1 and a VLAN tag")
        for name, sw, mac, ip, _hv, parent, tag in PLAN:
            if parent is None:
                continue
            starts[name] = time.perf_counter()
            await self.lsp_add(sw, name, mac, ip, parent, tag)
            how = "tag picked by northd" if tag == 0 else f"tag {tag} requested"
            self.say(f"   {name}: port on {sw}, parent vm1, {how}")
        vm1_host = chassis[0].controller.backend.host("vm1")
        for name, _sw, mac, ip, _hv, parent, _tag in PLAN:
            if parent is None:
                continue
            await self.wait_up(name, starts[name])
            vm1_host.add_identity(mac, ip, vlan=self.lsp(name).one("tag"))
        self.port_table()

        self.step(3, "Pings through the simulated datapath (hosts answer ARP and echo)")
        await self.ping("c1", "vm2", "container -> VM on another chassis, same switch")
        await self.ping("vm2", "c1", "VM -> container inside vm1")
        await self.ping("c2", "vm3", "container on another switch than its VM")
        await self.ping("c1", "c3", "container -> container in the same VM")
        await self.ping("vm1", "vm2", "vm1 and vm2 are on different switches", expect=False)

        await self.trace_summary()

        self.step(4, "vm1 sends a frame tagged with VLAN 99, which no container owns")
        self.unowned_tag()

        self.step(5, "Delete container c1: its port, binding and flows go away")
        before = self.flows_for("c1")
        await self.lsp_del("c1")
        await self.nb.wait_for(lambda: self.lsp("c1") is None, timeout=5)
        await self._until(lambda: self.flows_for("c1") == 0, 5)
        after = self.flows_for("c1")
        self.say(f"   flows for c1 on hv1: {before} -> {after}")
        await self.ping("vm2", "c1", "vm2 -> the deleted container", expect=False)

        ok = self.failures == 0
        self.say(
            f"\n[{time.perf_counter() - self.t0:6.3f} s] demo {'complete' if ok else 'FAILED'}"
            f" ({self.failures} unexpected results)"
        )
        return 0 if ok else 1

    # ------------------------------------------------------------------ pieces

    def port_table(self) -> None:
        sb = self.sb.northd.sb if self.sb.northd is not None else None
        chassis_names = {}
        if sb is not None:
            chassis_names = {u: r["name"] for u, r in sb.rows("Chassis").items()}
        rows = [("PORT", "SWITCH", "PARENT", "TAG", "CHASSIS", "UP", "UP AFTER")]
        for name, sw, *_rest in PLAN:
            lsp = self.lsp(name)
            pb = sb.find_one("Port_Binding", logical_port=name) if sb is not None else None
            ch = chassis_names.get(pb.one("chassis"), "-") if pb is not None else "-"
            tag = lsp.one("tag")
            rows.append(
                (
                    name,
                    sw,
                    lsp.one("parent_name") or "-",
                    str(tag or "-"),
                    ch,
                    "yes" if lsp.one("up") else "no",
                    f"{self.up_after.get(name, 0) * 1000:.1f} ms",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            self.say("   " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))

    def _where(self, name: str) -> tuple[Chassis, str, int | None, str]:
        for _n, _sw, _mac, ip, hv, parent, _tag in PLAN:
            if _n == name:
                ch = self.sb.chassis[hv % len(self.sb.chassis)]
                if parent is None:
                    return ch, name, None, ip
                return ch, parent, self.lsp(name).one("tag") if self.lsp(name) else None, ip
        raise KeyError(name)

    async def ping(self, src: str, dst: str, what: str, expect: bool = True) -> None:
        ch, iface, vlan, _ = self._where(src)
        _ch2, _i2, _v2, dst_ip = self._where(dst)
        host = ch.controller.backend.host(iface)
        label = f"{src} -> {dst} ({dst_ip})"
        try:
            rtt = await host.ping(dst_ip, vlan=vlan, timeout=1.0 if expect else 0.3)
            result, got = f"reply in {rtt * 1000:.2f} ms", True
        except TimeoutError:
            result, got = "no reply", False
        mark = "ok" if got == expect else "UNEXPECTED"
        if got != expect:
            self.failures += 1
        self.say(f"   {label:<28} {result:<18} [{mark}] {what}")

    async def trace_summary(self) -> None:
        """pyovn trace over the Southbound flows for c1 -> vm2, in ovn-trace's summary form."""
        from pyovn.trace import trace

        assert self.sb.northd is not None
        micro = (
            'inport == "c1" && eth.src == 0a:00:00:00:02:11 && eth.dst == 0a:00:00:00:02:02'
            " && ip4.src == 10.0.2.11 && ip4.dst == 10.0.2.2 && ip.ttl == 64 && icmp4"
        )
        result = await trace(self.sb.northd.sb, "web", micro)
        self.say("   pyovn trace web 'inport == \"c1\" && ... icmp4' --summary:")
        for line in result.render("summary").rstrip().splitlines():
            self.say(f"     {line}")
        if result.delivered != ["vm2"]:
            self.failures += 1

    def unowned_tag(self) -> None:
        ch = self.sb.chassis[0]
        frame = icmp4_echo(
            "0a:00:00:00:01:01", "0a:00:00:00:02:02", "10.0.1.1", "10.0.2.2", vlan=99
        )
        result = ch.controller.backend.inject("vm1", frame, trace=True)
        for step in result.steps:
            name = TABLE_NAMES.get(step.table, f"table {step.table}")
            flow = "no flow matches: dropped" if step.flow is None else str(step.flow)
            self.say(f"   {name}: {flow}")
        verdict = "dropped" if result.dropped else "DELIVERED"
        if not result.dropped:
            self.failures += 1
        self.say(
            f"   frame with VLAN 99 from vm1: {verdict} (delivered to "
            f"{[n for n, _ in result.outputs] or 'nobody'})"
        )

    def flows_for(self, name: str) -> int:
        ctl = self.sb.chassis[0].controller
        port = ctl.bound.get(name)
        count = 0
        for flow in ctl.backend.switch.installed:
            if name in flow.cookie.split():
                count += 1
                continue
            if port is None:
                continue
            fields = {f: v for f, v, _m in flow.match}
            if fields.get(METADATA) == port.dp_key and port.key in (
                fields.get(INPORT),
                fields.get(OUTPORT),
            ):
                count += 1
        return count

    async def _until(self, predicate: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
