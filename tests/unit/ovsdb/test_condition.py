"""Conditions (``where`` clauses): parsing against a table and evaluation on rows.

The semantics are checked against Debian's ovsdb-server 3.1, including its extensions to
RFC 7047: ordered comparisons on optional integers and reals, and the boolean clauses.
"""

from __future__ import annotations

from typing import Any

import pytest

from pyovn.ovsdb.condition import Condition, parse_clause, parse_condition
from pyovn.ovsdb.data import Symtab, datum_from_json, default_datum
from pyovn.ovsdb.errors import OvsdbError
from pyovn.ovsdb.schema import DatabaseSchema, TableSchema
from pyovn.ovsdb.types import Uuid

from .conftest import UA, UB


@pytest.fixture
def atoms(engine_schema: DatabaseSchema) -> TableSchema:
    return engine_schema.tables["Atoms"]


def make_row(table: TableSchema, **values: Any) -> dict[str, Any]:
    data = {name: default_datum(col.type) for name, col in table.columns.items()}
    for name, js in values.items():
        data[name] = datum_from_json(table.columns[name].type, js)
    return data


def matches(table: TableSchema, where: list[Any], uuid: str = UA, **values: Any) -> bool:
    cond = parse_condition(table, where, allow_bool=True)
    return cond.evaluate(make_row(table, **values), Uuid(uuid), Uuid(UB))


def parse_error(table: TableSchema, clause: Any) -> OvsdbError:
    with pytest.raises(OvsdbError) as info:
        parse_condition(table, [clause])
    return info.value


# ---------------------------------------------------------------------------- scalars


@pytest.mark.parametrize(
    ("function", "value", "expected"),
    [
        ("==", 5, True),
        ("==", 6, False),
        ("!=", 5, False),
        ("!=", 6, True),
        ("<", 6, True),
        ("<", 5, False),
        ("<=", 5, True),
        ("<=", 4, False),
        (">", 4, True),
        (">", 5, False),
        (">=", 5, True),
        (">=", 6, False),
        ("includes", 5, True),
        ("includes", 6, False),
        ("excludes", 5, False),
        ("excludes", 6, True),
    ],
)
def test_every_function_on_an_integer(atoms: TableSchema, function: str, value, expected) -> None:
    assert matches(atoms, [["i", function, value]], i=5) is expected


@pytest.mark.parametrize(
    ("function", "value", "expected"),
    [("<", 2.5, False), ("<", 3, True), ("<=", 2.5, True), (">", 2, True), (">=", 2.6, False)],
)
def test_ordered_functions_on_a_real(atoms: TableSchema, function: str, value, expected) -> None:
    assert matches(atoms, [["r", function, value]], r=2.5) is expected


def test_equality_on_strings_booleans_and_uuids(atoms: TableSchema) -> None:
    assert matches(atoms, [["s", "==", "x"]], s="x")
    assert not matches(atoms, [["s", "!=", "x"]], s="x")
    assert matches(atoms, [["b", "==", True]], b=True)
    assert matches(atoms, [["b", "!=", True]], b=False)
    assert matches(atoms, [["u", "==", ["uuid", UB]]], u=["uuid", UB])
    assert matches(atoms, [["s", "includes", "x"]], s="x")
    assert matches(atoms, [["s", "excludes", "y"]], s="x")


@pytest.mark.parametrize("function", ["<", "<=", ">", ">="])
@pytest.mark.parametrize("column", ["s", "b", "u", "iset", "smap", "sset"])
def test_ordered_functions_need_an_integer_or_real(
    atoms: TableSchema, function: str, column: str
) -> None:
    e = parse_error(atoms, [column, function, 1])
    assert e.error == "syntax error"
    assert e.details.startswith(f'Type mismatch: "{function}" operator may not be applied to')
    assert column in e.details


# ---------------------------------------------------------------------------- optional


