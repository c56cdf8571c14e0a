"""Text forms: the OpenFlow header line and the three layouts, checked against what Debian's
ovn-trace 23.03 prints for the same packets and flows (uuids aside)."""

from __future__ import annotations

import re

import pytest

from pyovn.trace import parse_microflow, trace_rows
from pyovn.trace.ofp import flow_string
from pyovn.trace.render import normalize_modes, render
from pyovn.trace.tree import Kind, Node
from tests.unit.trace.fakesb import FakeSb, northd_switch, vif


@pytest.mark.parametrize(
    ("microflow", "keys", "expected"),
    [
        (
            'inport == "vm1" && eth.src == 00:00:00:00:00:01 && eth.dst == 00:00:00:00:00:02 '
            "&& ip4.src == 10.0.0.1 && ip4.dst == 10.0.0.2",
            (3, 0),
            "ip,reg14=0x3,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,"
            "nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no",
        ),
        (
            'inport == "vm1" && eth.src == 00:00:00:00:00:01 && eth.dst == ff:ff:ff:ff:ff:ff '
            "&& arp.op == 1 && arp.spa == 10.0.0.1 && arp.tpa == 10.0.0.5",
            (3, 0),
            "arp,reg14=0x3,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,"
            "arp_spa=10.0.0.1,arp_tpa=10.0.0.5,arp_op=1,arp_sha=00:00:00:00:00:00,"
            "arp_tha=00:00:00:00:00:00",
        ),
        (
            'inport == "vm1" && eth.src == 00:00:00:00:00:01 && eth.dst == 00:00:00:00:00:99',
            (3, 0),
            "reg14=0x3,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:99,"
            "dl_type=0x0000",
        ),
        (
            'inport == "p2" && pkt.mark == 3 && reg0 == 1 && flags.loopback == 1 && '
            'outport == "p1" && reg9 == 2 && ct.est && ct_mark == 5 && ip4 && tcp.flags == 0x12'
            " && ip.dscp == 3 && ip.ecn == 1 && ip.frag == 1",
            (2, 1),
            "pkt_mark=0x3,ct_state=est|trk,ct_mark=0x5,tcp,reg0=0x1,reg9=0x2,reg10=0x1,reg14=0x2,"
            "reg15=0x1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,"
            "nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=12,nw_ecn=1,nw_ttl=0,nw_frag=first,tp_src=0,"
            "tp_dst=0,tcp_flags=syn|ack",
        ),
        (
            'inport == "p2" && ip6 && icmp6.type == 136 && icmp6.code == 0 && ip.ttl == 255',
            (2, 0),
            "icmp6,reg14=0x2,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,"
            "ipv6_src=::,ipv6_dst=::,ipv6_label=0x00000,nw_tos=0,nw_ecn=0,nw_ttl=255,nw_frag=no,"
            "icmp_type=136,icmp_code=0,nd_target=::,nd_sll=00:00:00:00:00:00,"
            "nd_tll=00:00:00:00:00:00",
        ),
        (
            'inport == "p2" && vlan.tci == 0x3064',
            (2, 0),
            "reg14=0x2,dl_vlan=100,dl_vlan_pcp=1,vlan_tci1=0x0000,dl_src=00:00:00:00:00:00,"
            "dl_dst=00:00:00:00:00:00,dl_type=0x0000",
        ),
        (
            'inport == "p2" && rarp',
            (2, 0),
            "rarp,reg14=0x2,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,"
            "arp_spa=0.0.0.0,arp_tpa=0.0.0.0,arp_op=0,arp_sha=00:00:00:00:00:00,"
            "arp_tha=00:00:00:00:00:00",
        ),
        (
            'inport == "p2" && ct_label.label == 1 && ip4 && ip.proto == 50',
            (2, 0),
            "ct_label=0x1000000000000000000000000,ip,reg14=0x2,vlan_tci=0x0000,"
            "dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,"
            "nw_proto=50,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no",
        ),
        (
            'inport == "vm1" && ip6 && udp.dst == 53',
            (3, 0),
            "udp6,reg14=0x3,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,"
            "ipv6_src=::,ipv6_dst=::,ipv6_label=0x00000,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,"
            "tp_src=0,tp_dst=53",
        ),
        (
            'inport == "p2" && xxreg1 == 1 && eth.type == 0x88cc',
            (2, 0),
            "reg7=0x1,reg14=0x2,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,"
            "dl_dst=00:00:00:00:00:00,dl_type=0x88cc",
        ),
        (
            'inport == "p2" && igmp',
            (2, 0),
            "ip,reg14=0x2,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,"
            "nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,"
            "tp_src=0,tp_dst=0",
        ),
        (
            'inport == "vm1" && icmp4',
            (3, 0),
            "icmp,reg14=0x3,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,"
            "nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,icmp_type=0,"
            "icmp_code=0",
        ),
    ],
)
def test_openflow_header_line(microflow: str, keys: tuple[int, int], expected: str) -> None:
    assert flow_string(parse_microflow(microflow), *keys) == expected


