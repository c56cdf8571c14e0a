"""Monitors: ``monitor`` (update), ``monitor_cond`` (update2), ``monitor_cond_since`` (update3).

A ``Monitor`` is what one client asked to see of one database. This module turns the
database's rows (initial contents) and commits (changes) into the table-updates JSON each
monitor version sends. Pure: no sockets; the server decides when to send what.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pyovn.ovsdb.condition import Clause, parse_clause
from pyovn.ovsdb.data import Datum, datum_to_json
from pyovn.ovsdb.errors import OvsdbError, syntax_error
from pyovn.ovsdb.jsonio import dumps
from pyovn.ovsdb.jsonrpc import dumps as dumpb
from pyovn.ovsdb.schema import TableSchema
from pyovn.ovsdb.server.db import Database, Row, RowChange, RowData
from pyovn.ovsdb.types import Type

ZERO_TXN = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True, slots=True)
class Select:
    initial: bool = True
    insert: bool = True
    delete: bool = True
    modify: bool = True

    @classmethod
    def from_json(cls, js: Any) -> Select:
        if js is None:
            return cls()
        if not isinstance(js, dict):
            raise syntax_error("select must be an object", js)
        flags = {}
        for name in ("initial", "insert", "delete", "modify"):
            value = js.get(name, True)
            if not isinstance(value, bool):
                raise syntax_error(f"select member {name} must be a boolean", js)
            flags[name] = value
        return cls(**flags)


@dataclass(frozen=True, slots=True)
class MonitorCondition:
    """A disjunction: a row is monitored if it matches any clause (monitor_cond rules)."""

    clauses: tuple[Clause, ...]
    always: bool  # a literal true, or no clauses at all

    def matches(self, data: RowData, uuid: Any, version: Any) -> bool:
        if self.always:
            return True
        return any(c.evaluate(data, uuid, version) for c in self.clauses)


ALL_ROWS = MonitorCondition((), True)


def parse_monitor_condition(table: TableSchema, js: Any) -> MonitorCondition:
    if js is None:
        return ALL_ROWS
    if not isinstance(js, list):
        raise syntax_error("where must be an array", js)
    if not js:
        return ALL_ROWS
    clauses: list[Clause] = []
    always = False
    for item in js:
        if item is True:
            always = True
        elif item is False:
            continue
        else:
            clauses.append(parse_clause(table, item))
    return MonitorCondition(tuple(clauses), always)


@dataclass(frozen=True, slots=True)
class TableMonitor:
    table: TableSchema
    columns: tuple[str, ...]
    select: Select
    condition: MonitorCondition
    key: str  # identifies equal monitors so their updates are computed once per commit
    plan: tuple[tuple[str, Type | None, int, Any], ...] = ()  # see _row_plan


# how _row2_json writes each column
_VERSION, _SCALAR, _SCALAR_UUID, _EMPTY_IS_DEFAULT, _OTHER = range(5)


def _row_plan(table: TableSchema, columns: tuple[str, ...]) -> tuple[Any, ...]:
    """Per column: (name, type, kind, default), worked out once per monitored table."""
    from pyovn.ovsdb.data import default_atom, default_datum
    from pyovn.ovsdb.types import AtomicType

    plan = []
    for c in columns:
        if c == "_version":
            plan.append((c, None, _VERSION, None))
            continue
        ctype = table.columns[c].type
        if ctype.is_scalar:
            kind = _SCALAR_UUID if ctype.key.type is AtomicType.UUID else _SCALAR
            plan.append((c, ctype, kind, default_atom(ctype.key)))
        elif ctype.min == 0:
            plan.append((c, ctype, _EMPTY_IS_DEFAULT, None))
        else:
            plan.append((c, ctype, _OTHER, default_datum(ctype)))
    return tuple(plan)


def _row2_json(plan: tuple[Any, ...], data: RowData, version: Any) -> dict[str, Any]:
    """A row as update2 sends it in "initial" and "insert": default values left out."""
    row: dict[str, Any] = {}
    for c, ctype, kind, default in plan:
        if kind == _VERSION:
            row[c] = ["uuid", version]
            continue
        datum = data[c]
        if kind == _SCALAR:
            if datum != default:
                row[c] = datum
        elif kind == _SCALAR_UUID:
            if datum != default:
                row[c] = ["uuid", datum]
        elif kind == _EMPTY_IS_DEFAULT:
            if datum:
                row[c] = datum_to_json(ctype, datum)  # type: ignore[arg-type]
        elif datum != default:
            row[c] = datum_to_json(ctype, datum)  # type: ignore[arg-type]
    return row


def parse_table_requests(table: TableSchema, js: Any, version: int) -> TableMonitor:
    """One table's monitor request(s): an object, or (monitor_cond and monitor) an array."""
    requests = js if isinstance(js, list) else [js]
    if not requests:
        raise syntax_error("empty monitor request", js)
    columns: list[str] = []
    select = None
    where_js: list[Any] = []
    has_where = False
    for req in requests:
        if not isinstance(req, dict):
            raise syntax_error("monitor request must be an object", req)
        for name in req:
            if name not in ("columns", "select") and not (version > 1 and name == "where"):
                raise syntax_error(f"unknown member {name} in monitor request", req)
        cols = req.get("columns")
        if cols is None:
            cols = list(table.columns)
        if not isinstance(cols, list):
            raise syntax_error("columns must be an array", req)
        for col in cols:
            if not isinstance(col, str) or col not in table.all_columns or col == "_uuid":
                raise syntax_error(f"{col} is not a valid column name", req)
            if col not in columns:
                columns.append(col)
        sel = Select.from_json(req.get("select"))
        select = (
            sel
            if select is None
            else Select(
                select.initial or sel.initial,
                select.insert or sel.insert,
                select.delete or sel.delete,
                select.modify or sel.modify,
            )
        )
        if "where" in req:
            has_where = True
            if not isinstance(req["where"], list):
                raise syntax_error("where must be an array", req)
            where_js.extend(req["where"] if req["where"] else [True])
        else:
            where_js.append(True)
    assert select is not None
    condition = parse_monitor_condition(table, where_js if has_where else None)
    key = dumps(
        [
            version,
            table.name,
            columns,
            [select.initial, select.insert, select.delete, select.modify],
            where_js if has_where else None,
        ]
    )
    return TableMonitor(
        table, tuple(columns), select, condition, key, _row_plan(table, tuple(columns))
    )