@pytest.mark.parametrize(
    ("function", "value", "if_1", "if_5", "if_empty"),
    [
        ("<", 3, True, False, False),
        ("<=", 1, True, False, False),
        (">", 1, False, True, False),
        (">=", 1, True, True, False),
        ("==", 1, True, False, False),
        ("!=", 1, False, True, True),
        ("==", ["set", []], False, False, True),
        ("!=", ["set", []], True, True, False),
        ("includes", 1, True, False, False),
        ("includes", ["set", []], True, True, True),
        ("excludes", 1, False, True, True),
        ("excludes", ["set", [1, 5]], False, False, True),  # excludes takes any number
    ],
)
def test_optional_integer_like_ovsdb_server(
    atoms: TableSchema, function: str, value, if_1: bool, if_5: bool, if_empty: bool
) -> None:
    where = [["opt", function, value]]
    assert matches(atoms, where, opt=1) is if_1
    assert matches(atoms, where, opt=5) is if_5
    assert matches(atoms, where, opt=["set", []]) is if_empty


def test_optional_real_is_ordered_too(atoms: TableSchema) -> None:
    assert matches(atoms, [["ropt", "<", 1]], ropt=0.5)
    assert not matches(atoms, [["ropt", "<", 1]], ropt=["set", []])


@pytest.mark.parametrize("function", ["<", ">="])
def test_ordered_functions_on_optional_need_exactly_one_atom(
    atoms: TableSchema, function: str
) -> None:
    e = parse_error(atoms, ["opt", function, ["set", []]])
    assert e.details == "set must have exactly one member but 0 are present"
    e = parse_error(atoms, ["opt", function, ["set", [1, 5]]])
    assert e.details == "set must have exactly one member but 2 are present"


def test_includes_keeps_the_column_maximum(atoms: TableSchema) -> None:
    e = parse_error(atoms, ["opt", "includes", ["set", [1, 5]]])
    assert e.details == "set must have 0 to 1 members but 2 are present"
    e = parse_error(atoms, ["sset", "includes", ["set", ["a", "b", "c", "d"]]])
    assert e.details == "set must have 0 to 3 members but 4 are present"


# ---------------------------------------------------------------------------- sets and maps


def test_set_functions(atoms: TableSchema) -> None:
    row = {"iset": ["set", [1, 2, 3]]}
    assert matches(atoms, [["iset", "==", ["set", [3, 2, 1]]]], **row)
    assert not matches(atoms, [["iset", "==", ["set", [1, 2]]]], **row)
    assert matches(atoms, [["iset", "!=", ["set", [1, 2]]]], **row)
    assert matches(atoms, [["iset", "includes", ["set", [1, 3]]]], **row)
    assert matches(atoms, [["iset", "includes", 2]], **row)
    assert matches(atoms, [["iset", "includes", ["set", []]]], **row)
    assert not matches(atoms, [["iset", "includes", ["set", [1, 4]]]], **row)
    assert matches(atoms, [["iset", "excludes", ["set", [4, 5]]]], **row)
    assert not matches(atoms, [["iset", "excludes", ["set", [3, 4]]]], **row)
    assert matches(atoms, [["iset", "excludes", ["set", []]]], **row)


def test_an_empty_includes_or_excludes_argument_is_vacuously_true(atoms: TableSchema) -> None:
    assert matches(atoms, [["iset", "includes", ["set", []]]], iset=["set", []])
    assert matches(atoms, [["iset", "excludes", ["set", []]]], iset=["set", []])


def test_set_equality_checks_the_column_size(atoms: TableSchema) -> None:
    e = parse_error(atoms, ["sset1", "==", ["set", []]])
    assert e.details == "set must have 1 to 2 members but 0 are present"


