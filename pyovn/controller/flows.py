"""The desired flow table of a chassis: compiled logical flows of its local datapaths plus
its physical flows. Compiled logical flows are cached per Logical_Flow row and datapath, and
recompiled only when the row changes or one of the port names the flow looked up (``inport
== "vm1"``, ``outport = "vm2"``) got another key: a port joining a switch recompiles the few
flows that name it, not every flow of the switch.

A round looks only at what changed, too: LflowTargets keeps which rows apply to which local
datapath keys up to date per changed row, and ``LflowCache.update`` checks only the entries
of those rows and those that looked up a port name whose key changed (an index of the names
each compilation looked up), handing back the same list when nothing did.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyovn.controller.lflow import CompileError, compile_lflow, pipeline_port
from pyovn.datapath.flows import Flow
from pyovn.logical.errors import LogicalSyntaxError
from pyovn.ovsdb.client.replica import RowEvent, RowView

log = logging.getLogger("pyovn.controller")


@dataclass
class FlowStats:
    compiled: int = 0  # logical flows compiled (cache misses) since start
    cached: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # lflow uuid -> why


class _Lookups(Mapping[str, int]):
    """A datapath's port keys that remember which names a compilation asked for."""

    def __init__(self, ports: Mapping[str, int]) -> None:
        self.ports = ports
        self.seen: dict[str, int | None] = {}

    def get(self, name: str, default: Any = None) -> Any:
        value = self.ports.get(name)
        self.seen[name] = value
        return default if value is None else value

    def __getitem__(self, name: str) -> int:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return int(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ports)

    def __len__(self) -> int:
        return len(self.ports)


# (row text, port names looked up -> their keys then, flows, the row object compiled)
_Entry = tuple[tuple[Any, ...], dict[str, int | None], list[Flow], RowView]


class LflowCache:
    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], _Entry] = {}
        self._keys: dict[str, tuple[int, ...]] = {}  # lflow uuid -> its entries' dp keys
        # (dp key, port name) -> the entries whose compilation looked the name up
        self._by_name: dict[tuple[int, str], set[tuple[str, int]]] = {}
        self._ports: dict[int, dict[str, int]] = {}  # the port keys the entries agree with
        self._out: list[Flow] | None = None
        self.stats = FlowStats()

    def flows(
        self,
        lflows: Iterable[RowView],
        dp_of: Mapping[str, Sequence[int]],  # lflow uuid -> datapath keys (local only)
        port_maps: dict[int, dict[str, int]],  # dp key -> name -> port key
    ) -> list[Flow]:
        """The compiled flows of ``lflows``, each for the datapath keys ``dp_of`` gives."""
        targets = {row.uuid: (row, tuple(dp_of.get(row.uuid, ()))) for row in lflows}
        return self.update(targets, None, port_maps)

    def update(
        self,
        targets: Mapping[str, tuple[RowView, Sequence[int]]],  # every row that applies
        changed: Iterable[str] | None,
        port_maps: dict[int, dict[str, int]],
    ) -> list[Flow]:
        """The compiled flows of ``targets`` (lflow uuid -> (row, datapath keys)), looking
        only at the rows of ``changed`` (None: all of them; the others are as in the last
        call) and at the entries that looked up a port name whose key changed. The same
        list comes back while nothing changed; the caller must not change it, nor the port
        maps once given."""
        recheck: set[tuple[str, int]] = set()
        uuids = set(self._keys) | set(targets) if changed is None else changed
        for uuid in uuids:
            for dp_key in self._keys.get(uuid, ()):
                recheck.add((uuid, dp_key))
            target = targets.get(uuid)
            if target is not None:
                for dp_key in target[1]:
                    recheck.add((uuid, dp_key))
        empty: dict[str, int] = {}
        for dp_key in self._ports.keys() | port_maps.keys():
            old, new = self._ports.get(dp_key, empty), port_maps.get(dp_key, empty)
            if old is new or old == new:
                continue
            for name in old.keys() | new.keys():
                if old.get(name) != new.get(name):
                    recheck |= self._by_name.get((dp_key, name), set())
        self._ports = dict(port_maps)
        if not recheck and self._out is not None:
            return self._out
        for key in recheck:
            self._check(key, targets, port_maps.get(key[1], empty))
        out: list[Flow] = []
        for entry in self._cache.values():
            out.extend(entry[2])
        self._out = out
        return out

    def _check(
        self,
        key: tuple[str, int],
        targets: Mapping[str, tuple[RowView, Sequence[int]]],
        ports: Mapping[str, int],
    ) -> None:
        uuid, dp_key = key
        target = targets.get(uuid)
        hit = self._cache.get(key)
        if target is None or dp_key not in target[1]:
            if hit is not None:
                self._drop(key, hit)
            return
        row = target[0]
        # the replica keeps an unchanged row's object: the same object is the same text,
        # with no need to compare it
        if hit is not None and hit[3] is not row:
            if hit[0] == _version(row):
                hit = self._cache[key] = (hit[0], hit[1], hit[2], row)
            else:
                self._drop(key, hit)
                hit = None
        if hit is not None and all(ports.get(n) == v for n, v in hit[1].items()):
            self.stats.cached += 1
            return
        if hit is not None:
            self._drop(key, hit)
        entry = self._compile(row, _version(row), dp_key, ports)
        self._cache[key] = entry
        self._keys[uuid] = tuple(sorted({*self._keys.get(uuid, ()), dp_key}))
        for name in entry[1]:
            self._by_name.setdefault((dp_key, name), set()).add(key)

    def _drop(self, key: tuple[str, int], entry: _Entry) -> None:
        del self._cache[key]
        uuid, dp_key = key
        keys = tuple(k for k in self._keys.get(uuid, ()) if k != dp_key)
        if keys:
            self._keys[uuid] = keys
        else:
            self._keys.pop(uuid, None)
        for name in entry[1]:
            users = self._by_name.get((dp_key, name))
            if users is not None:
                users.discard(key)
                if not users:
                    del self._by_name[(dp_key, name)]

    def _compile(
        self, row: RowView, version: tuple[Any, ...], dp_key: int, ports: Mapping[str, int]
    ) -> _Entry:
        self.stats.compiled += 1
        lookups = _Lookups(ports)
        try:
            flows = compile_lflow(
                row["pipeline"],
                row["table_id"],
                row["priority"],
                row["match"],
                row["actions"],
                dp_key,
                lookups,
                cookie=row.uuid[:8],
            )
        except (CompileError, LogicalSyntaxError, ValueError, Exception) as exc:
            # a flow pyovn cannot handle is reported and skipped, never fatal
            if row.uuid not in self.stats.failed:
                log.info("cannot compile logical flow %s (%s): %s", row.uuid[:8], row["match"], exc)
            self.stats.failed[row.uuid] = (
                f"match=({row['match']}) actions=({row['actions']}): {exc}"
            )
            return version, lookups.seen, [], row
        self.stats.failed.pop(row.uuid, None)
        return version, lookups.seen, flows, row


