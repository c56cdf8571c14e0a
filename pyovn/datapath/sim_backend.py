"""The controller's simulated datapath: a SimSwitch acting as br-int, its VIFs and tunnels,
and a real underlay: Geneve in UDP datagrams between chassis encap IPs (port 6081 unless the
peer's Encap says options:dst_port).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pyovn.datapath.flows import Flow, Tunnel
from pyovn.datapath.geneve import geneve_decap, geneve_encap
from pyovn.datapath.hosts import SimHost
from pyovn.datapath.packet import PacketError
from pyovn.datapath.sim import Result, SimSwitch

log = logging.getLogger("pyovn.datapath")

GENEVE_PORT = 6081


@dataclass
class _Peer:
    chassis: str
    ip: str
    port: int
    tunnel: Tunnel


class _Underlay(asyncio.DatagramProtocol):
    def __init__(self, backend: SimBackend) -> None:
        self.backend = backend
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.backend.from_underlay(data, addr[0], addr[1])

    def error_received(self, exc: Exception) -> None:
        log.debug("underlay error: %s", exc)


class SimBackend:
    assigns_ofports = True  # the simulator plays ovs-vswitchd: it numbers the VIF ports

    def __init__(self, chassis: str, encap_ip: str, encap_port: int = GENEVE_PORT) -> None:
        self.chassis = chassis
        self.encap_ip = encap_ip
        self.encap_port = encap_port
        self.switch = SimSwitch("br-int", self._tunnel_send)
        self.peers: dict[str, _Peer] = {}  # chassis name -> peer
        self.hosts: dict[str, SimHost] = {}
        self._underlay: _Underlay | None = None
        self.n_tunnel_rx = 0
        self.n_tunnel_tx = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_datagram_endpoint(
            lambda: _Underlay(self), local_addr=(self.encap_ip, self.encap_port)
        )
        self._underlay = proto
        if self.encap_port == 0 and proto.transport is not None:
            self.encap_port = proto.transport.get_extra_info("sockname")[1]

    def close(self) -> None:
        if self._underlay is not None and self._underlay.transport is not None:
            self._underlay.transport.close()

    # ------------------------------------------------------------------ ports

    def vif_port(self, name: str) -> int:
        """The ofport of VIF ``name`` (created on first use), like ovs-vswitchd assigns."""
        port = self.switch.add_port(name)
        host = self.hosts.get(name)
        if host is not None:
            port.on_frame = host.on_frame
        return port.ofport

    def remove_vif(self, name: str) -> None:
        self.switch.remove_port(name)

    def tunnel(self, chassis: str, ip: str, port: int = GENEVE_PORT) -> Tunnel:
        peer = self.peers.get(chassis)
        if peer is not None and peer.ip == ip and peer.port == port:
            return peer.tunnel
        sim_port = self.switch.add_port(f"ovn-{chassis[:8]}-0")
        tunnel = Tunnel(chassis, ip, "geneve", sim_port.ofport)
        self.peers[chassis] = _Peer(chassis, ip, port, tunnel)
        return tunnel

    def remove_tunnel(self, chassis: str) -> None:
        peer = self.peers.pop(chassis, None)
        if peer is not None:
            self.switch.remove_port(f"ovn-{chassis[:8]}-0")

    def install(self, flows: list[Flow]) -> tuple[int, int]:
        return self.switch.install(flows)

    # ------------------------------------------------------------------ hosts and frames

    def host(self, iface: str) -> SimHost:
        """The simulated host on VIF ``iface`` (created on first use)."""
        host = self.hosts.get(iface)
        if host is None:
            host = self.hosts[iface] = SimHost(iface, lambda frame: self.inject(iface, frame))
            port = self.switch.by_name.get(iface)
            if port is not None:
                port.on_frame = host.on_frame
        return host

    def inject(self, iface: str, frame: bytes, trace: bool = False) -> Result:
        port = self.switch.by_name.get(iface)
        if port is None:
            raise KeyError(f"no VIF {iface}")
        return self.switch.receive(port.ofport, frame, trace)

    # ------------------------------------------------------------------ underlay

    def _tunnel_send(
        self, tunnel: Tunnel, vni: int, inport: int, outport: int, inner: bytes
    ) -> None:
        peer = self.peers.get(tunnel.chassis)
        if peer is None or self._underlay is None or self._underlay.transport is None:
            return
        self.n_tunnel_tx += 1
        self._underlay.transport.sendto(
            geneve_encap(vni, inport, outport, inner), (peer.ip, peer.port)
        )

    def from_underlay(self, data: bytes, src_ip: str, src_port: int = GENEVE_PORT) -> None:
        try:
            pkt = geneve_decap(data)
        except PacketError as exc:
            log.debug("bad Geneve packet from %s: %s", src_ip, exc)
            return
        peer = next(
            (p for p in self.peers.values() if p.ip == src_ip and p.port == src_port),
            next((p for p in self.peers.values() if p.ip == src_ip), None),
        )
        if peer is None:
            log.debug("Geneve packet from unknown peer %s", src_ip)
            return
        self.n_tunnel_rx += 1
        try:
            self.switch.receive_tunnel(
                peer.tunnel.port, pkt.vni, pkt.inport_key, pkt.outport_key, pkt.inner
            )
        except PacketError as exc:
            log.debug("bad inner frame from %s: %s", src_ip, exc)
