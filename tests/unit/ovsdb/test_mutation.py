"""Mutations: every mutator on integers, reals, sets and maps, and the RFC's error rules.

Results and messages are the ones Debian's ovsdb-server 3.1 gives for the same mutation.
"""

from __future__ import annotations

from typing import Any

import pytest

from pyovn.ovsdb.data import datum_from_json
from pyovn.ovsdb.errors import OvsdbError
from pyovn.ovsdb.mutation import apply_mutation, parse_mutation
from pyovn.ovsdb.schema import DatabaseSchema, TableSchema
from pyovn.ovsdb.types import INT_MAX, INT_MIN


@pytest.fixture
def atoms(engine_schema: DatabaseSchema) -> TableSchema:
    return engine_schema.tables["Atoms"]


def mutate(table: TableSchema, column: str, mutator: str, arg: Any, current: Any) -> Any:
    """Apply one mutation to ``current`` (JSON) and return the new datum."""
    mutation = parse_mutation(table, [column, mutator, arg])
    datum = datum_from_json(table.columns[column].type, current)
    return apply_mutation(mutation, datum)


def mutate_error(
    table: TableSchema, column: str, mutator: str, arg: Any, current: Any
) -> OvsdbError:
    with pytest.raises(OvsdbError) as info:
        mutate(table, column, mutator, arg, current)
    return info.value


def parse_error(table: TableSchema, js: Any) -> OvsdbError:
    with pytest.raises(OvsdbError) as info:
        parse_mutation(table, js)
    return info.value


# ---------------------------------------------------------------------------- integers


@pytest.mark.parametrize(
    ("mutator", "a", "b", "result"),
    [
        ("+=", 7, 5, 12),
        ("-=", 7, 10, -3),
        ("*=", 7, -3, -21),
        ("/=", 7, 2, 3),
        ("/=", 7, -2, -3),  # C: truncation toward zero
        ("/=", -7, 2, -3),
        ("/=", -7, -2, 3),
        ("%=", 7, 3, 1),
        ("%=", 7, -3, 1),  # C: the remainder has the dividend's sign
        ("%=", -7, 3, -1),
        ("%=", -7, -3, -1),
        ("+=", INT_MAX - 1, 1, INT_MAX),
        ("-=", INT_MIN + 1, 1, INT_MIN),
    ],
)
def test_integer_arithmetic(atoms: TableSchema, mutator: str, a: int, b: int, result: int) -> None:
    assert mutate(atoms, "i", mutator, b, a) == result


@pytest.mark.parametrize("mutator", ["/=", "%="])
def test_integer_division_by_zero_is_a_domain_error(atoms: TableSchema, mutator: str) -> None:
    e = mutate_error(atoms, "i", mutator, 0, 7)
    assert (e.error, e.details) == ("domain error", "Division by zero.")


@pytest.mark.parametrize(
    ("mutator", "a", "b"),
    [
        ("+=", INT_MAX, 1),
        ("-=", INT_MIN, 1),
        ("*=", INT_MAX, 2),
        ("*=", INT_MIN, -1),
        ("/=", INT_MIN, -1),
        ("%=", INT_MIN, -1),  # ovsdb-server refuses this one too
    ],
)
def test_integer_overflow_is_a_range_error(
    atoms: TableSchema, mutator: str, a: int, b: int
) -> None:
    e = mutate_error(atoms, "i", mutator, b, a)
    assert (e.error, e.details) == (
        "range error",
        f'Result of "{mutator}" operation is out of range.',
    )


def test_integer_result_must_meet_the_column_constraints(atoms: TableSchema) -> None:
    assert mutate(atoms, "irange", "+=", 7, 3) == 10
    e = mutate_error(atoms, "irange", "+=", 8, 3)
    assert (e.error, e.details) == (
        "constraint violation",
        "11 is not in the valid range -10 to 10 (inclusive)",
    )


def test_the_argument_itself_is_not_range_checked(atoms: TableSchema) -> None:
    # the argument need not meet the column's constraints; only the result must
    assert mutate(atoms, "irange", "+=", -20, 10) == -10
    assert mutate(atoms, "irange", "*=", 100, 0) == 0


# ---------------------------------------------------------------------------- reals