def _version(row: RowView) -> tuple[Any, ...]:
    return (row["match"], row["actions"], row["pipeline"], row["table_id"], row["priority"])


class LflowTargets:
    """Which Logical_Flow rows apply on this chassis, and to which datapath keys: the rows of
    the local datapaths (directly or through their Logical_DP_Group), but for the ingress
    rows that require an inport, and the egress rows that require an outport, bound on
    another chassis or nowhere (``elsewhere``: lflow.pipeline_port). Kept up to date
    per changed row (``note``); a change of the local datapaths, of a Datapath_Binding or of
    a Logical_DP_Group looks at every row again."""

    def __init__(self) -> None:
        self.targets: dict[str, tuple[RowView, tuple[int, ...]]] = {}  # uuid -> (row, keys)
        # the rows of the local datapaths, elsewhere or not: uuid -> (row, keys, port)
        self._rows: dict[str, tuple[RowView, tuple[int, ...], str | None]] = {}
        self._by_port: dict[str, set[str]] = {}  # required in/outport -> those rows
        self._local: dict[str, int] = {}  # local datapath uuid -> key
        self._elsewhere: frozenset[str] = frozenset()
        self._dirty: set[str] = set()
        self._all = True

    def note(self, event: RowEvent) -> None:
        """A change the controller's replica saw."""
        if event.table == "Logical_Flow":
            self._dirty.add(event.uuid)
        elif event.table in ("Logical_DP_Group", "Datapath_Binding"):
            self._all = True

    def update(
        self,
        lflows: Mapping[str, RowView],
        groups: Mapping[str, RowView],
        local: Mapping[str, int],  # local datapath uuid -> its key
        elsewhere: frozenset[str],
    ) -> set[str] | None:
        """Bring ``targets`` up to date; the uuids whose entry may have changed (None: any)."""
        if self._all or local != self._local:
            self._all = False
            self._dirty = set()
            self._local = dict(local)
            self._elsewhere = elsewhere
            self._rows, self._by_port = {}, {}
            for row in lflows.values():
                self._add(row, groups)
            self.targets.clear()
            for u, (row, keys, port) in self._rows.items():
                if port is None or port not in elsewhere:
                    self.targets[u] = (row, keys)
            return None
        changed, self._dirty = self._dirty, set()
        for uuid in changed:
            self._remove(uuid)
            row = lflows.get(uuid)
            if row is not None:
                self._add(row, groups)
        if elsewhere != self._elsewhere:
            for name in elsewhere ^ self._elsewhere:
                changed |= self._by_port.get(name, set())
            self._elsewhere = elsewhere
        for uuid in changed:
            entry = self._rows.get(uuid)
            if entry is None or (entry[2] is not None and entry[2] in elsewhere):
                self.targets.pop(uuid, None)
            else:
                self.targets[uuid] = (entry[0], entry[1])
        return changed

    def _add(self, row: RowView, groups: Mapping[str, RowView]) -> None:
        dp = row.one("logical_datapath")
        if dp is not None:
            key = self._local.get(dp)
            if key is None:
                return
            keys: tuple[int, ...] = (key,)
        else:
            group = groups.get(row.one("logical_dp_group") or "")
            if group is None:
                return
            local = self._local
            keys = tuple(local[d] for d in group["datapaths"] if d in local)
            if not keys:
                return
        port = pipeline_port(row["pipeline"], row["match"])
        self._rows[row.uuid] = (row, keys, port)
        if port is not None:
            self._by_port.setdefault(port, set()).add(row.uuid)

    def _remove(self, uuid: str) -> None:
        entry = self._rows.pop(uuid, None)
        if entry is not None and entry[2] is not None:
            users = self._by_port[entry[2]]
            users.discard(uuid)
            if not users:
                del self._by_port[entry[2]]
