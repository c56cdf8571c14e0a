"""The chassis around the logical pipelines: containers inside VMs and their VLAN tags.

A container port (a Port_Binding with ``parent_port`` and ``tag``) has no VIF of its own: its
frames arrive on the VIF of the parent VM carrying the container's VLAN tag; the chassis strips
the tag and gives the frame to the container's logical switch. Frames to the container leave
through the parent's VIF with the tag pushed. A tagged frame on a VIF whose tag no container of
that VM owns is dropped before any logical flow sees it (pyovn's controller installs no flow for
it), and a container port without a tag is never bound, so nothing reaches it.

ovn-trace does not model this; pyovn trace reports these steps as ``/* on the hypervisor: ... */``
lines so a trace from ``inport == "c1"`` (or from the VM's port with ``vlan.vid == 10``) shows
what really happens on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyovn.trace.packet import Packet
from pyovn.trace.sbview import Port, SbView

VLAN_PRESENT = 0x1000
VID_MASK = 0xFFF


@dataclass(frozen=True)
class Entry:
    """A frame entering the logical network: the logical inport it becomes (None: dropped)."""

    port: Port | None
    packet: Packet
    note: str | None = None
    drop_reason: str | None = None


def _note(text: str) -> str:
    return f"/* on the hypervisor: {text} */"


def enter(sb: SbView, port: Port, packet: Packet) -> Entry:
    """How a frame the microflow describes enters through ``port``."""
    if port.parent is not None:
        if port.tag is None:
            reason = f'container port "{port.name}" has no VLAN tag, so it is never bound'
            return Entry(None, packet, _note(f"{reason} -> dropped"), reason)
        return Entry(
            port,
            packet,
            _note(
                f'frame from the VIF of "{port.parent}" with VLAN {port.tag} -> tag stripped '
                f'-> inport "{port.name}"'
            ),
        )
    tci = packet["vlan.tci"]
    assert isinstance(tci, int)
    if not port.is_vif or not tci & VLAN_PRESENT:
        return Entry(port, packet)
    vid = tci & VID_MASK
    child = next((c for c in sb.children(port.name) if c.tag == vid), None)
    if child is None:
        reason = f'no container port inside "{port.name}" has VLAN tag {vid}'
        text = f'frame from the VIF of "{port.name}" with VLAN {vid}: {reason} -> dropped'
        return Entry(None, packet, _note(text), reason)
    inner = packet.copy()
    inner.set_storage("vlan.tci", 0)
    inner.set_storage("inport", child.name)
    text = (
        f'frame from the VIF of "{port.name}" with VLAN {vid} -> tag stripped '
        f'-> inport "{child.name}"'
    )
    return Entry(child, inner, _note(text))


def leave(port: Port) -> tuple[str | None, str | None]:
    """What the chassis does with a frame output to ``port``: (note, drop reason or None)."""
    if port.parent is None:
        return None, None
    if port.tag is None:
        reason = f'container port "{port.name}" has no VLAN tag, so it is never bound'
        return _note(f"{reason} -> dropped"), reason
    return _note(f'VLAN {port.tag} pushed -> out of the VIF of "{port.parent}"'), None