# ---------------------------------------------------------------------------- layouts


def sw0() -> FakeSb:
    sb = FakeSb()
    northd_switch(
        sb,
        "sw0",
        [
            vif("c1", "00:00:00:00:00:11", "10.0.0.11", parent="vm1", tag_request=10),
            vif("vm1", "00:00:00:00:00:01", "10.0.0.1",
                port_security=frozenset({"00:00:00:00:00:01 10.0.0.1"})),
            vif("vm2", "00:00:00:00:00:02", "10.0.0.2"),
            vif("vm3", "00:00:00:00:00:03", "10.0.0.3"),
        ],
        tags={"c1": 10},
    )  # fmt: skip
    return sb


def _no_uuids(text: str) -> str:
    return re.sub(r"uuid [0-9a-f]{8}", "uuid X", text)


BROADCAST = (
    'inport == "vm1" && eth.src == 00:00:00:00:00:01 && eth.dst == ff:ff:ff:ff:ff:ff && '
    "arp.op == 1 && arp.spa == 10.0.0.1 && arp.tpa == 10.0.0.5"
)
BROADCAST_DETAILED = """\
# arp,reg14=0x2,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,\
arp_spa=10.0.0.1,arp_tpa=10.0.0.5,arp_op=1,arp_sha=00:00:00:00:00:00,arp_tha=00:00:00:00:00:00

ingress(dp="sw0", inport="vm1")
-------------------------------
 0. ls_in_port_sec_l2: inport == "vm1" && eth.src == {00:00:00:00:00:01}, priority 50, uuid X
    next;
 2. ls_in_l2_lkup: eth.mcast, priority 70, uuid X
    outport = "_MC_flood";
    output;

multicast(dp="sw0", mcgroup="_MC_flood")
----------------------------------------

    egress(dp="sw0", inport="vm1", outport="c1")
    --------------------------------------------
         0. ls_out_port_sec_l2: eth.mcast, priority 100, uuid X
            output;
            /* output to "c1", type "" */
            /* on the hypervisor: VLAN 10 pushed -> out of the VIF of "vm1" */

    egress(dp="sw0", inport="vm1", outport="vm1")
    ---------------------------------------------
            /* omitting output because inport == outport && !flags.loopback */

    egress(dp="sw0", inport="vm1", outport="vm2")
    ---------------------------------------------
         0. ls_out_port_sec_l2: eth.mcast, priority 100, uuid X
            output;
            /* output to "vm2", type "" */

    egress(dp="sw0", inport="vm1", outport="vm3")
    ---------------------------------------------
         0. ls_out_port_sec_l2: eth.mcast, priority 100, uuid X
            output;
            /* output to "vm3", type "" */
"""
BROADCAST_SUMMARY = """\
ingress(dp="sw0", inport="vm1") {
    next;
    outport = "_MC_flood";
    output;
    multicast(dp="sw0", mcgroup="_MC_flood") {
        egress(dp="sw0", inport="vm1", outport="c1") {
            output;
            /* output to "c1", type "" */;
            /* on the hypervisor: VLAN 10 pushed -> out of the VIF of "vm1" */;
        };
        egress(dp="sw0", inport="vm1", outport="vm1") {
            /* omitting output because inport == outport && !flags.loopback */;
        };
        egress(dp="sw0", inport="vm1", outport="vm2") {
            output;
            /* output to "vm2", type "" */;
        };
        egress(dp="sw0", inport="vm1", outport="vm3") {
            output;
            /* output to "vm3", type "" */;
        };
    };
};
"""


