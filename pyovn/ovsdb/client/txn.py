"""Building OVSDB transactions on the client side, from Python values.

Values may be given the friendly way: a list/set/tuple for a set column, a dict for a map,
None or a bare value for an optional column, ``NamedUuid`` for a row inserted in the same
transaction. ``verify`` adds a ``wait`` that makes the commit fail with "try again" if the
row changed since the replica saw it (optimistic concurrency, as OVS's IDL does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyovn.ovsdb.data import datum_to_json
from pyovn.ovsdb.schema import DatabaseSchema, TableSchema
from pyovn.ovsdb.types import AtomicType, Type, Uuid


@dataclass(frozen=True, slots=True)
class NamedUuid:
    """A row inserted earlier in the same transaction (``["named-uuid", name]``)."""

    name: str


class TxnError(Exception):
    """A transaction failed; ``error`` is the RFC error object of the failing operation."""

    def __init__(self, error: Mapping[str, Any], results: list[Any]) -> None:
        self.error = dict(error)
        self.results = results
        details = error.get("details")
        super().__init__(f"{error.get('error')}: {details}" if details else str(error.get("error")))

    @property
    def name(self) -> str:
        return str(self.error.get("error"))


class TryAgain(TxnError):
    """A verified row changed under us: rebuild the transaction from the replica and retry."""


def atom_json(atype: AtomicType, value: Any) -> Any:
    if atype is AtomicType.UUID:
        if isinstance(value, NamedUuid):
            return ["named-uuid", value.name]
        return ["uuid", str(value)]
    if atype is AtomicType.REAL:
        return float(value)
    return value


def value_json(ctype: Type, value: Any) -> Any:
    """A Python value for a column of ``ctype`` -> OVSDB JSON."""
    key = ctype.key.type
    if ctype.value is not None:
        vtype = ctype.value.type
        items = value.items() if isinstance(value, Mapping) else value
        return [
            "map",
            [[atom_json(key, k), atom_json(vtype, v)] for k, v in sorted(items, key=_sk)],
        ]
    if ctype.is_scalar:
        return atom_json(key, value)
    if value is None:
        return ["set", []]
    if isinstance(value, (list, tuple, set, frozenset)):
        return ["set", [atom_json(key, v) for v in sorted(value, key=_sk)]]
    return atom_json(key, value)


def _sk(item: Any) -> Any:
    return str(item)


def _where_uuid(uuid: Any) -> list[Any]:
    if isinstance(uuid, NamedUuid):
        return [["_uuid", "==", ["named-uuid", uuid.name]]]
    return [["_uuid", "==", ["uuid", str(uuid)]]]


class Txn:
    """Collects operations; ``OvsdbClient.commit(txn)`` sends them as one transaction."""

    def __init__(self, schema: DatabaseSchema) -> None:
        self.schema = schema
        self.ops: list[dict[str, Any]] = []
        self._n_named = 0
        self.durable = False

    def _table(self, name: str) -> TableSchema:
        table = self.schema.tables.get(name)
        if table is None:
            raise KeyError(f"no table {name} in {self.schema.name}")
        return table

    def row_json(self, table: TableSchema, row: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in row.items():
            column = table.columns.get(name)
            if column is None:
                raise KeyError(f"no column {name} in table {table.name}")
            out[name] = value_json(column.type, value)
        return out

    def insert(
        self, table: str, row: Mapping[str, Any], *, uuid: Uuid | str | None = None
    ) -> NamedUuid:
        schema = self._table(table)
        self._n_named += 1
        named = NamedUuid(f"row{self._n_named}")
        op: dict[str, Any] = {
            "op": "insert",
            "table": table,
            "row": self.row_json(schema, row),
            "uuid-name": named.name,
        }
        if uuid is not None:
            op["uuid"] = str(uuid)
        self.ops.append(op)
        return named

    def update(self, table: str, uuid: Any, row: Mapping[str, Any]) -> None:
        schema = self._table(table)
        self.ops.append(
            {
                "op": "update",
                "table": table,
                "where": _where_uuid(uuid),
                "row": self.row_json(schema, row),
            }
        )

    def update_where(self, table: str, where: list[Any], row: Mapping[str, Any]) -> None:
        schema = self._table(table)
        self.ops.append(
            {"op": "update", "table": table, "where": where, "row": self.row_json(schema, row)}
        )

    def mutate(self, table: str, uuid: Any, mutations: Iterable[tuple[str, str, Any]]) -> None:
        schema = self._table(table)
        muts = []
        for column, mutator, value in mutations:
            ctype = schema.columns[column].type
            if mutator in ("insert", "delete"):
                if ctype.value is not None and not isinstance(value, Mapping):
                    arg = value_json(Type(ctype.key, None, 0, float("inf")), value)
                else:
                    arg = value_json(Type(ctype.key, ctype.value, 0, float("inf")), value)
            else:
                arg = atom_json(ctype.key.type, value)
            muts.append([column, mutator, arg])
        self.ops.append(
            {"op": "mutate", "table": table, "where": _where_uuid(uuid), "mutations": muts}
        )

    def delete(self, table: str, uuid: Any) -> None:
        self._table(table)
        self.ops.append({"op": "delete", "table": table, "where": _where_uuid(uuid)})

    def delete_where(self, table: str, where: list[Any]) -> None:
        self._table(table)
        self.ops.append({"op": "delete", "table": table, "where": where})

    def verify(self, table: str, uuid: Any, columns: Mapping[str, Any]) -> None:
        """Fail with "try again" unless the row still has these column values."""
        schema = self._table(table)
        row = {name: datum_to_json(schema.columns[name].type, v) for name, v in columns.items()}
        self.ops.append(
            {
                "op": "wait",
                "timeout": 0,
                "table": table,
                "where": _where_uuid(uuid),
                "columns": list(columns),
                "until": "==",
                "rows": [row],
            }
        )

    def verify_absent(self, table: str, where: list[Any]) -> None:
        """Fail with "try again" if any row matches ``where`` (e.g. a name about to be used)."""
        self._table(table)
        self.ops.append(
            {
                "op": "wait",
                "timeout": 0,
                "table": table,
                "where": where,
                "columns": ["_uuid"],
                "until": "==",
                "rows": [],
            }
        )

    def comment(self, text: str) -> None:
        self.ops.append({"op": "comment", "comment": text})

    def raw(self, op: dict[str, Any]) -> None:
        self.ops.append(op)

    def to_params(self) -> list[Any]:
        ops = list(self.ops)
        if self.durable:
            ops.append({"op": "commit", "durable": True})
        return [self.schema.name, *ops]


def check_results(ops: list[dict[str, Any]], results: list[Any]) -> list[Any]:
    """Raise TxnError/TryAgain if any result is an error; else return the results."""
    for i, result in enumerate(results):
        if isinstance(result, dict) and "error" in result:
            op = ops[i] if i < len(ops) else None
            if result.get("error") == "timed out" and op is not None and op.get("op") == "wait":
                raise TryAgain(result, results)
            raise TxnError(result, results)
    return results


def inserted_uuids(ops: list[dict[str, Any]], results: list[Any]) -> dict[str, Uuid]:
    """uuid-name -> the UUID the server gave each inserted row."""
    out = {}
    for op, result in zip(ops, results, strict=False):
        if op.get("op") == "insert" and "uuid-name" in op and isinstance(result, dict):
            out[op["uuid-name"]] = Uuid(result["uuid"][1])
    return out
