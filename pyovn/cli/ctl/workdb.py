"""The database as one ovn-nbctl invocation sees it while its commands run.

A ``WorkDb`` starts as the client's replica and records every change a command makes twice:
in its own copy of the rows (so ``ls-add sw0 -- lsp-add sw0 p1`` finds sw0) and as OVSDB
operations in one ``Txn`` (so the whole chain commits atomically). Changes use operations
that are safe when the transaction is rebuilt and retried: ``mutate`` for adding to or
removing from sets and maps, ``wait`` to verify what a decision was based on (a name that
must still be free, a row that must still be there).

Rows created in this invocation are keyed by their ``NamedUuid``; changes to them are folded
into their ``insert`` operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pyovn.cli.ctl.values import CtlError
from pyovn.ovsdb.client.replica import RowView
from pyovn.ovsdb.client.txn import NamedUuid, Txn, value_json
from pyovn.ovsdb.data import Datum, default_datum
from pyovn.ovsdb.schema import DatabaseSchema, TableSchema
from pyovn.ovsdb.types import Type, Uuid

Key = Any  # Uuid for a stored row, NamedUuid for a row inserted in this transaction
READ_ONLY_OPS = frozenset(("wait", "comment", "select", "assert"))


def contains_named(datum: Datum) -> bool:
    if isinstance(datum, NamedUuid):
        return True
    if isinstance(datum, frozenset):
        return any(isinstance(a, NamedUuid) for a in datum)
    if isinstance(datum, dict):
        return any(isinstance(a, NamedUuid) for kv in datum.items() for a in kv)
    return False


def uuid_json(key: Key) -> list[str]:
    if isinstance(key, NamedUuid):
        return ["named-uuid", key.name]
    return ["uuid", str(key)]


def where_key(key: Key) -> list[Any]:
    return [["_uuid", "==", uuid_json(key)]]


class WorkDb:
    def __init__(
        self,
        schema: DatabaseSchema,
        source: Callable[[str], Mapping[Uuid, RowView]],
        txn: Txn,
    ) -> None:
        self.schema = schema
        self.txn = txn
        self._source = source
        self._tables: dict[str, dict[Key, RowView]] = {}
        self._inserts: dict[NamedUuid, tuple[str, dict[str, Any], set[str]]] = {}

    # ------------------------------------------------------------------ reading

    def table(self, name: str) -> TableSchema:
        return self.schema.tables[name]

    def rows(self, table: str) -> dict[Key, RowView]:
        rows = self._tables.get(table)
        if rows is None:
            rows = self._tables[table] = dict(self._source(table))
        return rows

    def get(self, table: str, key: Key) -> RowView | None:
        return self.rows(table).get(key)

    def find(self, table: str, **columns: Any) -> list[RowView]:
        return [r for r in self.rows(table).values() if all(r[c] == v for c, v in columns.items())]

    def has_writes(self) -> bool:
        return any(op.get("op") not in READ_ONLY_OPS for op in self.txn.ops)

    # ------------------------------------------------------------------ writing

    def _put(self, table: str, key: Key, data: dict[str, Datum]) -> RowView:
        row = RowView(table, key, data)
        self.rows(table)[key] = row
        return row

    def _must_get(self, table: str, key: Key) -> RowView:
        row = self.get(table, key)
        if row is None:
            raise CtlError(f"row {key} in table {table} no longer exists")
        return row

    def _sync_insert(self, key: NamedUuid, columns: Iterable[str]) -> None:
        table, op, touched = self._inserts[key]
        touched.update(columns)
        row = self.rows(table)[key]
        schema = self.table(table)
        op["row"] = {c: value_json(schema.columns[c].type, row[c]) for c in sorted(touched)}

    def insert(
        self, table: str, values: Mapping[str, Datum], uuid: Uuid | None = None
    ) -> NamedUuid:
        schema = self.table(table)
        named = self.txn.insert(table, {}, uuid=uuid)
        op = self.txn.ops[-1]
        data = {c: default_datum(col.type) for c, col in schema.columns.items()}
        data.update(values)
        self._put(table, named, data)
        self._inserts[named] = (table, op, set())
        self._sync_insert(named, values)
        return named

    def write(self, table: str, key: Key, values: Mapping[str, Datum]) -> None:
        """Set whole columns of a row."""
        row = self._must_get(table, key)
        data = dict(row.data())
        data.update(values)
        self._put(table, key, data)
        if isinstance(key, NamedUuid):
            self._sync_insert(key, values)
        else:
            self.txn.update(table, key, dict(values))

    def add_elements(self, table: str, key: Key, column: str, elements: Datum, verb: str) -> None:
        """Add set elements, or map pairs whose keys are not there yet (OVSDB "insert")."""
        row = self._must_get(table, key)
        ctype = self.table(table).columns[column].type
        old = row[column]
        if ctype.is_map:
            new: Datum = dict(old)
            for k, v in elements.items():
                new.setdefault(k, v)
        else:
            new = _as_set(ctype, old) | frozenset(elements)
        self._mutated(table, key, column, ctype, new, verb, "insert", elements)

    def remove_elements(
        self, table: str, key: Key, column: str, elements: Datum, verb: str
    ) -> None:
        """Remove set elements; from a map remove the given keys (a frozenset) or exactly
        matching pairs (a dict)."""
        row = self._must_get(table, key)
        ctype = self.table(table).columns[column].type
        old = row[column]
        if ctype.is_map:
            if isinstance(elements, dict):
                new: Datum = {k: v for k, v in old.items() if elements.get(k, _MISSING) != v}
            else:
                new = {k: v for k, v in old.items() if k not in elements}
        else:
            new = _as_set(ctype, old) - frozenset(elements)
        self._mutated(table, key, column, ctype, new, verb, "delete", elements)

    def set_map_keys(self, table: str, key: Key, column: str, pairs: Mapping[Any, Any]) -> None:
        """Set some keys of a map column, replacing their values (delete, then insert)."""
        row = self._must_get(table, key)
        ctype = self.table(table).columns[column].type
        new = dict(row[column])
        new.update(pairs)
        _check_count(ctype, len(new), "set", column, table)
        self._put(table, key, {**row.data(), column: new})
        if isinstance(key, NamedUuid):
            self._sync_insert(key, [column])
            return
        self.txn.mutate(
            table,
            key,
            [(column, "delete", frozenset(pairs)), (column, "insert", dict(pairs))],
        )

    def _mutated(
        self,
        table: str,
        key: Key,
        column: str,
        ctype: Type,
        new: Datum,
        verb: str,
        mutator: str,
        elements: Datum,
    ) -> None:
        n = len(new)
        _check_count(ctype, n, verb, column, table)
        row = self._must_get(table, key)
        value = next(iter(new)) if ctype.is_scalar else new
        self._put(table, key, {**row.data(), column: value})
        if isinstance(key, NamedUuid):
            self._sync_insert(key, [column])
            return
        if not elements:
            return
        self.txn.mutate(table, key, [(column, mutator, elements)])

    def delete(self, table: str, key: Key) -> None:
        self.rows(table).pop(key, None)
        self.txn.raw({"op": "delete", "table": table, "where": where_key(key)})

    # ------------------------------------------------------------------ verifying

    def verify(self, table: str, key: Key, columns: Iterable[str]) -> None:
        """The commit must fail with "try again" unless these columns still hold the values
        this invocation read (nothing to check for a row it inserted itself)."""
        if isinstance(key, NamedUuid):
            return
        row = self._must_get(table, key)
        values = {c: row[c] for c in columns if not contains_named(row[c])}
        if values:
            self.txn.verify(table, key, values)
        else:
            self.verify_exists(table, key)

    def verify_exists(self, table: str, key: Key) -> None:
        if isinstance(key, NamedUuid):
            return
        self.txn.raw(
            {
                "op": "wait",
                "timeout": 0,
                "table": table,
                "where": where_key(key),
                "columns": ["_uuid"],
                "until": "==",
                "rows": [{"_uuid": uuid_json(key)}],
            }
        )

    def verify_absent(self, table: str, where: list[Any]) -> None:
        self.txn.verify_absent(table, where)

    def increment(self, table: str, key: Key, column: str) -> int:
        """Add 1 to an integer column at commit; returns the index of the result that will
        hold the new value (``results[i]["rows"][0][column]``)."""
        if isinstance(key, NamedUuid):
            row = self._must_get(table, key)
            self.write(table, key, {column: row[column] + 1})
        else:
            self.txn.raw(
                {
                    "op": "mutate",
                    "table": table,
                    "where": where_key(key),
                    "mutations": [[column, "+=", 1]],
                }
            )
        self.txn.raw({"op": "select", "table": table, "where": where_key(key), "columns": [column]})
        return len(self.txn.ops) - 1


_MISSING = object()


def _as_set(ctype: Type, datum: Datum) -> frozenset[Any]:
    return frozenset((datum,)) if ctype.is_scalar else frozenset(datum)


def _check_count(ctype: Type, n: int, verb: str, column: str, table: str) -> None:
    if n < ctype.min:
        raise CtlError(
            f'"{verb}" operation would put {n} values in column {column} of table {table} '
            f"but the minimum number is {ctype.min}"
        )
    if n > ctype.max:
        raise CtlError(
            f'"{verb}" operation would put {n} values in column {column} of table {table} '
            f"but the maximum number is {int(ctype.max)}"
        )