def test_broadcast_layouts() -> None:
    result = trace_rows(sw0().rows, "sw0", BROADCAST)
    assert _no_uuids(result.render()) == BROADCAST_DETAILED
    assert result.render("summary").split("\n", 1)[1] == BROADCAST_SUMMARY
    assert result.render("minimal").split("\n", 1)[1] == (
        'output("c1");\noutput("vm2");\noutput("vm3");\n'
    )
    assert result.delivered == ["c1", "vm2", "vm3"]


def test_arp_responder_minimal_reduces_to_constants() -> None:
    micro = (
        'inport == "vm2" && eth.src == 00:00:00:00:00:02 && eth.dst == ff:ff:ff:ff:ff:ff && '
        "arp.op == 1 && arp.spa == 10.0.0.2 && arp.tpa == 10.0.0.1 && arp.sha == 00:00:00:00:00:02"
    )
    result = trace_rows(sw0().rows, "sw0", micro)
    assert result.render("minimal").split("\n", 1)[1] == (
        "eth.dst = 00:00:00:00:00:02;\n"
        "eth.src = 00:00:00:00:00:01;\n"
        "arp.op = 2;\n"
        "arp.tha = 00:00:00:00:00:02;\n"
        "arp.sha = 00:00:00:00:00:01;\n"
        "arp.tpa = 10.0.0.2;\n"
        "arp.spa = 10.0.0.1;\n"
        'output("vm2");\n'
    )
    detailed = result.render()
    assert "    outport = inport;\n    flags.loopback = 1;\n    output;\n" in detailed
    assert 'egress(dp="sw0", inport="vm2", outport="vm2")' in detailed


def test_unicast_back_to_the_inport_is_omitted_in_ingress() -> None:
    micro = 'inport == "vm2" && eth.src == 00:00:00:00:00:02 && eth.dst == 00:00:00:00:00:02'
    result = trace_rows(sw0().rows, "sw0", micro)
    assert result.render("summary").split("\n", 1)[1] == (
        'ingress(dp="sw0", inport="vm2") {\n'
        "    next;\n"
        '    outport = "vm2";\n'
        "    output;\n"
        "    /* omitting output because inport == outport && !flags.loopback */;\n"
        "};\n"
    )
    assert result.dropped


def test_several_forms_get_banners_in_ovn_trace_order() -> None:
    node = Node(Kind.PIPELINE, 'ingress(dp="x", inport="y")')
    node.add(Kind.TABLE, " 0. no match (implicit drop)")
    text = render("h", [node], ["minimal", "detailed"])
    assert text == (
        "# h\n# Detailed trace.\n\n"
        'ingress(dp="x", inport="y")\n---------------------------\n'
        " 0. no match (implicit drop)\n"
        "# Minimal trace.\n"
    )
    assert render("h", [node], "summary") == '# h\ningress(dp="x", inport="y");\n'
    assert normalize_modes("all") == ("detailed", "summary", "minimal")
    assert normalize_modes([]) == ("detailed",)
    with pytest.raises(ValueError):
        normalize_modes("verbose")
