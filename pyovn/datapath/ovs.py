"""The real Open vSwitch datapath: br-int in a running ovs-vswitchd, programmed through
``ovs-ofctl``.

Flows: the controller's whole desired table is rendered in ovs-ofctl's syntax and applied
with ``ovs-ofctl --bundle replace-flows``: ovs-ofctl diffs it against what the switch has and
sends only the differences, in one OpenFlow bundle (atomic). That same command resyncs a
restarted ovs-vswitchd and leaves traffic alone when a restarted controller wants the flows
that are already there (no flush). ovs-ofctl is used rather than an OpenFlow library
because it ships with Open vSwitch and speaks exactly the dialect (NXM fields, bundles)
that the installed switch understands.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from typing import Any

from pyovn.datapath.flows import Flow, Tunnel
from pyovn.datapath.openflow import UnsupportedFlow, flow_text
from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.ovsdb.client.txn import Txn

log = logging.getLogger("pyovn.datapath.ovs")

GENEVE_PORT = 6081
TLV_MAP = "{class=0x102,type=0x80,len=4}->tun_metadata0"


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
        self.installed: set[str] = set()
        self.n_flows = 0
        self.failed: dict[str, str] = {}
        self._tlv_done = False

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

    def close(self) -> None:
        pass

    # ------------------------------------------------------------------ ports

    def bridge_interfaces(self) -> dict[str, Any]:
        """Interface rows on br-int, by uuid."""
        br = self.ovs.find_one("Bridge", name=self.bridge)
        if br is None:
            return {}
        out = {}
        for port_uuid in br["ports"]:
            port = self.ovs.get("Port", port_uuid)
            if port is None:
                continue
            for iface_uuid in port["interfaces"]:
                iface = self.ovs.get("Interface", iface_uuid)
                if iface is not None:
                    out[iface_uuid] = iface
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
        ofport = 0
        for iface in self.bridge_interfaces().values():
            if iface["name"] == f"ovn-{chassis[:8]}-0":
                value = iface.one("ofport")
                ofport = value if isinstance(value, int) and value > 0 else 0
        return Tunnel(chassis, ip, self.encap_type, ofport)

    # ------------------------------------------------------------------ flows

    async def install(self, flows: list[Flow]) -> tuple[int, int]:
        lines = set()
        for flow in flows:
            try:
                lines.add(flow_text(flow))
            except UnsupportedFlow as exc:
                self.failed[str(flow)] = str(exc)
        added = len(lines - self.installed)
        removed = len(self.installed - lines)
        if not added and not removed:
            return 0, 0
        await self._ofctl_tlv()
        with tempfile.NamedTemporaryFile("w", suffix=".flows", delete=False) as f:
            f.write("\n".join(sorted(lines)) + "\n")
            path = f.name
        try:
            await self._ofctl("--bundle", "replace-flows", self.bridge, path)
        finally:
            os.unlink(path)
        self.installed = lines
        self.n_flows = len(lines)
        return added, removed

    async def resync(self) -> None:
        """Forget what we installed, so the next install re-checks the switch (e.g. after
        ovs-vswitchd restarted)."""
        self.installed = set()
        self._tlv_done = False

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
