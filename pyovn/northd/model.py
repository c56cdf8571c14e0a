"""northd's view of the Northbound rows it translates, and the logical flows it produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyovn.northd.stages import Stage
from pyovn.ovsdb.client.replica import RowView


@dataclass(frozen=True, slots=True)
class SwitchInfo:
    uuid: str  # NB Logical_Switch uuid
    name: str
    ports: frozenset[str]  # NB Logical_Switch_Port uuids

    @classmethod
    def from_row(cls, row: RowView) -> SwitchInfo:
        return cls(row.uuid, row["name"], frozenset(row["ports"]))


@dataclass(frozen=True, slots=True)
class PortInfo:
    uuid: str  # NB Logical_Switch_Port uuid
    name: str
    switch: str  # NB Logical_Switch uuid
    type: str = ""
    addresses: frozenset[str] = frozenset()
    port_security: frozenset[str] = frozenset()
    enabled: bool = True
    parent: str | None = None
    tag_request: int | None = None
    nb_tag: int | None = None  # the tag northd wrote to NB earlier (kept while valid)
    options: tuple[tuple[str, str], ...] = ()
    external_ids: tuple[tuple[str, str], ...] = field(default=(), compare=True)

    @classmethod
    def from_row(cls, row: RowView, switch: str) -> PortInfo:
        return cls(
            uuid=row.uuid,
            name=row["name"],
            switch=switch,
            type=row["type"],
            addresses=row["addresses"],
            port_security=row["port_security"],
            enabled=row.one("enabled") is not False,
            parent=row.one("parent_name"),
            tag_request=row.one("tag_request"),
            nb_tag=row.one("tag"),
            options=tuple(sorted(row["options"].items())),
            external_ids=tuple(sorted(row["external_ids"].items())),
        )

    def option(self, key: str) -> str | None:
        for k, v in self.options:
            if k == key:
                return v
        return None


@dataclass(frozen=True, slots=True)
class LFlow:
    """One logical flow as northd wants it in the Southbound Logical_Flow table."""

    datapath: str  # NB Logical_Switch uuid (mapped to the Datapath_Binding at sync)
    stage: Stage
    priority: int
    match: str
    actions: str
    hint: str = ""  # NB row the flow comes from (external_ids:stage-hint)

    @property
    def key(self) -> tuple[Any, ...]:
        return (
            self.datapath,
            self.stage.pipeline.value,
            self.stage.table,
            self.priority,
            self.match,
            self.actions,
        )
