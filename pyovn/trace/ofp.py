"""The first line of a trace: the microflow in OpenFlow syntax, as ovn-trace prints it.

ovn-trace shows the packet as Open vSwitch would see it on br-int: logical registers are
``reg0``..``reg9``, the logical flags ``reg10``, the logical input and output ports ``reg14`` and
``reg15`` (as tunnel keys), followed by the header fields under their OpenFlow names
(``dl_src``, ``nw_src``, ``tp_dst``...). This module writes the same text for the common
protocols (Ethernet, VLAN, ARP/RARP, IPv4, IPv6, TCP, UDP, SCTP, ICMP, ND).
"""

from __future__ import annotations

from pyovn.logical.values import IntFormat, format_int
from pyovn.trace.packet import Packet

_CT_STATE = ("new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat")
_TCP_FLAGS = ("fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns")
_L4_NAMES = {6: "tcp", 17: "udp", 132: "sctp"}
ETH_IP4, ETH_IP6, ETH_ARP, ETH_RARP = 0x800, 0x86DD, 0x806, 0x8035
VLAN_PRESENT = 0x1000


def _mac(value: int) -> str:
    return format_int(value, IntFormat.ETHERNET)


def _flag_names(value: int, names: tuple[str, ...]) -> str:
    parts = [name for bit, name in enumerate(names) if value & (1 << bit)]
    extra = value & ~((1 << len(names)) - 1)
    if extra:
        parts.append(f"0x{extra:x}")
    return "|".join(parts) if parts else "0"


def _frag(value: int) -> str:
    if not value & 1:
        return "no"
    return "later" if value & 2 else "first"


def _int(packet: Packet, name: str) -> int:
    value = packet[name]
    assert isinstance(value, int)
    return value


def flow_string(packet: Packet, inport_key: int = 0, outport_key: int = 0) -> str:
    """``packet`` in OpenFlow match syntax (``ip,reg14=0x3,vlan_tci=0x0000,dl_src=...``)."""

    def f(name: str) -> int:
        return _int(packet, name)

    parts: list[str] = []
    if f("pkt.mark"):
        parts.append(f"pkt_mark=0x{f('pkt.mark'):x}")
    if f("ct_state"):
        parts.append(f"ct_state={_flag_names(f('ct_state'), _CT_STATE)}")
    if f("ct_mark"):
        parts.append(f"ct_mark=0x{f('ct_mark'):x}")
    if f("ct_label"):
        parts.append(f"ct_label=0x{f('ct_label'):x}")
    eth_type, proto = f("eth.type"), f("ip.proto")
    prefix = _protocol(eth_type, proto)
    if prefix:
        parts.append(prefix)
    regs = [(i, f(f"reg{i}")) for i in range(10)]
    regs += [(10, f("flags")), (14, inport_key), (15, outport_key)]
    parts.extend(f"reg{i}=0x{v:x}" for i, v in regs if v)
    tci = f("vlan.tci")
    if tci & VLAN_PRESENT:
        parts.append(f"dl_vlan={tci & 0xFFF},dl_vlan_pcp={tci >> 13},vlan_tci1=0x0000")
    else:
        parts.append("vlan_tci=0x0000")
    parts.append(f"dl_src={_mac(f('eth.src'))},dl_dst={_mac(f('eth.dst'))}")
    if eth_type == ETH_IP4:
        parts.append(
            f"nw_src={format_int(f('ip4.src'), IntFormat.IPV4)},"
            f"nw_dst={format_int(f('ip4.dst'), IntFormat.IPV4)}"
        )
        parts.extend(_ip_common(packet, proto, prefix))
        parts.extend(_l4(packet, proto, icmp_type="icmp4.type", icmp_code="icmp4.code", icmp=1))
    elif eth_type == ETH_IP6:
        parts.append(
            f"ipv6_src={format_int(f('ip6.src'), IntFormat.IPV6)},"
            f"ipv6_dst={format_int(f('ip6.dst'), IntFormat.IPV6)},"
            f"ipv6_label=0x{f('ip6.label'):05x}"
        )
        parts.extend(_ip_common(packet, proto, prefix))
        parts.extend(_l4(packet, proto, icmp_type="icmp6.type", icmp_code="icmp6.code", icmp=58))
    elif eth_type in (ETH_ARP, ETH_RARP):
        parts.append(
            f"arp_spa={format_int(f('arp.spa'), IntFormat.IPV4)},"
            f"arp_tpa={format_int(f('arp.tpa'), IntFormat.IPV4)},"
            f"arp_op={f('arp.op')},arp_sha={_mac(f('arp.sha'))},arp_tha={_mac(f('arp.tha'))}"
        )
    else:
        parts.append(f"dl_type=0x{eth_type:04x}")
    return ",".join(parts)


def _protocol(eth_type: int, proto: int) -> str:
    if eth_type == ETH_IP4:
        return {1: "icmp", **_L4_NAMES}.get(proto, "ip")
    if eth_type == ETH_IP6:
        if proto == 58:
            return "icmp6"
        return _L4_NAMES[proto] + "6" if proto in _L4_NAMES else "ipv6"
    if eth_type == ETH_ARP:
        return "arp"
    if eth_type == ETH_RARP:
        return "rarp"
    return ""


def _ip_common(packet: Packet, proto: int, prefix: str) -> list[str]:
    out = []
    if prefix in ("ip", "ipv6"):
        out.append(f"nw_proto={proto}")
    out.append(
        f"nw_tos={_int(packet, 'ip.dscp') << 2},nw_ecn={_int(packet, 'ip.ecn')},"
        f"nw_ttl={_int(packet, 'ip.ttl')},nw_frag={_frag(_int(packet, 'ip.frag'))}"
    )
    return out


def _l4(packet: Packet, proto: int, *, icmp_type: str, icmp_code: str, icmp: int) -> list[str]:
    if _int(packet, "ip.frag") & 2:  # a later fragment has no L4 header
        return []
    name = _L4_NAMES.get(proto)
    if name is not None:
        out = [f"tp_src={_int(packet, name + '.src')},tp_dst={_int(packet, name + '.dst')}"]
        if name == "tcp":
            out.append(f"tcp_flags={_flag_names(_int(packet, 'tcp.flags'), _TCP_FLAGS)}")
        return out
    if proto == icmp:
        itype = _int(packet, icmp_type)
        out = [f"icmp_type={itype},icmp_code={_int(packet, icmp_code)}"]
        if icmp == 58 and itype in (135, 136):
            out.append(
                f"nd_target={format_int(_int(packet, 'nd.target'), IntFormat.IPV6)},"
                f"nd_sll={_mac(_int(packet, 'nd.sll'))},nd_tll={_mac(_int(packet, 'nd.tll'))}"
            )
        return out
    if icmp == 1 and proto == 2:  # IGMP: OVS shows its type and code as tp_src/tp_dst
        return ["tp_src=0,tp_dst=0"]
    return []
