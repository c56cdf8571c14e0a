"""The desired flow table of a chassis: compiled logical flows of its local datapaths plus
its physical flows. Compiled logical flows are cached per Logical_Flow row and datapath, and
recompiled only when the row changes or one of the port names the flow looked up (``inport
== "vm1"``, ``outport = "vm2"``) got another key: a port joining a switch recompiles the few
flows that name it, not every flow of the switch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyovn.controller.lflow import CompileError, compile_lflow
from pyovn.datapath.flows import Flow
from pyovn.logical.errors import LogicalSyntaxError
from pyovn.ovsdb.client.replica import RowView

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
        self.stats = FlowStats()

    def flows(
        self,
        lflows: Iterable[RowView],
        dp_of: dict[str, list[int]],  # lflow uuid -> datapath keys it applies to (local only)
        port_maps: dict[int, dict[str, int]],  # dp key -> name -> port key
    ) -> list[Flow]:
        out: list[Flow] = []
        fresh: dict[tuple[str, int], _Entry] = {}
        empty: dict[str, int] = {}
        for row in lflows:
            for dp_key in dp_of.get(row.uuid, ()):
                key = (row.uuid, dp_key)
                ports = port_maps.get(dp_key, empty)
                hit = self._cache.get(key)
                # the replica keeps an unchanged row's object: the same object is the same
                # text, with no need to compare it
                if hit is not None and hit[3] is not row:
                    same = hit[0] == _version(row)
                    hit = (hit[0], hit[1], hit[2], row) if same else None
                if hit is not None and all(ports.get(n) == v for n, v in hit[1].items()):
                    self.stats.cached += 1
                    entry = hit
                else:
                    entry = self._compile(row, _version(row), dp_key, ports)
                fresh[key] = entry
                out.extend(entry[2])
        self._cache = fresh
        return out

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
