"""Engine input nodes fed by database replicas: they record which rows changed."""

from __future__ import annotations

from collections.abc import Callable

from pyovn.engine.node import InputNode
from pyovn.ovsdb.client.replica import RowEvent, RowView


class DbInput(InputNode):
    """Tracks the changed rows of some tables of one database between engine runs."""

    def __init__(
        self, name: str, tables: tuple[str, ...], rows: Callable[[str], dict[str, RowView]]
    ) -> None:
        super().__init__(name)
        self.tables = tables
        self.rows = rows  # table -> current rows of the replica
        # table -> uuid -> (oldest old view seen since the last run, or None if inserted)
        self.tracked: dict[str, dict[str, RowView | None]] = {t: {} for t in tables}

    def on_events(self, events: list[RowEvent]) -> None:
        for ev in events:
            per_table = self.tracked.get(ev.table)
            if per_table is None:
                continue
            if ev.uuid not in per_table:
                per_table[ev.uuid] = ev.old
            self.mark_changed()

    def changes(self, table: str) -> dict[str, RowView | None]:
        return self.tracked[table]

    def clear_tracked(self) -> None:
        for per_table in self.tracked.values():
            per_table.clear()
