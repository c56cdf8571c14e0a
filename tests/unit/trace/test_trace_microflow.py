"""Microflows: one packet from a logical-flow expression, as ovn-trace reads them."""

from __future__ import annotations

import pytest

from pyovn.trace import MicroflowError, parse_microflow


def test_pinned_fields_and_prerequisites() -> None:
    p = parse_microflow(
        'inport == "vm1" && eth.src == 00:00:00:00:00:01 && arp.op == 1 && arp.tpa == 10.0.0.2'
    )
    assert p.inport == "vm1" and p.outport == ""
    assert p["eth.type"] == 0x806  # implied by arp.*
    assert p["eth.src"] == 1 and p["arp.op"] == 1 and p["arp.tpa"] == 0x0A000002
    assert p["eth.dst"] == 0 and p["ip.ttl"] == 0  # unconstrained: zero, as ovn-trace


def test_l4_fields_imply_the_protocol() -> None:
    p = parse_microflow('inport == "a" && ip4 && tcp.dst == 80')
    assert (p["eth.type"], p["ip.proto"], p["tcp.dst"]) == (0x800, 6, 80)
    p = parse_microflow('inport == "a" && ip6 && udp')
    assert (p["eth.type"], p["ip.proto"]) == (0x86DD, 17)


def test_predicates_pin_what_they_say() -> None:
    p = parse_microflow('inport == "a" && nd_ns')
    assert (p["icmp6.type"], p["icmp6.code"], p["ip.ttl"]) == (135, 0, 255)
    assert parse_microflow('inport == "a" && eth.bcast')["eth.dst"] == 0xFFFF_FFFF_FFFF


def test_masks_and_subfields_set_only_their_bits() -> None:
    assert parse_microflow('inport == "a" && ip4.src == 10.0.0.0/8')["ip4.src"] == 0x0A000000
    p = parse_microflow('inport == "a" && vlan.vid == 10 && vlan.pcp == 1')
    assert p["vlan.tci"] == 0x1000 | 0x2000 | 10  # vlan.present implied by vlan.vid
    assert parse_microflow('inport == "a" && eth.src[40]')["eth.src"] == 1 << 40
    assert parse_microflow('inport == "a" && xreg0 == 0x100000002')["reg0"] == 1


def test_metadata_can_be_given() -> None:
    p = parse_microflow('inport == "a" && outport == "b" && flags.loopback == 1 && ct.est')
    assert p.outport == "b" and p["flags"] == 1 and p["ct_state"] == 0x22


@pytest.mark.parametrize(
    ("microflow", "message"),
    [
        ('inport == "vm1" && tcp.src == 80', "ambiguous.*eth.type=0x800.*eth.type=0x86dd"),
        ('inport == "vm1" && ip4 && tcp.src > 1024', "ambiguous"),
        ('inport == "vm1" && eth.src == {00:00:00:00:00:01, 00:00:00:00:00:02}', "ambiguous"),
        ('inport == "vm1" && ip4 && ip4.src != 10.0.0.1', "ambiguous"),
        ('inport == "vm1" && ip4 && ip6', "contradictory"),
        ('inport == "vm1" && inport == "vm2"', "contradictory"),
        ('inport == "vm1" &&', "error parsing microflow: Syntax error"),
        ('inport == "vm1" && nosuch == 1', "error parsing microflow: .*nosuch"),
        ('is_chassis_resident("vm1")', "is_chassis_resident"),
        ("", "empty microflow"),
    ],
)
def test_bad_microflows(microflow: str, message: str) -> None:
    with pytest.raises(MicroflowError, match=message):
        parse_microflow(microflow)


def test_address_sets_and_port_groups_can_be_used() -> None:
    p = parse_microflow(
        "inport == @pg && ip4.src == $as", address_sets={"as": ["10.0.0.7"]},
        port_groups={"pg": ["vm9"]},
    )  # fmt: skip
    assert p.inport == "vm9" and p["ip4.src"] == 0x0A000007
