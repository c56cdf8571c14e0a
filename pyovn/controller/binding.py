"""Which Port_Bindings this chassis binds: a VM's VIF by its ``iface-id``, a container by
its parent. One function decides, ``classify``; the controller turns its answers into
claims and releases.

Rules (OVN's, with pyovn's deterministic conflict handling):
* a VIF port (type "") is bound where an Interface has external_ids:iface-id = its name and
  an ofport, unless requested-chassis names another chassis;
* a container port (parent_port set) is bound where its parent is bound, and only with a
  tag: a container without a tag could not be told apart from its VM's own traffic;
* a port already bound to another chassis is not taken over unless requested-chassis names
  this chassis: the first claim wins (claims verify the binding is still free).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from pyovn.ovsdb.client.replica import RowView


class Kind(Enum):
    VIF = "vif"
    CONTAINER = "container"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Decision:
    kind: Kind
    ofport: int = 0
    tag: int | None = None
    reason: str = ""

    @property
    def bind(self) -> bool:
        return self.kind is not Kind.NONE


def classify(
    pb: RowView,
    chassis_uuid: str | None,
    ifaces: Mapping[str, int],
    bound_vifs: Mapping[str, int],
) -> Decision:
    """Should this chassis bind ``pb``?

    ``ifaces``: iface-id -> ofport of local interfaces; ``bound_vifs``: logical port name ->
    ofport of the VIF ports this chassis binds (a container's parent must be among them).
    """
    requested = pb.one("requested_chassis")
    if requested is not None and requested != chassis_uuid:
        return Decision(Kind.NONE, reason="requested-chassis names another chassis")
    current = pb.one("chassis")
    if current is not None and current != chassis_uuid and requested != chassis_uuid:
        owner = "another chassis"
        if not _wanted_here(pb, ifaces, bound_vifs):
            return Decision(Kind.NONE, reason="not local")
        return Decision(Kind.NONE, reason=f"already bound to {owner}")
    parent = pb.one("parent_port")
    if parent is not None:
        ofport = bound_vifs.get(parent)
        if ofport is None:
            return Decision(Kind.NONE, reason=f"parent {parent} is not bound here")
        tag = pb.one("tag")
        if tag is None:
            return Decision(Kind.NONE, reason="container port without a tag")
        return Decision(Kind.CONTAINER, ofport, tag)
    if pb["type"] != "":
        return Decision(Kind.NONE, reason=f"type {pb['type']} is not bound to a VIF")
    ofport = ifaces.get(pb["logical_port"])
    if ofport is None or ofport <= 0:
        return Decision(Kind.NONE, reason="no local interface")
    return Decision(Kind.VIF, ofport)


def _wanted_here(pb: RowView, ifaces: Mapping[str, int], bound_vifs: Mapping[str, int]) -> bool:
    parent = pb.one("parent_port")
    if parent is not None:
        return parent in bound_vifs
    return pb["logical_port"] in ifaces
