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


class Bindings:
    """The decision of every Port_Binding, kept up to date per changed row: a round
    classifies again only the bindings whose row changed (``note``), those whose interface
    came, went or got another ofport, and the containers whose parent's decision changed.
    The decisions are always those that classifying every binding afresh gives."""

    def __init__(self) -> None:
        self.decisions: dict[str, Decision] = {}  # logical port -> decision
        self.bind_uuids: set[str] = set()  # the Port_Bindings decided to bind here
        self._names: dict[str, str] = {}  # Port_Binding uuid -> logical port
        self._by_name: dict[str, str] = {}  # logical port -> Port_Binding uuid
        self._parent: dict[str, str] = {}  # container binding -> its parent port
        self._children: dict[str, set[str]] = {}  # parent port -> container bindings
        self._bound_vifs: dict[str, int] = {}  # VIF ports bound here -> ofport
        self._ifaces: dict[str, int] = {}
        self._chassis: str | None = None
        self._dirty: set[str] = set()
        self._all = True

    def note(self, uuid: str) -> None:
        """Port_Binding ``uuid`` was inserted, deleted or changed."""
        self._dirty.add(uuid)

    @property
    def bound_vifs(self) -> Mapping[str, int]:
        """The VIF ports bound here (not the containers) -> their ofport."""
        return self._bound_vifs

    def uuid_of(self, name: str) -> str | None:
        """The Port_Binding of logical port ``name``."""
        return self._by_name.get(name)

    def reset(self) -> None:
        """Classify every binding again at the next update."""
        self._all = True

    def update(
        self, pbs: Mapping[str, RowView], chassis_uuid: str | None, ifaces: Mapping[str, int]
    ) -> dict[str, tuple[Decision | None, Decision | None]]:
        """Bring the decisions up to date with ``pbs`` (all Port_Bindings), this chassis and
        its interfaces (iface-id -> ofport); what changed: logical port -> (old, new)."""
        if self._all or chassis_uuid != self._chassis:
            self._all = False
            self._chassis = chassis_uuid
            dirty = set(self._names) | set(pbs)
        else:
            dirty = self._dirty
            if ifaces != self._ifaces:
                old = self._ifaces
                for name in old.keys() | ifaces.keys():
                    uuid = self._by_name.get(name)
                    if uuid is not None and old.get(name) != ifaces.get(name):
                        dirty.add(uuid)
        self._dirty = set()
        self._ifaces = dict(ifaces)
        return self._classify(pbs, dirty) if dirty else {}

    def _classify(
        self, pbs: Mapping[str, RowView], dirty: set[str]
    ) -> dict[str, tuple[Decision | None, Decision | None]]:
        before: dict[str, Decision | None] = {}  # the decisions of the names touched
        vifs_before = dict(self._bound_vifs)
        # forget what the dirty rows were
        for uuid in dirty:
            name = self._names.pop(uuid, None)
            if name is None:
                continue
            before.setdefault(name, self.decisions.pop(name, None))
            self._bound_vifs.pop(name, None)
            if self._by_name.get(name) == uuid:
                del self._by_name[name]
            parent = self._parent.pop(uuid, None)
            if parent is not None:
                self._children[parent].discard(uuid)
                if not self._children[parent]:
                    del self._children[parent]
            self.bind_uuids.discard(uuid)
        # the VIF-level rows first: the containers' decisions depend on their parents'
        children: set[str] = set()
        for uuid in dirty:
            pb = pbs.get(uuid)
            if pb is None:
                continue
            name = pb["logical_port"]
            before.setdefault(name, self.decisions.get(name))
            self._names[uuid] = name
            self._by_name[name] = uuid
            parent = pb.one("parent_port")
            if parent is None:
                self._decide(uuid, name, pb)
            else:
                self._parent[uuid] = parent
                self._children.setdefault(parent, set()).add(uuid)
                children.add(uuid)
        for name in before:
            if self._bound_vifs.get(name) != vifs_before.get(name):
                children |= self._children.get(name, set())
        for uuid in children:
            pb = pbs.get(uuid)
            if pb is not None:
                name = pb["logical_port"]
                before.setdefault(name, self.decisions.get(name))
                self._decide(uuid, name, pb)
        return {
            name: (old, self.decisions.get(name))
            for name, old in before.items()
            if old != self.decisions.get(name)
        }

    def _decide(self, uuid: str, name: str, pb: RowView) -> None:
        d = classify(pb, self._chassis, self._ifaces, self._bound_vifs)
        self.decisions[name] = d
        if d.bind:
            self.bind_uuids.add(uuid)
        else:
            self.bind_uuids.discard(uuid)
        if d.kind is Kind.VIF:
            self._bound_vifs[name] = d.ofport
