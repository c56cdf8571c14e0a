"""The client's in-memory replica of monitored tables, updated from table-updates JSON.

Rows are immutable ``RowView`` objects; each update produces ``RowEvent``s (old and new view
of one row) that the client hands to its listeners.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pyovn.ovsdb.data import Datum, default_datum
from pyovn.ovsdb.readers import datum_reader
from pyovn.ovsdb.schema import DatabaseSchema, TableSchema
from pyovn.ovsdb.types import Type, Uuid


class RowView(Mapping[str, Datum]):
    """One row as the client sees it: column -> datum (pyovn's datum representation)."""

    __slots__ = ("_data", "table", "uuid")

    def __init__(self, table: str, uuid: Uuid, data: dict[str, Datum]) -> None:
        self.table = table
        self.uuid = uuid
        self._data = data

    def __getitem__(self, column: str) -> Datum:
        if column == "_uuid":
            return self.uuid
        return self._data[column]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def one(self, column: str) -> Any:
        """The single value of an optional column, or None when it is empty."""
        value = self._data[column]
        if isinstance(value, frozenset):
            return next(iter(value)) if value else None
        return value

    def data(self) -> dict[str, Datum]:
        return dict(self._data)

    def __repr__(self) -> str:
        return f"RowView({self.table}, {self.uuid}, {self._data!r})"


@dataclass(frozen=True, slots=True)
class RowEvent:
    """A change to one row: old is None for an insert, new is None for a delete."""

    table: str
    uuid: Uuid
    old: RowView | None
    new: RowView | None

    @property
    def kind(self) -> str:
        if self.old is None:
            return "insert"
        if self.new is None:
            return "delete"
        return "modify"


def decode_datum(ctype: Type, js: Any) -> Datum:
    """Server JSON -> datum, trusting the server (sizes are not checked)."""
    return datum_reader(ctype, False)(js)


class Replica:
    def __init__(self, schema: DatabaseSchema) -> None:
        self.schema = schema
        self.tables: dict[str, dict[Uuid, RowView]] = {}
        self._defaults: dict[str, dict[str, Datum]] = {}
        # each column's reader of trusted JSON (sizes not checked), per table
        self._readers: dict[str, dict[str, Callable[[Any], Datum]]] = {}

    def add_table(self, name: str) -> None:
        self.tables.setdefault(name, {})
        if name not in self._defaults:
            table = self.schema.tables[name]
            self._defaults[name] = {c: default_datum(col.type) for c, col in table.columns.items()}
            self._readers[name] = {
                c: datum_reader(col.type, False) for c, col in table.columns.items()
            }

    def rows(self, table: str) -> dict[Uuid, RowView]:
        return self.tables.get(table, {})

    def get(self, table: str, uuid: Uuid) -> RowView | None:
        return self.tables.get(table, {}).get(uuid)

    def clear(self) -> list[RowEvent]:
        events = [
            RowEvent(t, u, row, None) for t, rows in self.tables.items() for u, row in rows.items()
        ]
        for rows in self.tables.values():
            rows.clear()
        return events

    # ------------------------------------------------------------------ applying updates

    def apply_update(self, updates: Mapping[str, Any], version: int) -> list[RowEvent]:
        """Apply a table-updates (version 1) or table-updates2 (2 and 3) object."""
        events: list[RowEvent] = []
        for tname, rows in updates.items():
            table = self.schema.tables.get(tname)
            if table is None or tname not in self.tables:
                continue
            current = self.tables[tname]
            for uuid_text, change in rows.items():
                uuid = Uuid(uuid_text)
                old = current.get(uuid)
                new = (
                    self._apply_v1(table, old, change)
                    if version == 1
                    else self._apply_v2(table, old, change)
                )
                if new is None:
                    if old is not None:
                        del current[uuid]
                        events.append(RowEvent(tname, uuid, old, None))
                    continue
                view = RowView(tname, uuid, new)
                current[uuid] = view
                events.append(RowEvent(tname, uuid, old, view))
        return events

    def replace_all(self, updates: Mapping[str, Any]) -> list[RowEvent]:
        """Replace the whole replica with a full snapshot (table-updates2), returning only
        the differences as events (used after a reconnect without history)."""
        before = {t: dict(rows) for t, rows in self.tables.items()}
        for rows in self.tables.values():
            rows.clear()
        self.apply_update(updates, 2)
        events: list[RowEvent] = []
        for tname, rows in self.tables.items():
            old_rows = before.get(tname, {})
            for uuid, row in rows.items():
                old = old_rows.get(uuid)
                if old is None or old._data != row._data:
                    events.append(RowEvent(tname, uuid, old, row))
            for uuid, old in old_rows.items():
                if uuid not in rows:
                    events.append(RowEvent(tname, uuid, old, None))
        return events

    def _full_row(self, table: TableSchema, row_js: Mapping[str, Any]) -> dict[str, Datum]:
        data = dict(self._defaults[table.name])
        readers = self._readers[table.name]
        for name, value in row_js.items():
            reader = readers.get(name)
            if reader is not None:
                data[name] = reader(value)
        return data

    def _apply_v1(
        self, table: TableSchema, old: RowView | None, change: Any
    ) -> dict[str, Datum] | None:
        new_js = change.get("new")
        if new_js is None:
            return None
        if old is None:
            return self._full_row(table, new_js)
        data = dict(old._data)
        readers = self._readers[table.name]
        for name, value in new_js.items():
            reader = readers.get(name)
            if reader is not None:
                data[name] = reader(value)
        return data

    def _apply_v2(
        self, table: TableSchema, old: RowView | None, change: Any
    ) -> dict[str, Datum] | None:
        if "delete" in change:
            return None
        row_js = change.get("initial") or change.get("insert")
        if row_js is not None or "initial" in change or "insert" in change:
            return self._full_row(table, row_js or {})
        diff = change.get("modify")
        if diff is None or old is None:
            return None if old is None else dict(old._data)
        data = dict(old._data)
        for name, value in diff.items():
            column = table.columns.get(name)
            if column is None:
                continue
            data[name] = apply_diff(column.type, data[name], decode_diff(column.type, value))
        return data


def decode_diff(ctype: Type, js: Any) -> Datum:
    return _diff_reader(ctype)(js)


@cache
def _diff_reader(ctype: Type) -> Callable[[Any], Datum]:
    """The reader of an update2 column difference: a set's or map's has any number of
    elements."""
    if ctype.value is None and ctype.max == 1:
        return datum_reader(ctype, False)
    return datum_reader(Type(ctype.key, ctype.value, 0, float("inf")), False)


def apply_diff(ctype: Type, old: Datum, diff: Datum) -> Datum:
    """Apply an update2 column difference (see ovsdb-server(7), section 4.1.14): a column
    holding at most one value carries its new value; sets and maps carry differences."""
    if ctype.value is None and ctype.max == 1:
        return diff
    if ctype.is_map:
        new = dict(old)
        for k, v in diff.items():
            if k in new and new[k] == v:
                del new[k]
            else:
                new[k] = v
        return new
    return old ^ diff
