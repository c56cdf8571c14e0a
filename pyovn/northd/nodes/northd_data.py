"""The "northd" engine node: switches and ports as northd sees them, with tunnel keys and
container tags; tracks which switches and ports changed in each run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace

from pyovn.engine.node import Handled, Node
from pyovn.northd.keys import DATAPATH_KEYS, PORT_KEYS, KeyAllocator
from pyovn.northd.model import PortInfo, SwitchInfo
from pyovn.northd.nodes.inputs import DbInput
from pyovn.northd.tags import TagResult, allocate_tags

log = logging.getLogger("pyovn.northd")


@dataclass
class ExistingKeys:
    """Tunnel keys already in the Southbound database (read at a full recompute)."""

    datapaths: dict[str, int] = field(default_factory=dict)  # NB switch uuid -> key
    ports: dict[str, int] = field(default_factory=dict)  # logical port name -> key


class NorthdData(Node):
    def __init__(self, nb: DbInput, existing_keys: Callable[[], ExistingKeys]) -> None:
        super().__init__("northd")
        self.nb = nb
        self.existing_keys = existing_keys
        self.switches: dict[str, SwitchInfo] = {}
        self.ports: dict[str, PortInfo] = {}  # by NB uuid
        self.port_by_name: dict[str, PortInfo] = {}
        self.dp_keys = KeyAllocator(*DATAPATH_KEYS)
        self.port_keys: dict[str, KeyAllocator] = {}  # per switch
        self.tags: dict[str, TagResult] = {}  # by port name
        self.children: dict[str, set[str]] = {}  # parent name -> child port names
        # tracked in one run
        self.changed_switches: set[str] = set()
        self.changed_ports: dict[str, PortInfo | None] = {}  # name -> old info (None: new)
        self.changed_tags: set[str] = set()  # port names whose tag result changed

    # ------------------------------------------------------------------ queries

    def port_key(self, port: PortInfo) -> int | None:
        alloc = self.port_keys.get(port.switch)
        return None if alloc is None else alloc.get(port.uuid)

    def tag(self, name: str) -> TagResult:
        return self.tags.get(name, TagResult(None))

    # ------------------------------------------------------------------ recompute

    def recompute(self) -> bool:
        keys = self.existing_keys()
        old_dp = dict(self.dp_keys.by_owner)
        old_ports = {
            p.name: (self.port_key(p)) for p in self.ports.values() if self.port_key(p) is not None
        }
        before_ports = dict(self.port_by_name)
        before_switches = set(self.switches)
        before_tags = dict(self.tags)
        self.switches.clear()
        self.ports.clear()
        self.port_by_name.clear()
        self.children.clear()
        self.dp_keys = KeyAllocator(*DATAPATH_KEYS)
        self.port_keys = {}
        rows = self.nb.rows
        for uuid, row in rows("Logical_Switch").items():
            sw = SwitchInfo.from_row(row)
            self.switches[uuid] = sw
        # keys: keep what SB has (shared with any other northd that was active meanwhile),
        # else what we had, else allocate (lowest free)
        for uuid in sorted(self.switches):
            want = keys.datapaths.get(uuid, old_dp.get(uuid))
            if want is None or not self.dp_keys.claim(uuid, want):
                continue
        for uuid in sorted(self.switches):
            if self.dp_keys.get(uuid) is None:
                self.dp_keys.allocate(uuid)
            self.port_keys[uuid] = KeyAllocator(*PORT_KEYS)
        lsp_rows = rows("Logical_Switch_Port")
        for sw in self.switches.values():
            for pu in sorted(sw.ports):
                row = lsp_rows.get(pu)
                if row is None or pu in self.ports:
                    continue
                self._add_port(PortInfo.from_row(row, sw.uuid), keys, old_ports)
        for sw_uuid, alloc in self.port_keys.items():
            for p in sorted(self.switch_ports(sw_uuid), key=lambda p: p.name):
                if alloc.get(p.uuid) is None:
                    alloc.allocate(p.uuid)
        self.tags = {}
        for parent in list(self.children):
            self._retag(parent)
        # report what changed, so dependants can do the same work a handler would
        self.changed_switches = before_switches | set(self.switches)
        self.changed_ports = {
            n: before_ports.get(n) for n in set(before_ports) | set(self.port_by_name)
        }
        self.changed_tags = {
            n for n in set(before_tags) | set(self.tags) if before_tags.get(n) != self.tags.get(n)
        }
        return True

    def switch_ports(self, sw_uuid: str) -> list[PortInfo]:
        sw = self.switches.get(sw_uuid)
        if sw is None:
            return []
        return [self.ports[u] for u in sw.ports if u in self.ports]

    def _add_port(
        self,
        port: PortInfo,
        keys: ExistingKeys | None = None,
        old_keys: dict[str, int] | None = None,
    ) -> None:
        if port.name in self.port_by_name and self.port_by_name[port.name].uuid != port.uuid:
            log.warning("duplicate logical port name %s: ignoring %s", port.name, port.uuid)
            return
        self.ports[port.uuid] = port
        self.port_by_name[port.name] = port
        alloc = self.port_keys[port.switch]
        want = None
        if keys is not None:
            want = keys.ports.get(port.name)
        if want is None and old_keys is not None:
            want = old_keys.get(port.name)
        if want is not None:
            alloc.claim(port.uuid, want)
        if port.parent is not None:
            self.children.setdefault(port.parent, set()).add(port.name)

    def _remove_port(self, port: PortInfo) -> None:
        self.ports.pop(port.uuid, None)
        if self.port_by_name.get(port.name) is port:
            del self.port_by_name[port.name]
        alloc = self.port_keys.get(port.switch)
        if alloc is not None:
            alloc.release(port.uuid)
        if port.parent is not None:
            kids = self.children.get(port.parent)
            if kids is not None:
                kids.discard(port.name)
                if not kids:
                    del self.children[port.parent]
        self.tags.pop(port.name, None)

    def _retag(self, parent: str, moved_in: Collection[str] = ()) -> None:
        """Tags for the children of ``parent``. A child in ``moved_in`` came from another
        parent: the tag it holds was given there, so it has no claim to it here."""
        names = self.children.get(parent, set())
        kids = []
        for name in names:
            port = self.port_by_name.get(name)
            if port is None:
                continue
            if name in moved_in and port.nb_tag is not None:
                port = replace(port, nb_tag=None)
            kids.append(port)
        results = allocate_tags(kids)
        if parent not in self.port_by_name and names:
            log.warning(
                "parent port %s of %s does not exist; the children stay unbound",
                parent,
                ", ".join(sorted(names)),
            )
        for name, result in results.items():
            if self.tags.get(name) != result:
                self.tags[name] = result
                self.changed_tags.add(name)
                if result.error:
                    log.warning("port %s: %s", name, result.error)

    # ------------------------------------------------------------------ incremental

    def handle_nb(self, _: Node) -> Handled:
        """Apply NB Logical_Switch / Logical_Switch_Port changes to switches and ports."""
        rows = self.nb.rows
        ls_rows = rows("Logical_Switch")
        lsp_rows = rows("Logical_Switch_Port")
        touched_parents: set[str] = set()
        port_uuids: set[str] = set(self.nb.changes("Logical_Switch_Port"))
        for ls_uuid in self.nb.changes("Logical_Switch"):
            old = self.switches.get(ls_uuid)
            row = ls_rows.get(ls_uuid)
            if row is None:
                if old is None:
                    continue
                for pu in old.ports:
                    port_uuids.add(pu)
                del self.switches[ls_uuid]
                self.dp_keys.release(ls_uuid)
                self.changed_switches.add(ls_uuid)
                continue
            new = SwitchInfo.from_row(row)
            if old is None:
                self.dp_keys.allocate(ls_uuid)
                self.port_keys[ls_uuid] = KeyAllocator(*PORT_KEYS)
                port_uuids |= new.ports
            else:
                port_uuids |= old.ports ^ new.ports
            self.switches[ls_uuid] = new
            if new != old:
                self.changed_switches.add(ls_uuid)
        owner = {}  # lsp uuid -> switch uuid, for the ports we must look at
        for u in port_uuids:
            sw = self._switch_of(u)
            if sw is not None:
                owner[u] = sw
        # Remove every old version before adding any new one: within one transaction a port
        # may take a name another port gives up (two ports can even swap names).
        added: list[tuple[PortInfo, int | None]] = []  # new port, key to keep (same switch)
        moved_in: set[str] = set()  # ports whose parent changed
        for u in sorted(port_uuids):
            old_port = self.ports.get(u)
            row = lsp_rows.get(u)
            sw = owner.get(u)
            new_port = PortInfo.from_row(row, sw) if (row is not None and sw is not None) else None
            if old_port == new_port:
                continue
            old_key = None
            if old_port is not None and new_port is not None and old_port.parent != new_port.parent:
                moved_in.add(new_port.name)
            if old_port is not None:
                if new_port is not None and old_port.switch == new_port.switch:
                    old_key = self.port_keys[old_port.switch].get(old_port.uuid)
                self._remove_port(old_port)
                self.changed_ports.setdefault(old_port.name, old_port)
                if old_port.parent is not None:
                    touched_parents.add(old_port.parent)
                touched_parents.add(old_port.name)
            if new_port is not None:
                added.append((new_port, old_key))
        # Ports keep their tunnel keys first, then new ports take the lowest free ones.
        added.sort(key=lambda pk: pk[1] is None)
        for new_port, old_key in added:
            if new_port.name in self.port_by_name:
                log.warning("duplicate logical port name %s", new_port.name)
                continue
            self._add_port(new_port)
            alloc = self.port_keys[new_port.switch]
            if old_key is None or not alloc.claim(new_port.uuid, old_key):
                alloc.allocate(new_port.uuid)
            self.changed_ports.setdefault(new_port.name, None)
            if new_port.parent is not None:
                touched_parents.add(new_port.parent)
            touched_parents.add(new_port.name)
        for parent in touched_parents:
            if parent in self.children or parent in self.port_by_name:
                self._retag(parent, moved_in)
        return (
            Handled.UPDATED
            if (self.changed_ports or self.changed_switches or self.changed_tags)
            else Handled.UNCHANGED
        )

    def _switch_of(self, lsp_uuid: str) -> str | None:
        for sw in self.switches.values():
            if lsp_uuid in sw.ports:
                return sw.uuid
        return None

    def clear_tracked(self) -> None:
        self.changed_switches = set()
        self.changed_ports = {}
        self.changed_tags = set()
