"""The in-memory database: tables of rows, reference counts, indexes, and applying commits.

A ``Commit`` is the validated outcome of a transaction (see txn.py): the rows it inserts,
modifies and deletes, with the new version of each. ``Database.apply`` makes it current and
returns nothing that can fail; every check happened before.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pyovn.ovsdb.data import Datum, datum_refs, datum_to_json, default_datum, new_uuid
from pyovn.ovsdb.schema import DatabaseSchema, TableSchema
from pyovn.ovsdb.types import Uuid

RowData = dict[str, Datum]


class Row:
    """A committed row. ``data`` holds every user column; never mutated after commit."""

    __slots__ = ("data", "n_refs", "uuid", "version", "weak_in")

    def __init__(self, uuid: Uuid, version: Uuid, data: RowData) -> None:
        self.uuid = uuid
        self.version = version
        self.data = data
        self.n_refs = 0  # strong references from other rows
        # (referrer table, referrer uuid) -> weak references it holds to this row
        self.weak_in: dict[tuple[str, Uuid], int] | None = None

    def get(self, column: str) -> Datum:
        if column == "_uuid":
            return self.uuid
        if column == "_version":
            return self.version
        return self.data[column]


@dataclass(slots=True)
class RowChange:
    """One row's change in a commit: old is None for an insert, new None for a delete."""

    table: str
    uuid: Uuid
    old: Row | None
    new: RowData | None
    version: Uuid | None = None  # the new _version (set for inserts and modifications)
    changed: frozenset[str] | None = None  # columns that differ (modifications only)


@dataclass(slots=True)
class Commit:
    """A validated transaction, ready to be written to storage and applied."""

    changes: list[RowChange]
    # target uuid -> new strong reference count, for every row whose count changed
    ref_counts: dict[tuple[str, Uuid], int]
    txn_id: Uuid = field(default_factory=new_uuid)
    comment: str | None = None
    durable: bool = False

    @property
    def empty(self) -> bool:
        return not self.changes


class Table:
    __slots__ = ("defaults", "index_maps", "name", "rows", "schema", "strong_cols", "weak_cols")

    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        self.name = schema.name
        self.rows: dict[Uuid, Row] = {}
        self.defaults: RowData = {n: default_datum(c.type) for n, c in schema.columns.items()}
        self.index_maps: list[dict[Any, Uuid]] = [{} for _ in schema.indexes]
        self.strong_cols = _ref_columns(schema, strong=True)
        self.weak_cols = _ref_columns(schema, strong=False)

    def index_key(self, index_no: int, data: RowData) -> Any:
        return tuple(hashable_datum(data[c]) for c in self.schema.indexes[index_no])


def hashable_datum(datum: Datum) -> Any:
    if isinstance(datum, dict):
        return tuple(sorted(datum.items()))
    return datum


