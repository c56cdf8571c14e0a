"""The real Open vSwitch datapath: br-int in a running ovs-vswitchd.

The backend holds an OpenFlow 1.5 connection to br-int's management socket
(``<rundir>/br-int.mgmt``), as ovn-controller holds one. Each install diffs the controller's
desired table against what it installed last and sends only the difference as flow_mods
(ofwire.py), followed by a barrier; the switch's errors come back by transaction id.

When the switch's state is unknown (the first install, or the connection was made again:
ovs-vswitchd may have restarted and lost every flow, while the Open_vSwitch database looks
the same) the whole table goes through ``ovs-ofctl --bundle replace-flows``: ovs-ofctl diffs
it against what the switch has and sends only the differences in one atomic bundle. So a
restarted ovs-vswitchd gets its flows back, and a restarted controller that wants the flows
already there leaves them (and the traffic) alone: no flush. The backend wakes the controller
when it connects again, so the resync does not wait for the next database change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import tempfile
from collections.abc import Callable
from typing import Any

from pyovn.datapath import ofwire
from pyovn.datapath.flows import Flow, Tunnel
from pyovn.datapath.openflow import UnsupportedFlow, flow_cookie, flow_text
from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.ovsdb.client.txn import Txn

log = logging.getLogger("pyovn.datapath.ovs")

GENEVE_PORT = 6081
TLV_MAP = "{class=0x102,type=0x80,len=4}->tun_metadata0"
OF_VERSIONS = (0x01, 0x04, 0x05, 0x06)  # offered: OpenFlow 1.0, 1.3, 1.4, 1.5


def ovs_rundir() -> str:
    return os.environ.get("OVS_RUNDIR") or "/var/run/openvswitch"


class SwitchConnection:
    """One OpenFlow connection to the switch: version negotiation, echo replies, and
    batches of messages confirmed by a barrier."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.version: int | None = None
        self._xid = 0x1000
        self._barriers: dict[int, asyncio.Future[None]] = {}
        self._errors: dict[int, str] = {}
        self._hello = asyncio.get_running_loop().create_future()

    def next_xid(self) -> int:
        self._xid = self._xid + 1 if self._xid < 0xFFFFFFF0 else 0x1000
        return self._xid

    async def serve(self, on_ready: Callable[[SwitchConnection], None]) -> None:
        """Say hello, then read until the switch closes the connection."""
        self.writer.write(ofwire.hello(OF_VERSIONS))
        await self.writer.drain()
        buffer = bytearray()
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    return
                buffer += data
                for version, kind, xid, body in ofwire.split_messages(buffer):
                    if kind == ofwire.OFPT_HELLO and self.version is None:
                        self.version = ofwire.negotiated_version(body, version, OF_VERSIONS)
                        on_ready(self)
                    elif kind == ofwire.OFPT_ECHO_REQUEST:
                        self.writer.write(ofwire.echo_reply(version, xid, body))
                    elif kind == ofwire.OFPT_ERROR:
                        etype, code = struct.unpack_from("!HH", body) if len(body) >= 4 else (0, 0)
                        self._errors[xid] = f"OpenFlow error type {etype} code {code}"
                    elif kind == ofwire.OFPT_BARRIER_REPLY:
                        fut = self._barriers.pop(xid, None)
                        if fut is not None and not fut.done():
                            fut.set_result(None)
                await self.writer.drain()
        finally:
            for fut in self._barriers.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("OpenFlow connection closed"))
            self._barriers.clear()

    async def transact(self, messages: list[bytes], timeout: float = 10.0) -> dict[int, str]:
        """Send ``messages`` and a barrier; once the switch has processed them all, the
        errors it returned, by xid."""
        xid = self.next_xid()
        fut = asyncio.get_running_loop().create_future()
        self._barriers[xid] = fut
        self.writer.write(b"".join(messages) + ofwire.barrier(xid))
        await self.writer.drain()
        await asyncio.wait_for(fut, timeout)
        errors, self._errors = self._errors, {}
        return errors

    def close(self) -> None:
        self.writer.close()


