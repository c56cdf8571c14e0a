"""Simulated hosts on the simulated datapath's VIFs: a VM answers ARP and ping for its own
address, and a container inside the VM does the same on its VLAN (the VM's VIF is a trunk:
the container's frames carry its tag, exactly what a VM with VLAN sub-interfaces sends).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pyovn.datapath.craft import arp_request, icmp4_echo, int_to_mac, ip4_to_int, mac_to_int
from pyovn.datapath.packet import PacketError, build_frame, parse_frame

ARP = 0x0806
IPV4 = 0x0800


@dataclass
class Identity:
    """One network identity behind a VIF: the VM itself (vlan None) or a container."""

    mac: str
    ip: str
    vlan: int | None = None
    neighbors: dict[int, int] = field(default_factory=dict)  # ip -> mac learned by ARP
    received: list[bytes] = field(default_factory=list)


class SimHost:
    """Answers ARP requests and ICMP echo requests for its identities; can ping others."""

    def __init__(self, name: str, send: Callable[[bytes], None]) -> None:
        self.name = name
        self.send = send  # inject a frame into the switch from this host's VIF
        self.identities: dict[int | None, Identity] = {}
        self._waiters: dict[tuple[int | None, int, int], asyncio.Future[float]] = {}
        self._arp_waiters: dict[tuple[int | None, int], asyncio.Future[int]] = {}

    def add_identity(self, mac: str, ip: str, vlan: int | None = None) -> Identity:
        identity = Identity(mac.lower(), ip, vlan)
        self.identities[vlan] = identity
        return identity

    def remove_identity(self, vlan: int | None) -> None:
        self.identities.pop(vlan, None)

    # ------------------------------------------------------------------ receiving

    def on_frame(self, frame: bytes) -> None:
        try:
            parsed = parse_frame(frame)
        except PacketError:
            return
        f = parsed.fields
        tci = f.get("vlan.tci", 0)
        vlan = tci & 0xFFF if tci & 0x1000 else None
        me = self.identities.get(vlan)
        if me is None:
            return  # a frame for a VLAN nobody here uses
        my_mac = mac_to_int(me.mac)
        dst = f.get("eth.dst", 0)
        if dst != my_mac and not dst & (1 << 40):
            return
        me.received.append(frame)
        etype = f.get("eth.type")
        if etype == ARP:
            self._arp(me, f)
        elif etype == IPV4 and f.get("ip.proto") == 1 and f.get("ip4.dst") == ip4_to_int(me.ip):
            self._icmp(me, f, parsed.payload)

    def _arp(self, me: Identity, f: dict[str, int]) -> None:
        my_ip = ip4_to_int(me.ip)
        if f.get("arp.op") == 1 and f.get("arp.tpa") == my_ip:
            reply = dict(f)
            reply.update(
                {
                    "eth.dst": f["eth.src"],
                    "eth.src": mac_to_int(me.mac),
                    "arp.op": 2,
                    "arp.tha": f["arp.sha"],
                    "arp.tpa": f["arp.spa"],
                    "arp.sha": mac_to_int(me.mac),
                    "arp.spa": my_ip,
                }
            )
            self.send(build_frame(reply, b""))
        elif f.get("arp.op") == 2:
            me.neighbors[f["arp.spa"]] = f["arp.sha"]
            waiter = self._arp_waiters.pop((me.vlan, f["arp.spa"]), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(f["arp.sha"])

    def _icmp(self, me: Identity, f: dict[str, int], payload: bytes) -> None:
        if f.get("icmp4.type") == 8:
            reply = dict(f)
            reply.update(
                {
                    "eth.dst": f["eth.src"],
                    "eth.src": mac_to_int(me.mac),
                    "ip4.src": f["ip4.dst"],
                    "ip4.dst": f["ip4.src"],
                    "icmp4.type": 0,
                }
            )
            self.send(build_frame(reply, payload))
        elif f.get("icmp4.type") == 0 and len(payload) >= 4:
            ident = int.from_bytes(payload[0:2], "big")
            seq = int.from_bytes(payload[2:4], "big")
            waiter = self._waiters.pop((me.vlan, ident, seq), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(time.perf_counter())

    # ------------------------------------------------------------------ pinging

    async def ping(
        self, dst_ip: str, vlan: int | None = None, timeout: float = 2.0, seq: int = 1
    ) -> float:
        """Round-trip time in seconds (ARP first if needed); raises TimeoutError."""
        me = self.identities[vlan]
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        target = ip4_to_int(dst_ip)
        mac = me.neighbors.get(target)
        if mac is None:
            fut: asyncio.Future[int] = loop.create_future()
            self._arp_waiters[(vlan, target)] = fut
            self.send(arp_request(me.mac, me.ip, dst_ip, vlan=vlan))
            try:
                mac = await asyncio.wait_for(fut, timeout)
            except TimeoutError:
                self._arp_waiters.pop((vlan, target), None)
                raise TimeoutError(f"no ARP reply from {dst_ip}") from None
        ident = 0x5059
        waiter: asyncio.Future[float] = loop.create_future()
        self._waiters[(vlan, ident, seq)] = waiter
        self.send(
            icmp4_echo(me.mac, int_to_mac(mac), me.ip, dst_ip, ident=ident, seq=seq, vlan=vlan)
        )
        try:
            done = await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            self._waiters.pop((vlan, ident, seq), None)
            raise TimeoutError(f"no echo reply from {dst_ip}") from None
        return done - start