@pytest.mark.parametrize(
    ("mutator", "a", "b", "result"),
    [("+=", 2.5, 0.25, 2.75), ("-=", 2.5, 1, 1.5), ("*=", 2.5, 2, 5.0), ("/=", 2.5, 2, 1.25)],
)
def test_real_arithmetic(
    atoms: TableSchema, mutator: str, a: float, b: float, result: float
) -> None:
    got = mutate(atoms, "r", mutator, b, a)
    assert got == result and isinstance(got, float)


def test_real_modulo_is_not_allowed(atoms: TableSchema) -> None:
    e = parse_error(atoms, ["r", "%=", 2])
    assert e.error == "syntax error"
    assert e.details == (
        'Type mismatch: "%=" operator may not be applied to column r of type real.'
    )


def test_real_division_by_zero_and_overflow(atoms: TableSchema) -> None:
    e = mutate_error(atoms, "r", "/=", 0, 2.5)
    assert (e.error, e.details) == ("domain error", "Division by zero.")
    e = mutate_error(atoms, "r", "*=", 1e308, 1e308)
    assert (e.error, e.details) == ("range error", 'Result of "*=" operation is out of range.')


def test_real_result_must_meet_the_column_constraints(atoms: TableSchema) -> None:
    e = mutate_error(atoms, "rrange", "+=", 2, 1.0)
    assert e.details == "3 is not in the valid range -1.5 to 2.5 (inclusive)"


# ---------------------------------------------------------------------------- arithmetic on sets


def test_arithmetic_applies_to_every_element_of_a_set(atoms: TableSchema) -> None:
    assert mutate(atoms, "iset", "+=", 10, ["set", [1, 2, 3]]) == frozenset({11, 12, 13})
    assert mutate(atoms, "rset", "*=", 2, ["set", [1.5, 2.5]]) == frozenset({3.0, 5.0})
    assert mutate(atoms, "iset", "+=", 1, ["set", []]) == frozenset()
    assert mutate(atoms, "opt", "+=", 1, ["set", [4]]) == frozenset({5})


def test_arithmetic_that_merges_set_elements_fails(atoms: TableSchema) -> None:
    e = mutate_error(atoms, "iset", "*=", 0, ["set", [1, 2]])
    assert (e.error, e.details) == (
        "constraint violation",
        'Result of "*=" operation contains duplicates.',
    )
    e = mutate_error(atoms, "iset", "/=", 3, ["set", [1, 2]])
    assert e.details == 'Result of "/=" operation contains duplicates.'


def test_arithmetic_on_a_set_checks_each_result(atoms: TableSchema) -> None:
    e = mutate_error(atoms, "ibset", "*=", 10, ["set", [10, 20]])
    assert (e.error, e.details) == (
        "constraint violation",
        "200 is not in the valid range 0 to 100 (inclusive)",
    )


# ---------------------------------------------------------------------------- insert and delete


def test_set_insert_and_delete(atoms: TableSchema) -> None:
    ab = ["set", ["a", "b"]]
    assert mutate(atoms, "sset", "insert", ["set", ["c"]], ab) == frozenset("abc")
    assert mutate(atoms, "sset", "insert", "c", ab) == frozenset("abc")  # a bare atom
    assert mutate(atoms, "sset", "insert", ["set", ["a", "c"]], ab) == frozenset("abc")
    assert mutate(atoms, "sset", "insert", ["set", []], ab) == frozenset("ab")
    assert mutate(atoms, "sset", "delete", ["set", ["a", "zz"]], ab) == frozenset("b")
    assert mutate(atoms, "sset", "delete", "b", ab) == frozenset("a")


def test_insert_past_the_maximum_size_fails(atoms: TableSchema) -> None:
    e = mutate_error(atoms, "sset", "insert", ["set", ["c", "d"]], ["set", ["a", "b"]])
    assert (e.error, e.details) == (
        "constraint violation",
        "Attempted to store 4 elements in set of up to 3 strings.",
    )


def test_delete_below_the_minimum_size_fails(atoms: TableSchema) -> None:
    e = mutate_error(atoms, "sset1", "delete", "x", "x")
    assert (e.error, e.details) == (
        "constraint violation",
        "Attempted to store 0 elements in set of 1 to 2 strings.",
    )


def test_insert_argument_is_limited_to_the_column_maximum(atoms: TableSchema) -> None:
    e = parse_error(atoms, ["sset", "insert", ["set", ["a", "b", "c", "d"]]])
    assert (e.error, e.details) == (
        "syntax error",
        "set must have 0 to 3 members but 4 are present",
    )


