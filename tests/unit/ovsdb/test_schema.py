"""Database schemas: tables, columns, isRoot, maxRows, indexes, mutable; JSON in and out.

Which schemas are accepted follows Debian's ``ovsdb-tool create`` (OVS 3.1).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pyovn.ovsdb.errors import OvsdbError
from pyovn.ovsdb.schema import BUILTIN_COLUMNS, DatabaseSchema
from pyovn.ovsdb.types import UNLIMITED

from .conftest import ENGINE_SCHEMA


def schema(columns: dict[str, Any] | None = None, **table: Any) -> dict[str, Any]:
    t: dict[str, Any] = {"columns": {"a": {"type": "integer"}} if columns is None else columns}
    t.update(table)
    return {"name": "X", "version": "1.0.0", "tables": {"T": t}}


def bad(js: Any) -> OvsdbError:
    with pytest.raises(OvsdbError) as info:
        DatabaseSchema.from_json(js)
    assert info.value.error == "syntax error"
    return info.value


def test_engine_schema_parses(engine_schema: DatabaseSchema) -> None:
    assert engine_schema.name == "T"
    assert engine_schema.version == "1.2.3"
    assert list(engine_schema.tables) == list(ENGINE_SCHEMA["tables"])
    atoms = engine_schema.tables["Atoms"]
    assert list(atoms.columns) == list(ENGINE_SCHEMA["tables"]["Atoms"]["columns"])
    assert not atoms.columns["frozen"].mutable
    assert atoms.columns["i"].mutable
    assert engine_schema.tables["Limited"].max_rows == 2
    assert atoms.max_rows == UNLIMITED
    assert engine_schema.tables["Target"].indexes == (("name",), ("k", "name"))
    assert engine_schema.tables["Parent"].is_root
    assert not engine_schema.tables["Child"].is_root
    assert not engine_schema.all_root


def test_builtin_columns_are_everywhere_and_immutable(engine_schema: DatabaseSchema) -> None:
    for table in engine_schema.tables.values():
        assert list(table.all_columns)[:2] == ["_uuid", "_version"]
        assert set(table.all_columns) == {"_uuid", "_version", *table.columns}
        assert "_uuid" not in table.columns
    for column in BUILTIN_COLUMNS.values():
        assert not column.mutable
        assert column.type.to_json() == "uuid"


def test_round_trip_is_exact(engine_schema: DatabaseSchema) -> None:
    js = engine_schema.to_json()
    assert DatabaseSchema.from_json(js) == engine_schema
    assert json.loads(json.dumps(js)) == js


def test_to_json_uses_the_shortest_forms(engine_schema: DatabaseSchema) -> None:
    js = engine_schema.to_json()
    atoms = js["tables"]["Atoms"]
    assert atoms["columns"]["i"] == {"type": "integer"}
    assert atoms["columns"]["frozen"] == {"type": "string", "mutable": False}
    assert atoms["columns"]["opt"] == {"type": {"key": "integer", "min": 0}}
    assert "maxRows" not in atoms and "indexes" not in atoms
    assert js["tables"]["Limited"]["maxRows"] == 2
    assert js["tables"]["Target"]["indexes"] == [["name"], ["k", "name"]]
    # isRoot is printed only for root tables, and only when not every table is root
    assert atoms["isRoot"] is True
    assert "isRoot" not in js["tables"]["Child"]


def test_no_isroot_anywhere_makes_every_table_root() -> None:
    js = {
        "name": "X",
        "tables": {
            "A": {"columns": {"a": {"type": "integer"}}},
            "B": {"columns": {"b": {"type": "integer"}}},
        },
    }
    parsed = DatabaseSchema.from_json(js)
    assert parsed.all_root
    assert all(t.is_root for t in parsed.tables.values())
    assert parsed.version == "0.0.0"  # optional in the schema
    out = parsed.to_json()
    assert all("isRoot" not in t for t in out["tables"].values())
    assert DatabaseSchema.from_json(out) == parsed


def test_isroot_false_everywhere_still_makes_every_table_root() -> None:
    # ovsdb-server: "if the root set is empty then assume that every table is in the root set"
    js = {
        "name": "X",
        "version": "1.0.0",
        "tables": {
            "A": {"isRoot": False, "columns": {"a": {"type": "integer"}}},
            "B": {"columns": {"b": {"type": "integer"}}},
        },
    }
    parsed = DatabaseSchema.from_json(js)
    assert parsed.tables["A"].is_root and parsed.tables["B"].is_root


def test_one_root_table_makes_the_others_non_root() -> None:
    js = {
        "name": "X",
        "version": "1.0.0",
        "tables": {
            "A": {"isRoot": True, "columns": {"a": {"type": "integer"}}},
            "B": {"columns": {"b": {"type": "integer"}}},
        },
    }
    parsed = DatabaseSchema.from_json(js)
    assert parsed.tables["A"].is_root and not parsed.tables["B"].is_root


def test_schema_without_tables_is_accepted_like_ovsdb_tool() -> None:
    parsed = DatabaseSchema.from_json({"name": "X", "version": "1.0.0", "tables": {}})
    assert parsed.tables == {}


def test_cksum_is_kept() -> None:
    js = schema()
    js["cksum"] = "123 45"
    parsed = DatabaseSchema.from_json(js)
    assert parsed.cksum == "123 45"
    assert parsed.to_json()["cksum"] == "123 45"


def test_ephemeral_columns_round_trip() -> None:
    js = schema({"a": {"type": "integer", "ephemeral": True}})
    parsed = DatabaseSchema.from_json(js)
    assert parsed.tables["T"].columns["a"].ephemeral
    assert parsed.to_json()["tables"]["T"]["columns"]["a"] == {"type": "integer", "ephemeral": True}


def test_indexes_over_sets_are_allowed() -> None:
    js = schema({"a": {"type": {"key": "integer", "min": 0, "max": "unlimited"}}}, indexes=[["a"]])
    assert DatabaseSchema.from_json(js).tables["T"].indexes == (("a",),)


@pytest.mark.parametrize(
    ("js", "message"),
    [
        (schema({"a": {"type": "integer", "zz": 1}}), "zz"),
        (schema({"a": {}}), "type"),
        (schema({"a": {"type": "int"}}), "atomic type"),
        (schema({"a": {"type": "integer", "mutable": 1}}), "mutable"),
        (schema({"a": {"type": "integer", "ephemeral": "yes"}}), "ephemeral"),
        (schema({"_a": {"type": "integer"}}), "_a"),
        (schema({"a-b": {"type": "integer"}}), "a-b"),
        (schema({}), "at least one column"),
        (schema(maxRows=0), "maxRows must be at least 1"),
        (schema(maxRows=-1), "maxRows must be at least 1"),
        (schema(maxRows=True), "maxRows"),
        (schema(isRoot=1), "isRoot"),
        (schema(indexes=[["zz"]]), "zz"),
        (schema(indexes=[[]]), "index"),
        (schema(indexes=[["a", "a"]]), "array of distinct column names expected"),
        (schema({"a": {"type": "integer", "ephemeral": True}}, indexes=[["a"]]), "ephemeral"),
        (schema(bogus=1), "bogus"),
        (schema({"a": {"type": {"key": {"type": "uuid", "refTable": "Nope"}}}}), "Nope"),
        (
            schema({"a": {"type": {"key": "string", "value": {"type": "uuid", "refTable": "No"}}}}),
            "undefined table No",
        ),
        ({"name": "X", "version": "1.0", "tables": {}}, "1.0"),
        ({"name": "1X", "version": "1.0.0", "tables": {}}, "1X"),
        ({"version": "1.0.0", "tables": {}}, "database name"),
        ({"name": "X", "tables": {"_T": {"columns": {"a": {"type": "integer"}}}}}, "_T"),
        ({"name": "X", "tables": [], "version": "1.0.0"}, "tables"),
        ({"name": "X", "tables": {}, "zz": 1}, "zz"),
        ([], "schema must be a JSON object"),
    ],
)
def test_bad_schemas(js: Any, message: str) -> None:
    assert message in bad(js).details


def test_from_file_reads_a_schema(tmp_path) -> None:
    path = tmp_path / "t.ovsschema"
    path.write_text(json.dumps(ENGINE_SCHEMA))
    assert DatabaseSchema.from_file(path) == DatabaseSchema.from_json(copy.deepcopy(ENGINE_SCHEMA))


def test_column_order_is_kept() -> None:
    cols = {name: {"type": "integer"} for name in ("z", "a", "m")}
    parsed = DatabaseSchema.from_json(schema(cols))
    assert list(parsed.tables["T"].columns) == ["z", "a", "m"]
    assert list(parsed.to_json()["tables"]["T"]["columns"]) == ["z", "a", "m"]