def test_map_functions(atoms: TableSchema) -> None:
    row = {"smap": ["map", [["a", "1"], ["b", "2"]]]}
    assert matches(atoms, [["smap", "==", ["map", [["b", "2"], ["a", "1"]]]]], **row)
    assert matches(atoms, [["smap", "!=", ["map", []]]], **row)
    # includes/excludes compare key-value pairs
    assert matches(atoms, [["smap", "includes", ["map", [["a", "1"]]]]], **row)
    assert not matches(atoms, [["smap", "includes", ["map", [["a", "2"]]]]], **row)
    assert matches(atoms, [["smap", "excludes", ["map", [["a", "2"], ["c", "1"]]]]], **row)
    assert not matches(atoms, [["smap", "excludes", ["map", [["a", "1"]]]]], **row)


# ---------------------------------------------------------------------------- the rest


def test_clauses_are_anded_and_empty_matches_everything(atoms: TableSchema) -> None:
    assert matches(atoms, [], i=1)
    assert matches(atoms, [["i", "==", 1], ["s", "==", "x"]], i=1, s="x")
    assert not matches(atoms, [["i", "==", 1], ["s", "==", "y"]], i=1, s="x")


def test_boolean_clauses(atoms: TableSchema) -> None:
    assert matches(atoms, [True], i=1)
    assert not matches(atoms, [False], i=1)
    assert not matches(atoms, [True, False, ["i", "==", 1]], i=1)


def test_uuid_and_version_columns(atoms: TableSchema) -> None:
    assert matches(atoms, [["_uuid", "==", ["uuid", UA]]], uuid=UA)
    assert not matches(atoms, [["_uuid", "==", ["uuid", UB]]], uuid=UA)
    assert matches(atoms, [["_version", "==", ["uuid", UB]]])  # matches() passes UB
    assert matches(atoms, [["_uuid", "!=", ["uuid", UB]]], uuid=UA)


def test_uuid_lookup_only_for_a_single_uuid_equality(atoms: TableSchema) -> None:
    assert parse_condition(atoms, [["_uuid", "==", ["uuid", UA]]]).uuid_lookup() == UA
    assert parse_condition(atoms, [["_uuid", "!=", ["uuid", UA]]]).uuid_lookup() is None
    assert parse_condition(atoms, [["i", "==", 1]]).uuid_lookup() is None
    two = [["_uuid", "==", ["uuid", UA]], ["i", "==", 1]]
    assert parse_condition(atoms, two).uuid_lookup() is None
    assert Condition().uuid_lookup() is None


def test_named_uuid_in_a_condition_uses_the_symbol_table(atoms: TableSchema) -> None:
    symtab = Symtab()
    uuid = symtab.lookup("row")
    clause = parse_clause(atoms, ["_uuid", "==", ["named-uuid", "row"]], symtab)
    assert clause.value == uuid


@pytest.mark.parametrize(
    ("clause", "error", "details"),
    [
        (["zz", "==", 1], "unknown column", "No column zz in table Atoms."),
        (["i", "~", 1], "unknown function", "No function named ~."),
        (["i", "=="], "syntax error", "Parse error in condition."),
        (["i", "==", 1, 2], "syntax error", "Parse error in condition."),
        ([1, "==", 1], "syntax error", "Parse error in condition."),
        ("i == 1", "syntax error", "Parse error in condition."),
        (["i", "==", "x"], "syntax error", "expected integer"),
        (["_uuid", "==", "x"], "syntax error", 'expected ["uuid", <string>]'),
        (
            ["irange", "==", 50],
            "constraint violation",
            "50 is not in the valid range -10 to 10 (inclusive)",
        ),
    ],
)
def test_clause_errors(atoms: TableSchema, clause: Any, error: str, details: str) -> None:
    e = parse_error(atoms, clause)
    assert (e.error, e.details) == (error, details)


def test_where_must_be_an_array(atoms: TableSchema) -> None:
    with pytest.raises(OvsdbError) as info:
        parse_condition(atoms, {"i": 1})
    assert info.value.error == "syntax error"


def test_boolean_clauses_only_where_allowed(atoms: TableSchema) -> None:
    with pytest.raises(OvsdbError):
        parse_condition(atoms, [True], allow_bool=False)
    assert parse_condition(atoms, [False], allow_bool=True).constant is False
