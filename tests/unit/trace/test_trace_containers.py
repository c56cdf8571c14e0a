"""Containers inside VMs: VLAN tags stripped on the way in, pushed on the way out."""

from __future__ import annotations

from pyovn.trace import trace_rows
from tests.unit.trace.fakesb import FakeSb, northd_switch, vif

VM1 = "00:00:00:00:00:01"
C1 = "00:00:00:00:00:11"
C2 = "00:00:00:00:00:12"
WEB = "00:00:00:00:00:21"


def topology() -> FakeSb:
    """vm1 on "hosts"; its containers c1 (tag 10) and c2 (no tag) on "apps" with web."""
    sb = FakeSb()
    northd_switch(sb, "hosts", [vif("vm1", VM1, "10.0.0.1")], key=1)
    northd_switch(
        sb,
        "apps",
        [
            vif("c1", C1, "10.1.0.11", parent="vm1", tag_request=10),
            vif("c2", C2, "10.1.0.12", parent="vm1"),
            vif("web", WEB, "10.1.0.21"),
        ],
        tags={"c1": 10},
        key=2,
    )
    return sb


def test_container_inport_reports_the_tag_stripped() -> None:
    micro = f'inport == "c1" && eth.src == {C1} && eth.dst == {WEB}'
    result = trace_rows(topology().rows, "apps", micro)
    text = result.render()
    first = text.split("\n")[2]
    assert first == (
        '/* on the hypervisor: frame from the VIF of "vm1" with VLAN 10 -> tag stripped -> '
        'inport "c1" */'
    )
    assert '\ningress(dp="apps", inport="c1")\n' in text
    assert result.delivered == ["web"]
    summary = result.render("summary").split("\n")[1]
    assert summary.startswith("/* on the hypervisor: frame from the VIF") and summary[-1] == ";"


def test_vm_port_with_the_containers_vlan_becomes_the_container() -> None:
    micro = f'inport == "vm1" && vlan.vid == 10 && eth.src == {C1} && eth.dst == {WEB}'
    result = trace_rows(topology().rows, None, micro)
    assert result.header.startswith("reg14=0x1,dl_vlan=10,")  # the frame as on the wire
    text = result.render()
    assert 'with VLAN 10 -> tag stripped -> inport "c1" */' in text
    assert '\ningress(dp="apps", inport="c1")\n' in text  # the container's own switch
    (delivery,) = result.deliveries
    assert delivery.port == "web" and delivery.packet["vlan.tci"] == 0


def test_unknown_vlan_tag_is_dropped_on_the_hypervisor() -> None:
    micro = f'inport == "vm1" && vlan.vid == 11 && eth.src == {VM1} && eth.dst == {WEB}'
    result = trace_rows(topology().rows, "hosts", micro)
    assert result.dropped
    assert result.drops == [
        'dropped on the hypervisor: no container port inside "vm1" has VLAN tag 11'
    ]
    assert "ingress(" not in result.render("all")
    assert result.render("minimal").count("\n") == 1


def test_output_to_a_container_pushes_its_tag() -> None:
    micro = f'inport == "web" && eth.src == {WEB} && eth.dst == {C1}'
    result = trace_rows(topology().rows, "apps", micro)
    text = result.render()
    assert (
        '    /* output to "c1", type "" */\n'
        '    /* on the hypervisor: VLAN 10 pushed -> out of the VIF of "vm1" */\n'
    ) in text
    (delivery,) = result.deliveries
    assert (delivery.port, delivery.parent, delivery.tag) == ("c1", "vm1", 10)
    assert result.render("minimal").endswith('output("c1");\n')


def test_container_without_a_tag_is_unreachable() -> None:
    sb = topology()
    out = trace_rows(sb.rows, "apps", f'inport == "web" && eth.src == {WEB} && eth.dst == {C2}')
    assert out.dropped and "no VLAN tag" in out.drops[0]
    assert '/* on the hypervisor: container port "c2" has no VLAN tag' in out.render()
    into = trace_rows(sb.rows, "apps", f'inport == "c2" && eth.src == {C2} && eth.dst == {WEB}')
    assert into.dropped and "ingress(" not in into.render()


def test_broadcast_from_a_container_reaches_its_switch_only() -> None:
    micro = f'inport == "c1" && eth.src == {C1} && eth.dst == ff:ff:ff:ff:ff:ff'
    result = trace_rows(topology().rows, "apps", micro)
    assert result.delivered == ["web"]  # c2 has no tag; c1 is the sender; vm1 is elsewhere
    assert any("c2" in d and "no VLAN tag" in d for d in result.drops)


def test_tagged_frame_on_a_non_vif_port_is_left_alone() -> None:
    sb = FakeSb()
    northd_switch(sb, "net", [vif("ln", None, type="localnet"), vif("vm", VM1, "10.0.0.1")])
    micro = f'inport == "ln" && vlan.vid == 5 && eth.dst == {VM1}'
    result = trace_rows(sb.rows, "net", micro)
    assert "on the hypervisor" not in result.render()
    assert " 0. ls_in_port_sec_l2: vlan.present, priority 100" in result.render()