class Database:
    def __init__(self, schema: DatabaseSchema) -> None:
        self.schema = schema
        self.name = schema.name
        self.tables: dict[str, Table] = {n: Table(t) for n, t in schema.tables.items()}
        self.last_txn_id: Uuid | None = None
        self.n_commits = 0

    def row(self, table: str, uuid: Uuid) -> Row | None:
        return self.tables[table].rows.get(uuid)

    def rows(self, table: str) -> Iterator[Row]:
        return iter(self.tables[table].rows.values())

    # ------------------------------------------------------------------ applying commits

    def apply(self, commit: Commit) -> None:
        """Make a validated commit current (reference counts, weak referrers, indexes)."""
        tables = self.tables
        for change in commit.changes:
            table = tables[change.table]
            schema = table.schema
            old, new = change.old, change.new
            if old is not None:
                for i in range(len(schema.indexes)):
                    key = table.index_key(i, old.data)
                    if table.index_maps[i].get(key) == old.uuid:
                        del table.index_maps[i][key]
            if new is None:
                assert old is not None
                del table.rows[change.uuid]
                row: Row | None = None
            elif old is None:
                assert change.version is not None
                row = Row(change.uuid, change.version, new)
                table.rows[change.uuid] = row
            else:
                assert change.version is not None
                row = Row(change.uuid, change.version, new)
                row.n_refs = old.n_refs
                row.weak_in = old.weak_in
                table.rows[change.uuid] = row
            if row is not None:
                for i in range(len(schema.indexes)):
                    table.index_maps[i][table.index_key(i, new)] = change.uuid  # type: ignore[arg-type]
        # after every row is in place: a weak reference may name a row inserted later in
        # this same commit
        for change in commit.changes:
            table = tables[change.table]
            if table.weak_cols:
                self._update_weak_referrers(change, table)
        for (tname, uuid), count in commit.ref_counts.items():
            target = tables[tname].rows.get(uuid)
            if target is not None:
                target.n_refs = count
        self.last_txn_id = commit.txn_id
        self.n_commits += 1

    def rebuild_derived(self) -> None:
        """Recompute from the rows alone what ``apply`` maintains incrementally.

        Strong reference counts (``Row.n_refs``), weak referrer maps (``Row.weak_in``) and
        the index maps; used after rows were loaded from storage without commits.
        """
        tables = self.tables
        for table in tables.values():
            table.index_maps = [{} for _ in table.schema.indexes]
            for row in table.rows.values():
                row.n_refs = 0
                row.weak_in = None
        for tname, table in tables.items():
            columns = table.schema.columns
            n_indexes = len(table.schema.indexes)
            for uuid, row in table.rows.items():
                data = row.data
                for i in range(n_indexes):
                    table.index_maps[i][table.index_key(i, data)] = uuid
                for col in table.strong_cols:
                    for ref_table, ref in datum_refs(columns[col].type, data[col], strong=True):
                        target = tables[ref_table].rows.get(ref)
                        if target is not None and target is not row:  # self-refs don't count
                            target.n_refs += 1
                for col in table.weak_cols:
                    for ref_table, ref in datum_refs(columns[col].type, data[col], strong=False):
                        target = tables[ref_table].rows.get(ref)
                        if target is None:
                            continue
                        if target.weak_in is None:
                            target.weak_in = {}
                        source = (tname, uuid)
                        target.weak_in[source] = target.weak_in.get(source, 0) + 1

    def _update_weak_referrers(self, change: RowChange, table: Table) -> None:
        schema = table.schema
        before: dict[tuple[str, Uuid], int] = {}
        after: dict[tuple[str, Uuid], int] = {}
        old = None if change.old is None else change.old.data
        new = change.new
        for name in table.weak_cols:
            odat = None if old is None else old[name]
            ndat = None if new is None else new[name]
            if (odat is ndat and old is not None and new is not None) or (not odat and not ndat):
                continue  # unchanged, or empty before and after (a weak uuid is never empty)
            ctype = schema.columns[name].type
            if odat is not None:
                for ref in datum_refs(ctype, odat, strong=False):
                    before[ref] = before.get(ref, 0) + 1
            if ndat is not None:
                for ref in datum_refs(ctype, ndat, strong=False):
                    after[ref] = after.get(ref, 0) + 1
        for ref in before.keys() | after.keys():
            n = after.get(ref, 0)
            if n == before.get(ref, 0):
                continue
            target = self.tables[ref[0]].rows.get(ref[1])
            if target is None:
                continue
            if target.weak_in is None:
                target.weak_in = {}
            source = (change.table, change.uuid)
            if n:
                target.weak_in[source] = n
            else:
                target.weak_in.pop(source, None)

    # ------------------------------------------------------------------ JSON views

    def row_to_json(self, table: str, row: Row, columns: Any = None) -> dict[str, Any]:
        schema = self.tables[table].schema
        out: dict[str, Any] = {}
        names = columns if columns is not None else ("_uuid", "_version", *schema.columns)
        for name in names:
            if name == "_uuid":
                out[name] = ["uuid", row.uuid]
            elif name == "_version":
                out[name] = ["uuid", row.version]
            else:
                out[name] = datum_to_json(schema.columns[name].type, row.data[name])
        return out


def _ref_columns(schema: TableSchema, strong: bool) -> tuple[str, ...]:
    def holds(base: Any) -> bool:
        return base is not None and base.is_ref and base.is_strong_ref == strong

    return tuple(n for n, c in schema.columns.items() if holds(c.type.key) or holds(c.type.value))