class Monitor:
    """One client's monitor of one database."""

    def __init__(
        self, monitor_id: Any, db_name: str, version: int, tables: dict[str, TableMonitor]
    ) -> None:
        self.id = monitor_id  # the property also keeps the id's JSON text
        self.db_name = db_name
        self.version = version  # 1: monitor, 2: monitor_cond, 3: monitor_cond_since
        self.tables = tables

    @property
    def id(self) -> Any:
        return self._id

    @id.setter
    def id(self, monitor_id: Any) -> None:
        self._id = monitor_id
        self.id_json = dumpb(monitor_id)  # spliced into each update notification

    @classmethod
    def from_request(cls, db: Database, monitor_id: Any, requests: Any, version: int) -> Monitor:
        if not isinstance(requests, dict):
            raise syntax_error("monitor requests must be an object", requests)
        tables: dict[str, TableMonitor] = {}
        for tname, req in requests.items():
            table = db.schema.tables.get(tname)
            if table is None:
                raise OvsdbError("syntax error", f"no table named {tname}", requests)
            tables[tname] = parse_table_requests(table, req, version)
        return cls(monitor_id, db.name, version, tables)

    # ------------------------------------------------------------------ contents

    def initial(self, db: Database) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for tname, tm in self.tables.items():
            if not tm.select.initial:
                continue
            rows = {}
            matches = tm.condition.matches
            if self.version == 1:
                for row in db.tables[tname].rows.values():
                    if matches(row.data, row.uuid, row.version):
                        rows[row.uuid] = self._insert_json(tm, row.data, row.version, True)
            else:
                plan = tm.plan
                every = tm.condition.always
                for uuid, row in db.tables[tname].rows.items():
                    if every or matches(row.data, uuid, row.version):
                        rows[uuid] = {"initial": _row2_json(plan, row.data, row.version)}
            if rows:
                out[tname] = rows
        return out

    def updates(
        self, by_table: dict[str, list[RowChange]], cache: dict[str, Any]
    ) -> dict[str, Any]:
        """The table-updates for one commit (``by_table``); ``cache`` is shared per commit."""
        out: dict[str, Any] = {}
        for tname, tm in self.tables.items():
            changes = by_table.get(tname)
            if not changes:
                continue
            update = cache.get(tm.key)
            if update is None:
                update = cache[tm.key] = self._table_update(tm, changes)
            if update:
                out[tname] = update
        return out

    def _table_update(self, tm: TableMonitor, changes: Iterable[RowChange]) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        for change in changes:
            old = change.old
            new = change.new
            cond = tm.condition
            old_in = old is not None and cond.matches(old.data, old.uuid, old.version)
            new_in = new is not None and cond.matches(new, change.uuid, change.version)
            if old_in and new_in:
                if not tm.select.modify:
                    continue
                assert old is not None and new is not None
                upd = self._modify_json(tm, old.data, new, change.version)
                if upd is not None:
                    rows[change.uuid] = upd
            elif new_in:
                if tm.select.insert:
                    assert new is not None
                    rows[change.uuid] = self._insert_json(tm, new, change.version, initial=False)
            elif old_in and tm.select.delete:
                assert old is not None
                rows[change.uuid] = self._delete_json(tm, old)
        return rows

    def cond_change(self, db: Database, new_tables: dict[str, TableMonitor]) -> dict[str, Any]:
        """Switch to new conditions; returns the inserts/deletes the switch causes."""
        out: dict[str, Any] = {}
        for tname, new_tm in new_tables.items():
            old_tm = self.tables[tname]
            rows = {}
            for row in db.tables[tname].rows.values():
                was = old_tm.condition.matches(row.data, row.uuid, row.version)
                now = new_tm.condition.matches(row.data, row.uuid, row.version)
                if now and not was and old_tm.select.insert:
                    rows[row.uuid] = self._insert_json(new_tm, row.data, row.version, initial=False)
                elif was and not now and old_tm.select.delete:
                    rows[row.uuid] = self._delete_json(old_tm, row)
            if rows:
                out[tname] = rows
            self.tables[tname] = new_tm
        return out

    # ------------------------------------------------------------------ row JSON

    def _value(self, tm: TableMonitor, column: str, data: RowData, version: Any) -> Any:
        if column == "_version":
            return ["uuid", version]
        return datum_to_json(tm.table.columns[column].type, data[column])

    def _insert_json(self, tm: TableMonitor, data: RowData, version: Any, initial: bool) -> Any:
        if self.version == 1:
            return {"new": {c: self._value(tm, c, data, version) for c in tm.columns}}
        return {"initial" if initial else "insert": _row2_json(tm.plan, data, version)}

    def _delete_json(self, tm: TableMonitor, old: Row) -> Any:
        if self.version == 1:
            return {"old": {c: self._value(tm, c, old.data, old.version) for c in tm.columns}}
        return {"delete": None}

    def _modify_json(self, tm: TableMonitor, old: RowData, new: RowData, version: Any) -> Any:
        columns = tm.table.columns
        changed = [c for c in tm.columns if c == "_version" or old[c] != new[c]]
        if not changed or changed == ["_version"]:
            return None
        if self.version == 1:
            return {
                "old": {c: self._value(tm, c, old, None) for c in changed if c != "_version"},
                "new": {c: self._value(tm, c, new, version) for c in tm.columns},
            }
        diff = {}
        for c in changed:
            if c == "_version":
                diff[c] = ["uuid", version]
            else:
                diff[c] = datum_diff_json(columns[c].type, old[c], new[c])
        return {"modify": diff}


