"""Physical flows: containers' VLAN tags, tunnels, multicast, loopback, run in the simulator."""

from __future__ import annotations

from pyovn.controller.physical import LocalPort, McGroup, PhysicalState, RemotePort, physical_flows
from pyovn.datapath.craft import icmp4_echo
from pyovn.datapath.flows import OUTPORT, T_LOG_INGRESS, Flow, Resubmit, SetField, Tunnel
from pyovn.datapath.packet import parse_frame
from pyovn.datapath.sim import SimSwitch

VM = LocalPort("vm1", 5, 1, ofport=1)
C10 = LocalPort("c1", 6, 3, ofport=1, tag=10)  # a container inside vm1, on datapath 6
OTHER = LocalPort("vm2", 6, 2, ofport=2)


def switch_with(extra: list[Flow], state: PhysicalState) -> SimSwitch:
    sw = SimSwitch()
    sw.add_port("vm1", 1)
    sw.add_port("vm2", 2)
    sw.install(physical_flows(state) + extra)
    return sw


def test_container_tag_is_stripped_on_ingress_and_pushed_on_egress() -> None:
    state = PhysicalState(local=[VM, C10, OTHER])
    # a logical pipeline stand-in: datapath 6 sends everything from c1 to vm2 and back
    logical = [
        Flow.make(
            T_LOG_INGRESS, 10, {"metadata": 6, "inport": 3}, [SetField(OUTPORT, 2), Resubmit(37)]
        ),
        Flow.make(
            T_LOG_INGRESS, 10, {"metadata": 6, "inport": 2}, [SetField(OUTPORT, 3), Resubmit(37)]
        ),
        Flow.make(40, 0, {}, [Resubmit(65)]),
    ]
    sw = switch_with(logical, state)
    frame = icmp4_echo("0a:00:00:00:00:11", "0a:00:00:00:00:02", "10.0.0.11", "10.0.0.2", vlan=10)
    res = sw.receive(1, frame)
    assert [name for name, _ in res.outputs] == ["vm2"]
    assert parse_frame(res.outputs[0][1]).fields.get("vlan.tci", 0) == 0  # untagged at vm2
    back = icmp4_echo("0a:00:00:00:00:02", "0a:00:00:00:00:11", "10.0.0.2", "10.0.0.11")
    res = sw.receive(2, back)
    assert [name for name, _ in res.outputs] == ["vm1"]
    assert parse_frame(res.outputs[0][1]).fields["vlan.tci"] == 0x1000 | 10  # tag pushed


def test_unowned_tags_and_tagged_frames_without_containers_are_dropped() -> None:
    sw = switch_with([], PhysicalState(local=[VM, C10, OTHER]))
    frame = icmp4_echo("0a:00:00:00:00:11", "0a:00:00:00:00:02", "10.0.0.11", "10.0.0.2", vlan=99)
    res = sw.receive(1, frame, trace=True)
    assert res.dropped and res.steps[0].flow is None
    res = sw.receive(
        2,
        icmp4_echo("0a:00:00:00:00:02", "0a:00:00:00:00:11", "10.0.0.2", "10.0.0.11", vlan=10),
        trace=True,
    )
    assert res.dropped  # vm2 has no container with tag 10


def test_remote_ports_and_multicast_use_tunnels_and_skip_the_sender() -> None:
    tun = Tunnel("hv2", "127.0.0.2", port=9)
    state = PhysicalState(
        local=[VM],
        remote=[RemotePort("vm3", 5, 4, "hv2")],
        groups=[McGroup(5, 32768, (1,), ("hv2",))],
        tunnels={"hv2": tun},
    )
    sent: list[tuple[Tunnel, int, int, int]] = []
    sw = switch_with(
        [
            Flow.make(T_LOG_INGRESS, 10, {"metadata": 5}, [SetField(OUTPORT, 32768), Resubmit(37)]),
            Flow.make(40, 0, {}, [Resubmit(65)]),
        ],
        state,
    )
    sw.tunnel_send = lambda t, vni, i, o, inner: sent.append((t, vni, i, o))
    vm_frame = icmp4_echo("0a:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", "10.0.0.1", "10.0.0.9")
    res = sw.receive(1, vm_frame)
    assert sent == [(tun, 5, 1, 32768)]  # flooded to the peer chassis, once
    assert res.outputs == []  # not back to the sender (no flags.loopback)
