"""RFC 7047 database schemas: tables, columns, indexes; JSON in and out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyovn.ovsdb.errors import OvsdbError
from pyovn.ovsdb.jsonio import loads
from pyovn.ovsdb.types import ID_RE, UNLIMITED, AtomicType, BaseType, Type

_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
UUID_TYPE = Type(BaseType(AtomicType.UUID))


@dataclass(frozen=True, slots=True)
class ColumnSchema:
    name: str
    type: Type
    ephemeral: bool = False
    mutable: bool = True

    @classmethod
    def from_json(cls, name: str, js: Any) -> ColumnSchema:
        if not isinstance(js, dict):
            raise OvsdbError("syntax error", f"column {name} must be an object")
        unknown = set(js) - {"type", "ephemeral", "mutable"}
        if unknown:
            raise OvsdbError(
                "syntax error", f"unknown member(s) {sorted(unknown)} in column {name}"
            )
        if "type" not in js:
            raise OvsdbError("syntax error", f"column {name} is missing required member type")
        ephemeral = js.get("ephemeral", False)
        mutable = js.get("mutable", True)
        if not isinstance(ephemeral, bool) or not isinstance(mutable, bool):
            raise OvsdbError("syntax error", f"column {name}: ephemeral and mutable are booleans")
        return cls(name, Type.from_json(js["type"]), ephemeral, mutable)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type.to_json()}
        if self.ephemeral:
            out["ephemeral"] = True
        if not self.mutable:
            out["mutable"] = False
        return out


BUILTIN_COLUMNS = {
    "_uuid": ColumnSchema("_uuid", UUID_TYPE, mutable=False),
    "_version": ColumnSchema("_version", UUID_TYPE, mutable=False),
}


@dataclass(frozen=True, slots=True)
class TableSchema:
    name: str
    columns: dict[str, ColumnSchema]  # user columns, in schema order
    max_rows: float = UNLIMITED
    is_root: bool = False
    indexes: tuple[tuple[str, ...], ...] = ()
    # every column including _uuid and _version
    all_columns: dict[str, ColumnSchema] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, name: str, js: Any, default_root: bool) -> TableSchema:
        if not isinstance(js, dict):
            raise OvsdbError("syntax error", f"table {name} must be an object")
        unknown = set(js) - {"columns", "maxRows", "isRoot", "indexes"}
        if unknown:
            raise OvsdbError("syntax error", f"unknown member(s) {sorted(unknown)} in table {name}")
        cols_js = js.get("columns")
        if not isinstance(cols_js, dict) or not cols_js:
            raise OvsdbError("syntax error", f"table {name} needs at least one column")
        columns: dict[str, ColumnSchema] = {}
        for cname, cjs in cols_js.items():
            if not ID_RE.match(cname) or cname.startswith("_"):
                raise OvsdbError("syntax error", f"{cname}: invalid column name in table {name}")
            columns[cname] = ColumnSchema.from_json(cname, cjs)
        max_rows_js = js.get("maxRows")
        max_rows: float = UNLIMITED
        if max_rows_js is not None:
            if isinstance(max_rows_js, bool) or not isinstance(max_rows_js, int) or max_rows_js < 1:
                raise OvsdbError("syntax error", f"table {name}: maxRows must be at least 1")
            max_rows = max_rows_js
        is_root = js.get("isRoot", False)
        if not isinstance(is_root, bool):
            raise OvsdbError("syntax error", f"table {name}: isRoot must be a boolean")
        is_root = is_root or default_root
        indexes: list[tuple[str, ...]] = []
        for index in js.get("indexes", []):
            if not isinstance(index, list) or not index:
                raise OvsdbError("syntax error", f"table {name}: index must be a non-empty array")
            for cname in index:
                col = columns.get(cname)
                if col is None:
                    raise OvsdbError(
                        "syntax error", f"table {name} index refers to unknown column {cname}"
                    )
                if col.ephemeral:
                    raise OvsdbError("syntax error", f"ephemeral column {cname} may not be indexed")
            if len(set(index)) != len(index):
                raise OvsdbError("syntax error", "array of distinct column names expected", index)
            indexes.append(tuple(index))
        all_columns = dict(BUILTIN_COLUMNS)
        all_columns.update(columns)
        return cls(name, columns, max_rows, is_root, tuple(indexes), all_columns)

    def to_json(self, default_root: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"columns": {n: c.to_json() for n, c in self.columns.items()}}
        if self.max_rows != UNLIMITED:
            out["maxRows"] = int(self.max_rows)
        if self.is_root and not default_root:
            out["isRoot"] = True
        if self.indexes:
            out["indexes"] = [list(i) for i in self.indexes]
        return out


@dataclass(frozen=True, slots=True)
class DatabaseSchema:
    name: str
    version: str
    tables: dict[str, TableSchema]
    cksum: str | None = None
    # as in ovsdb-server: if no table sets "isRoot": true, every table is a root table.
    all_root: bool = False

    @classmethod
    def from_json(cls, js: Any) -> DatabaseSchema:
        if not isinstance(js, dict):
            raise OvsdbError("syntax error", "schema must be a JSON object")
        unknown = set(js) - {"name", "version", "cksum", "tables"}
        if unknown:
            raise OvsdbError("syntax error", f"unknown member(s) {sorted(unknown)} in schema")
        name = js.get("name")
        if not isinstance(name, str) or not ID_RE.match(name):
            raise OvsdbError("syntax error", f"invalid database name {name!r}")
        version = js.get("version", "0.0.0")
        if not isinstance(version, str) or not _VERSION_RE.match(version):
            raise OvsdbError("syntax error", f"schema version {version!r} is not x.y.z")
        cksum = js.get("cksum")
        tables_js = js.get("tables")
        if not isinstance(tables_js, dict):  # ovsdb-tool accepts a schema with no tables
            raise OvsdbError("syntax error", "tables must be a JSON object")
        # every table is a root table unless some table says "isRoot": true
        any_root = any(isinstance(t, dict) and t.get("isRoot") is True for t in tables_js.values())
        all_root = not any_root
        tables: dict[str, TableSchema] = {}
        for tname, tjs in tables_js.items():
            if not ID_RE.match(tname) or tname.startswith("_"):
                raise OvsdbError("syntax error", f"invalid table name {tname!r}")
            tables[tname] = TableSchema.from_json(tname, tjs, all_root)
        for table in tables.values():
            for col in table.columns.values():
                for base in (col.type.key, col.type.value):
                    if (
                        base is not None
                        and base.ref_table is not None
                        and base.ref_table not in tables
                    ):
                        raise OvsdbError(
                            "syntax error",
                            f"column {col.name} in table {table.name} refers to "
                            f"undefined table {base.ref_table}",
                        )
        return cls(name, version, tables, cksum if isinstance(cksum, str) else None, all_root)

    @classmethod
    def from_file(cls, path: str | Path) -> DatabaseSchema:
        return cls.from_json(loads(Path(path).read_bytes()))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.cksum is not None:
            out["cksum"] = self.cksum
        out["tables"] = {n: t.to_json(self.all_root) for n, t in self.tables.items()}
        return out