class OvsBackend:
    assigns_ofports = False

    def __init__(
        self,
        chassis: str,
        encap_ip: str,
        ovs: OvsdbClient,
        bridge: str = "br-int",
        datapath_type: str = "netdev",
        encap_port: int = GENEVE_PORT,
        encap_type: str = "geneve",
    ) -> None:
        self.chassis = chassis
        self.encap_ip = encap_ip
        self.encap_port = encap_port
        self.encap_type = encap_type
        self.ovs = ovs
        self.bridge = bridge
        self.datapath_type = datapath_type
        self.installed: dict[str, Flow] = {}  # flow text -> flow, as on the switch
        self.n_flows = 0
        self.n_flow_mods = 0  # flow_mods sent on the OpenFlow connection
        self.n_full_syncs = 0  # whole-table replace-flows
        self.bundles = True  # changes go as one atomic bundle (off if the switch refuses)
        self.n_bundles = 0
        self._bundle_id = 0
        self.failed: dict[str, str] = {}
        self._tlv_done = False
        self._full = True  # the switch's flows are unknown: next install replaces them all
        self._epoch = 0  # counts resyncs
        self._by_id: dict[int, tuple[Flow, str | None]] = {}  # id -> flow, its text
        self._refs: dict[str, int] = {}  # text -> how many of the desired flows have it
        self._desired: dict[str, Flow] = {}  # text -> a desired flow with that text
        self._touched: set[str] = set()
        self.on_resync: Callable[[], None] | None = None  # the controller's wakeup
        self.n_switch_connects = 0
        self._conn: SwitchConnection | None = None
        # br-int's interfaces (and their ofports by name), until the Open_vSwitch tables change
        self._bridge_ifaces: dict[str, Any] | None = None
        self._ofports: dict[str, int] | None = None
        if ovs is not None:
            ovs.add_listener(self._ovs_changed)
        self._watch: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ set-up

    async def start(self) -> None:
        """Called once the Open_vSwitch client is connected: make sure br-int exists."""

        def build(txn: Txn) -> None:
            br = self.ovs.find_one("Bridge", name=self.bridge)
            if br is not None:
                return
            root = next(iter(self.ovs.rows("Open_vSwitch").values()), None)
            iface = txn.insert("Interface", {"name": self.bridge, "type": "internal"})
            port = txn.insert("Port", {"name": self.bridge, "interfaces": [iface]})
            new = txn.insert(
                "Bridge",
                {
                    "name": self.bridge,
                    "ports": [port],
                    "fail_mode": "secure",
                    "datapath_type": self.datapath_type,
                    "other_config": {"disable-in-band": "true"},
                    "protocols": ["OpenFlow10", "OpenFlow13", "OpenFlow14", "OpenFlow15"],
                },
            )
            if root is None:
                txn.insert("Open_vSwitch", {"bridges": [new]})
            else:
                txn.mutate("Open_vSwitch", root.uuid, [("bridges", "insert", [new])])

        await self.ovs.transact(build)
        if self._watch is None:
            self._watch = asyncio.ensure_future(self._watch_switch())

    def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    async def _watch_switch(self) -> None:
        """Keep an OpenFlow connection to br-int; every (re)connection means the switch's
        flows are unknown (ovs-vswitchd may have restarted): resync."""
        path = os.path.join(ovs_rundir(), f"{self.bridge}.mgmt")

        def ready(conn: SwitchConnection) -> None:
            self.n_switch_connects += 1
            if conn.version == ofwire.OFP15_VERSION:
                self._conn = conn
            else:
                log.warning("%s speaks OpenFlow version %s, not 1.5: using ovs-ofctl only",
                            path, conn.version)  # fmt: skip
            if self.n_switch_connects > 1 or self.installed:
                log.info("connected to %s again: reinstalling flows", path)
            self.resync_now()

        while True:
            try:
                reader, writer = await asyncio.open_unix_connection(path)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            conn = SwitchConnection(reader, writer)
            try:
                await conn.serve(ready)
                log.info("OpenFlow connection to %s closed", path)
            except (OSError, ValueError) as exc:
                log.info("OpenFlow connection to %s: %s", path, exc)
            finally:
                if self._conn is conn:
                    self._conn = None
                conn.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            await asyncio.sleep(0.1)

    # ------------------------------------------------------------------ ports

    def _ovs_changed(self, events: list[Any]) -> None:
        self._bridge_ifaces = None

    def bridge_interfaces(self) -> dict[str, Any]:
        """Interface rows on br-int, by uuid (kept until the Open_vSwitch tables change;
        not to be changed by the caller)."""
        out = self._bridge_ifaces
        if out is not None:
            return out
        out = {}
        br = self.ovs.find_one("Bridge", name=self.bridge)
        for port_uuid in br["ports"] if br is not None else ():
            port = self.ovs.get("Port", port_uuid)
            if port is None:
                continue
            for iface_uuid in port["interfaces"]:
                iface = self.ovs.get("Interface", iface_uuid)
                if iface is not None:
                    out[iface_uuid] = iface
        self._bridge_ifaces = out
        self._ofports = None
        return out

    def interface_ports(self) -> dict[str, int]:
        """iface-id -> ofport for the VIFs ovs-vswitchd has given a port number."""
        out = {}
        for iface in self.bridge_interfaces().values():
            iface_id = iface["external_ids"].get("iface-id")
            ofport = iface.one("ofport")
            if iface_id and isinstance(ofport, int) and ofport > 0:
                out[iface_id] = ofport
        return out

    async def sync_tunnels(self, wanted: dict[str, tuple[str, int]]) -> None:
        """Tunnel ports ovn-<chassis>-0 for exactly the peers in ``wanted``
        (chassis -> (ip, dst port))."""
        br = self.ovs.find_one("Bridge", name=self.bridge)
        if br is None:
            return
        existing = {}
        for port_uuid in br["ports"]:
            port = self.ovs.get("Port", port_uuid)
            if port is not None and port["external_ids"].get("ovn-chassis-id"):
                existing[port["external_ids"]["ovn-chassis-id"]] = port

        def options(ip: str, dport: int) -> dict[str, str]:
            opts = {"remote_ip": ip, "key": "flow", "csum": "true"}
            if dport != GENEVE_PORT:
                opts["dst_port"] = str(dport)
            return opts

        def build(txn: Txn) -> None:
            for chassis, (ip, dport) in wanted.items():
                port = existing.get(chassis)
                if port is not None:
                    iface = self.ovs.get("Interface", next(iter(port["interfaces"])))
                    if iface is not None and iface["options"] == options(ip, dport):
                        continue
                    txn.mutate("Bridge", br.uuid, [("ports", "delete", [port.uuid])])
                name = f"ovn-{chassis[:8]}-0"
                iface = txn.insert(
                    "Interface",
                    {"name": name, "type": self.encap_type, "options": options(ip, dport)},
                )
                new = txn.insert(
                    "Port",
                    {
                        "name": name,
                        "interfaces": [iface],
                        "external_ids": {"ovn-chassis-id": chassis},
                    },
                )
                txn.mutate("Bridge", br.uuid, [("ports", "insert", [new])])
            for chassis, port in existing.items():
                if chassis not in wanted:
                    txn.mutate("Bridge", br.uuid, [("ports", "delete", [port.uuid])])

        await self.ovs.transact(build)

    def tunnel(self, chassis: str, ip: str, port: int = GENEVE_PORT) -> Tunnel:
        ifaces = self.bridge_interfaces()
        ofports = self._ofports
        if ofports is None:
            ofports = self._ofports = {}
            for iface in ifaces.values():
                value = iface.one("ofport")
                ofports[iface["name"]] = value if isinstance(value, int) and value > 0 else 0
        return Tunnel(chassis, ip, self.encap_type, ofports.get(f"ovn-{chassis[:8]}-0", 0))

    # ------------------------------------------------------------------ flows

    async def install(self, flows: list[Flow]) -> tuple[int, int]:
        # The controller's caches hand back the same Flow objects while nothing changed: the
        # flows are told apart by identity (``_by_id`` holds them, so an id stays its own),
        # and only new objects are rendered. ``_refs`` counts the flows of each text (two
        # objects may render the same); a text whose count fell to 0 is removed, one that
        # went up from 0 is added. ``_touched``: the texts changed since the switch last took
        # a change (kept when sending fails, so the next install sends them too).
        by_id = self._by_id
        fresh = {id(flow): flow for flow in flows}
        refs, desired, touched = self._refs, self._desired, self._touched
        for key in by_id.keys() - fresh.keys():
            text = by_id.pop(key)[1]
            if text is None:
                continue
            if refs[text] == 1:
                del refs[text]
                del desired[text]
            else:
                refs[text] -= 1
            touched.add(text)
        for key in fresh.keys() - by_id.keys():
            flow = fresh[key]
            try:
                text: str | None = flow_text(flow)
            except UnsupportedFlow as exc:
                self.failed[str(flow)] = str(exc)
                text = None
            by_id[key] = (flow, text)
            if text is None:
                continue
            if text in refs:
                refs[text] += 1
            else:
                refs[text] = 1
                desired[text] = flow
            touched.add(text)
        installed = self.installed
        added = [t for t in touched if t in refs and t not in installed]
        removed = [t for t in touched if t not in refs and t in installed]
        if not self._full and not added and not removed:
            touched.clear()
            return 0, 0
        await self._ofctl_tlv()
        conn = self._conn
        if self._full or conn is None:
            epoch = self._epoch
            await self._replace_flows(desired)
            self._full = conn is None or epoch != self._epoch  # reconnected meanwhile: again
            self.n_full_syncs += 1
            self.installed = dict(desired)
        else:
            await self._flow_mods(conn, desired, added, removed)
            for text in removed:
                del installed[text]
            for text in added:
                installed[text] = desired[text]
        touched.clear()
        self.n_flows = len(self.installed)
        return len(added), len(removed)

    async def _replace_flows(self, lines: dict[str, Flow]) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".flows", delete=False) as f:
            f.write("\n".join(sorted(lines)) + "\n")
            path = f.name
        try:
            await self._ofctl("--bundle", "replace-flows", self.bridge, path)
        finally:
            os.unlink(path)

    async def _flow_mods(
        self, conn: SwitchConnection, lines: dict[str, Flow], added: list[str], removed: list[str]
    ) -> None:
        """Only the difference, as flow_mods: a flow whose actions changed is replaced by
        its ADD (same table, priority and match), the others removed by DELETE_STRICT."""
        replaced = {(lines[t].table, lines[t].priority, lines[t].match) for t in added}
        messages: list[bytes] = []
        sent: dict[int, str] = {}
        for text in removed:
            flow = self.installed[text]
            if (flow.table, flow.priority, flow.match) in replaced:
                continue
            xid = conn.next_xid()
            messages.append(ofwire.flow_mod(flow, ofwire.OFPFC_DELETE_STRICT, xid))
            sent[xid] = text
        for text in added:
            flow = lines[text]
            xid = conn.next_xid()
            try:
                messages.append(ofwire.flow_mod(flow, ofwire.OFPFC_ADD, xid, flow_cookie(flow)))
            except UnsupportedFlow as exc:
                self.failed[str(flow)] = str(exc)
                continue
            sent[xid] = text
        errors: dict[int, str] = {}
        if messages and self.bundles:
            # as ovn-controller: one atomic bundle, one new version of the switch's tables
            # for the whole change (packets and its datapath flow cache never see half of it)
            self._bundle_id = (self._bundle_id + 1) & 0xFFFFFFFF
            batch = ofwire.bundled(messages, self._bundle_id, conn.next_xid(), conn.next_xid())
            errors = await conn.transact(batch)
            self.n_bundles += 1
            if errors:
                # nothing of the bundle was applied: send the flow_mods one by one, so the
                # good ones go in and each rejected one is known by its xid
                log.debug("bundle %d rejected (%s): flow_mods one by one",
                          self._bundle_id, "; ".join(errors.values()))  # fmt: skip
                if not any(x in sent for x in errors):
                    self.bundles = False  # the switch does not take bundles at all
                errors = await conn.transact(messages)
        elif messages:
            errors = await conn.transact(messages)
        self.n_flow_mods += len(messages)
        for xid, why in errors.items():
            text = sent.get(xid, f"xid {xid}")
            if text not in self.failed:
                log.warning("switch rejected %s: %s", text, why)
            self.failed[text] = why

    async def resync(self) -> None:
        """Forget what we installed, so the next install replaces the switch's whole table
        (e.g. after ovs-vswitchd restarted)."""
        self.resync_now()

    def resync_now(self) -> None:
        self._epoch += 1
        self._full = True
        self._tlv_done = False
        if self.on_resync is not None:
            self.on_resync()

    async def _ofctl_tlv(self) -> None:
        if self._tlv_done:
            return
        try:
            await self._ofctl("add-tlv-map", self.bridge, TLV_MAP)
        except RuntimeError as exc:
            if "already" not in str(exc).lower() and "exists" not in str(exc).lower():
                log.debug("add-tlv-map: %s", exc)
        self._tlv_done = True

    async def _ofctl(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            "ovs-ofctl",
            "-O",
            "OpenFlow15",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"ovs-ofctl {' '.join(args)}: {err.decode().strip()}")
        return out.decode()