def datum_diff_json(ctype: Type, old: Datum, new: Datum) -> Any:
    """The update2 difference between two values of a column (see ovsdb-server(7)).

    A column holding at most one value sends its new value; sets send the symmetric
    difference; maps send removed pairs, added pairs and changed keys with the new value."""
    if ctype.value is None and ctype.max == 1:
        return datum_to_json(ctype, new)
    if ctype.is_map:
        diff = {k: v for k, v in old.items() if k not in new}
        for k, v in new.items():
            if k not in old or old[k] != v:
                diff[k] = v
        return datum_to_json(ctype, diff)
    return datum_to_json(Type(ctype.key, None, 0, float("inf")), old ^ new)


def merge_changes(commits: Iterable[list[RowChange]]) -> dict[str, list[RowChange]]:
    """Fold a run of commits into one change per row (first old, last new), by table."""
    merged: dict[tuple[str, Any], RowChange] = {}
    for changes in commits:
        for ch in changes:
            key = (ch.table, ch.uuid)
            prev = merged.get(key)
            if prev is None:
                merged[key] = RowChange(ch.table, ch.uuid, ch.old, ch.new, ch.version)
            else:
                prev.new = ch.new
                prev.version = ch.version
    by_table: dict[str, list[RowChange]] = {}
    for (tname, _), ch in merged.items():
        if ch.old is None and ch.new is None:
            continue
        by_table.setdefault(tname, []).append(ch)
    return by_table


def group_by_table(changes: Iterable[RowChange]) -> dict[str, list[RowChange]]:
    by_table: dict[str, list[RowChange]] = {}
    for ch in changes:
        by_table.setdefault(ch.table, []).append(ch)
    return by_table