def test_delete_argument_may_have_any_size(atoms: TableSchema) -> None:
    # as in ovsdb-server: deleting more elements than the column can hold is fine
    got = mutate(atoms, "sset", "delete", ["set", ["a", "b", "c", "d"]], ["set", ["a", "x"]])
    assert got == frozenset({"x"})
    assert mutate(atoms, "imap", "delete", ["set", [1, 2, 3]], ["map", [[1, "a"], [4, "b"]]]) == {
        4: "b"
    }


def test_insert_and_delete_check_element_constraints(atoms: TableSchema) -> None:
    e = parse_error(atoms, ["ibset", "insert", ["set", [101]]])
    assert e.error == "constraint violation"
    e = parse_error(atoms, ["ibset", "delete", ["set", [101]]])
    assert e.error == "constraint violation"
    e = parse_error(atoms, ["iset", "insert", ["set", ["a"]]])
    assert (e.error, e.details) == ("syntax error", "expected integer")


def test_map_insert_keeps_existing_keys(atoms: TableSchema) -> None:
    current = ["map", [["k1", "v1"], ["k2", "v2"]]]
    got = mutate(atoms, "smap", "insert", ["map", [["k1", "new"], ["k3", "v3"]]], current)
    assert got == {"k1": "v1", "k2": "v2", "k3": "v3"}


def test_map_delete_by_keys_or_by_pairs(atoms: TableSchema) -> None:
    current = ["map", [["k1", "v1"], ["k2", "v2"]]]
    assert mutate(atoms, "smap", "delete", ["set", ["k1", "zz"]], current) == {"k2": "v2"}
    assert mutate(atoms, "smap", "delete", "k1", current) == {"k2": "v2"}
    # a pair is deleted only if both key and value match
    got = mutate(atoms, "smap", "delete", ["map", [["k1", "v1"], ["k2", "nope"]]], current)
    assert got == {"k2": "v2"}


def test_map_insert_past_the_maximum_size_fails(atoms: TableSchema) -> None:
    e = mutate_error(atoms, "imap", "insert", ["map", [[2, "b"]]], ["map", [[1, "a"], [3, "c"]]])
    assert (e.error, e.details) == (
        "constraint violation",
        "Attempted to store 3 elements in map of up to 2 (integer, string) pairs.",
    )
    # inserting an existing key changes nothing, so it cannot overflow
    assert mutate(atoms, "imap", "insert", ["map", [[1, "x"]]], ["map", [[1, "a"], [3, "c"]]]) == {
        1: "a",
        3: "c",
    }


# ---------------------------------------------------------------------------- parse errors


@pytest.mark.parametrize(
    ("js", "error", "details"),
    [
        (["zz", "+=", 1], "unknown column", "No column zz in table Atoms."),
        (["i", "^=", 1], "unknown mutator", "No mutator named ^=."),
        (["i", "+="], "syntax error", "Parse error in mutation."),
        ("i += 1", "syntax error", "Parse error in mutation."),
        (
            ["frozen", "insert", "x"],
            "constraint violation",
            "Cannot mutate immutable column frozen in table Atoms.",
        ),
        (
            ["_uuid", "+=", 1],
            "constraint violation",
            "Cannot mutate immutable column _uuid in table Atoms.",
        ),
        (
            ["s", "+=", 1],
            "syntax error",
            'Type mismatch: "+=" operator may not be applied to column s of type string.',
        ),
        (
            ["b", "+=", 1],
            "syntax error",
            'Type mismatch: "+=" operator may not be applied to column b of type boolean.',
        ),
        (
            ["smap", "+=", 1],
            "syntax error",
            'Type mismatch: "+=" operator may not be applied to column smap of type '
            "map of (string, string) pairs.",
        ),
        (
            ["sset", "+=", 1],
            "syntax error",
            'Type mismatch: "+=" operator may not be applied to column sset of type '
            "set of up to 3 strings.",
        ),
        (
            ["i", "insert", 1],
            "syntax error",
            'Type mismatch: "insert" operator may not be applied to column i of type integer.',
        ),
        (["i", "+=", 1.5], "syntax error", "expected integer"),
        (["r", "+=", "x"], "syntax error", "expected real"),
        (
            ["i", "+=", ["set", [1, 2]]],
            "syntax error",
            "set must have exactly one member but 2 are present",
        ),
    ],
)
def test_parse_errors(atoms: TableSchema, js: Any, error: str, details: str) -> None:
    e = parse_error(atoms, js)
    assert (e.error, e.details) == (error, details)
