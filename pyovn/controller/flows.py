"""The desired flow table of a chassis: compiled logical flows of its local datapaths plus
its physical flows. Compiled logical flows are cached per Logical_Flow row, and recompiled
only when the row or the port keys of its datapath change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
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


class LflowCache:
    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], tuple[Any, list[Flow]]] = {}
        self.stats = FlowStats()

    def flows(
        self,
        lflows: Iterable[RowView],
        dp_of: dict[str, list[int]],  # lflow uuid -> datapath keys it applies to (local only)
        port_maps: dict[int, dict[str, int]],  # dp key -> name -> port key
        port_map_versions: dict[int, int],
    ) -> list[Flow]:
        out: list[Flow] = []
        fresh: dict[tuple[str, int], tuple[Any, list[Flow]]] = {}
        for row in lflows:
            for dp_key in dp_of.get(row.uuid, ()):
                version = (
                    row["match"],
                    row["actions"],
                    row["pipeline"],
                    row["table_id"],
                    row["priority"],
                    port_map_versions.get(dp_key, 0),
                )
                key = (row.uuid, dp_key)
                hit = self._cache.get(key)
                if hit is not None and hit[0] == version:
                    self.stats.cached += 1
                    flows = hit[1]
                else:
                    flows = self._compile(row, dp_key, port_maps.get(dp_key, {}))
                fresh[key] = (version, flows)
                out.extend(flows)
        self._cache = fresh
        return out

    def _compile(self, row: RowView, dp_key: int, ports: dict[str, int]) -> list[Flow]:
        self.stats.compiled += 1
        try:
            flows = compile_lflow(
                row["pipeline"],
                row["table_id"],
                row["priority"],
                row["match"],
                row["actions"],
                dp_key,
                ports,
                cookie=row.uuid[:8],
            )
        except (CompileError, LogicalSyntaxError, ValueError, Exception) as exc:
            # a flow pyovn cannot handle is reported and skipped, never fatal
            if row.uuid not in self.stats.failed:
                log.info("cannot compile logical flow %s (%s): %s", row.uuid[:8], row["match"], exc)
            self.stats.failed[row.uuid] = (
                f"match=({row['match']}) actions=({row['actions']}): {exc}"
            )
            return []
        self.stats.failed.pop(row.uuid, None)
        return flows
