"""Atoms and datums: parsing RFC 7047 JSON, constraint checks, printing, defaults.

Messages are the ones Debian's ovsdb-server 3.1 prints for the same input.
"""

from __future__ import annotations

import pytest

from pyovn.ovsdb.data import (
    ZERO_UUID,
    Symtab,
    atom_from_json,
    atom_to_json,
    atom_to_text,
    check_atom,
    datum_from_json,
    datum_refs,
    datum_to_json,
    datum_to_text,
    default_datum,
)
from pyovn.ovsdb.errors import OvsdbError
from pyovn.ovsdb.types import BaseType, Type, Uuid

from .conftest import UA, UB

INT = BaseType.from_json("integer")
REAL = BaseType.from_json("real")
BOOL = BaseType.from_json("boolean")
STR = BaseType.from_json("string")
UUID = BaseType.from_json("uuid")


def err(fn, *args, **kwargs) -> OvsdbError:
    with pytest.raises(OvsdbError) as info:
        fn(*args, **kwargs)
    return info.value


# ---------------------------------------------------------------------------- atoms


@pytest.mark.parametrize(
    ("base", "js", "atom"),
    [
        (INT, 42, 42),
        (INT, -(2**63), -(2**63)),
        (INT, 2**63 - 1, 2**63 - 1),
        (REAL, 2.5, 2.5),
        (REAL, 3, 3.0),  # an integer is a valid real
        (BOOL, True, True),
        (BOOL, False, False),
        (STR, "", ""),
        (STR, "héllo", "héllo"),
        (UUID, ["uuid", UA], UA),
        (UUID, ["uuid", UA.upper()], UA),  # canonicalized to lowercase
    ],
)
def test_atom_from_json(base: BaseType, js, atom) -> None:
    got = atom_from_json(base, js)
    assert got == atom
    assert type(got) is type(atom) or (base is UUID and isinstance(got, Uuid))
    if base is REAL:
        assert isinstance(got, float)


@pytest.mark.parametrize(
    ("base", "js", "details"),
    [
        (INT, "1", "expected integer"),
        (INT, 1.5, "expected integer"),
        (INT, True, "expected integer"),  # JSON booleans are not numbers
        (INT, None, "expected integer"),
        (REAL, "1.0", "expected real"),
        (REAL, False, "expected real"),
        (BOOL, 1, "expected boolean"),
        (BOOL, "true", "expected boolean"),
        (STR, 5, "expected string"),
        (STR, ["set", []], "expected string"),
        (UUID, UA, 'expected ["uuid", <string>]'),
        (UUID, ["uuid"], 'expected ["uuid", <string>]'),
        (UUID, ["uuid", "bad"], '"bad" is not a valid UUID'),
        (UUID, ["named-uuid", "x"], "named-uuid is not allowed here"),
    ],
)
def test_atom_type_errors(base: BaseType, js, details: str) -> None:
    e = err(atom_from_json, base, js)
    assert e.error == "syntax error"
    assert e.details == details
    assert e.syntax == js


def test_integer_outside_64_bits_is_a_syntax_error() -> None:
    for value in (2**63, -(2**63) - 1):
        e = err(atom_from_json, INT, value)
        assert e.error == "syntax error"


def test_named_uuid_resolves_through_the_symbol_table() -> None:
    symtab = Symtab()
    first = atom_from_json(UUID, ["named-uuid", "row1"], symtab)
    again = atom_from_json(UUID, ["named-uuid", "row1"], symtab)
    other = atom_from_json(UUID, ["named-uuid", "row2"], symtab)
    assert first == again != other
    # the insert that defines the name later gets the UUID already handed out
    assert symtab.create("row1", None) == first


def test_symtab_create_twice_is_duplicate_uuid_name() -> None:
    symtab = Symtab()
    symtab.create("a", None)
    e = err(symtab.create, "a", None)
    assert e.error == "duplicate uuid-name"
    assert e.details == 'This "uuid-name" appeared on an earlier "insert" operation.'
    assert e.to_json()["syntax"] == '"a"'


def test_symtab_create_with_a_chosen_uuid() -> None:
    symtab = Symtab()
    assert symtab.create("a", Uuid(UA)) == UA
    assert symtab.lookup("a") == UA


def test_atom_to_json() -> None:
    assert atom_to_json(UUID, Uuid(UA)) == ["uuid", UA]
    assert atom_to_json(INT, 7) == 7
    assert atom_to_json(STR, "x") == "x"


# ---------------------------------------------------------------------------- constraints


def base(js) -> BaseType:
    return BaseType.from_json(js)


@pytest.mark.parametrize(
    ("js", "atom", "details"),
    [
        (
            {"type": "integer", "minInteger": -10, "maxInteger": 10},
            11,
            "11 is not in the valid range -10 to 10 (inclusive)",
        ),
        (
            {"type": "integer", "minInteger": -10, "maxInteger": 10},
            -11,
            "-11 is not in the valid range -10 to 10 (inclusive)",
        ),
        (
            {"type": "real", "minReal": -1.5, "maxReal": 2.5},
            3.0,
            "3 is not in the valid range -1.5 to 2.5 (inclusive)",  # C's %.15g
        ),
        (
            {"type": "real", "minReal": -1.5, "maxReal": 2.5},
            2.6,
            "2.6 is not in the valid range -1.5 to 2.5 (inclusive)",
        ),
        (
            {"type": "real", "minReal": -1.5, "maxReal": 2.5},
            -1e20,
            "-1e+20 is not in the valid range -1.5 to 2.5 (inclusive)",
        ),
        (
            {"type": "string", "minLength": 2, "maxLength": 4},
            "a",
            '"a" length 1 is less than minimum allowed length 2',
        ),
        (
            {"type": "string", "minLength": 2, "maxLength": 4},
            "ééééé",
            '"ééééé" length 5 is greater than maximum allowed length 4',
        ),
        (
            {"type": "string", "enum": ["set", ["red", "green", "blue"]]},
            "pink",
            "pink is not one of the allowed values ([blue, green, red])",
        ),
        (
            {"type": "string", "enum": ["set", ["red", "green", "blue"]]},
            "",
            '"" is not one of the allowed values ([blue, green, red])',
        ),
        (
            {"type": "integer", "enum": ["set", [1, 2]]},
            3,
            "3 is not one of the allowed values ([1, 2])",
        ),
    ],
)
def test_constraint_violations(js, atom, details: str) -> None:
    e = err(check_atom, base(js), atom)
    assert e.error == "constraint violation"
    assert e.details == details


@pytest.mark.parametrize(
    ("js", "atoms"),
    [
        ({"type": "integer", "minInteger": -10, "maxInteger": 10}, [-10, 0, 10]),
        ({"type": "real", "minReal": -1.5, "maxReal": 2.5}, [-1.5, 0.0, 2.5]),
        ({"type": "string", "minLength": 2, "maxLength": 4}, ["ab", "abcd", "éé"]),
        ({"type": "string", "enum": ["set", ["red", "blue"]]}, ["red", "blue"]),
        ({"type": "boolean", "enum": True}, [True]),
    ],
)
def test_bounds_are_inclusive(js, atoms) -> None:
    for atom in atoms:
        check_atom(base(js), atom)


def test_string_length_counts_characters_not_bytes() -> None:
    check_atom(base({"type": "string", "maxLength": 2}), "éé")  # 4 bytes of UTF-8


def test_datum_from_json_checks_constraints_of_keys_and_values() -> None:
    ctype = Type.from_json(
        {
            "key": {"type": "string", "maxLength": 1},
            "value": {"type": "integer", "maxInteger": 5},
            "min": 0,
            "max": "unlimited",
        }
    )
    assert datum_from_json(ctype, ["map", [["a", 5]]]) == {"a": 5}
    assert err(datum_from_json, ctype, ["map", [["ab", 1]]]).error == "constraint violation"
    assert err(datum_from_json, ctype, ["map", [["a", 6]]]).error == "constraint violation"


# ---------------------------------------------------------------------------- datums

SCALAR = Type.from_json("integer")
OPTIONAL = Type.from_json({"key": "integer", "min": 0, "max": 1})
SET = Type.from_json({"key": "integer", "min": 0, "max": "unlimited"})
SET_1_2 = Type.from_json({"key": "string", "min": 1, "max": 2})
SET_UP_TO_3 = Type.from_json({"key": "string", "min": 0, "max": 3})
MAP = Type.from_json({"key": "string", "value": "integer", "min": 0, "max": "unlimited"})
UUID_SET = Type.from_json({"key": "uuid", "min": 0, "max": "unlimited"})
UUID_MAP = Type.from_json({"key": "uuid", "value": "uuid", "min": 0, "max": "unlimited"})


def test_scalar_accepts_a_bare_atom_or_a_one_element_set() -> None:
    assert datum_from_json(SCALAR, 5) == 5
    assert datum_from_json(SCALAR, ["set", [5]]) == 5


def test_sets_accept_a_bare_atom_or_a_set() -> None:
    assert datum_from_json(SET, 5) == frozenset({5})
    assert datum_from_json(SET, ["set", [3, 1, 2]]) == frozenset({1, 2, 3})
    assert datum_from_json(SET, ["set", []]) == frozenset()
    assert datum_from_json(OPTIONAL, ["set", []]) == frozenset()
    assert datum_from_json(OPTIONAL, 7) == frozenset({7})


def test_maps() -> None:
    assert datum_from_json(MAP, ["map", []]) == {}
    assert datum_from_json(MAP, ["map", [["b", 2], ["a", 1]]]) == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    ("ctype", "js", "details"),
    [
        (SCALAR, ["set", []], "set must have exactly one member but 0 are present"),
        (SCALAR, ["set", [1, 2]], "set must have exactly one member but 2 are present"),
        (OPTIONAL, ["set", [1, 2]], "set must have 0 to 1 members but 2 are present"),
        (SET_1_2, ["set", []], "set must have 1 to 2 members but 0 are present"),
        (
            SET_UP_TO_3,
            ["set", ["a", "b", "c", "d"]],
            "set must have 0 to 3 members but 4 are present",
        ),
        (SET, ["set", 1], 'expected ["set", <array>]'),
        (MAP, ["set", []], 'expected ["map", <array>]'),
        (MAP, {"a": 1}, 'expected ["map", <array>]'),
        (MAP, ["map", [["a"]]], "expected 2-element array"),
        (
            Type.from_json({"key": "integer", "value": "integer", "min": 1, "max": 2}),
            ["map", []],
            "map must have 1 to 2 members but 0 are present",
        ),
    ],
)
def test_datum_syntax_errors(ctype: Type, js, details: str) -> None:
    e = err(datum_from_json, ctype, js)
    assert e.error == "syntax error"
    assert e.details == details


def test_duplicates_are_ovsdb_errors() -> None:
    e = err(datum_from_json, SET, ["set", [1, 1]])
    assert (e.error, e.details) == ("ovsdb error", "set contains duplicate")
    e = err(datum_from_json, MAP, ["map", [["a", 1], ["a", 2]]])
    assert (e.error, e.details) == ("ovsdb error", "map contains duplicate key")


def test_size_check_can_be_skipped() -> None:
    assert datum_from_json(SET_1_2, ["set", []], check_size=False) == frozenset()


@pytest.mark.parametrize(
    ("ctype", "datum", "js"),
    [
        (SCALAR, 5, 5),
        (OPTIONAL, frozenset(), ["set", []]),
        (OPTIONAL, frozenset({4}), 4),  # a one-element set prints as the bare atom
        (SET, frozenset({3, 1, 2}), ["set", [1, 2, 3]]),  # sorted
        (MAP, {}, ["map", []]),
        (MAP, {"b": 2, "a": 1}, ["map", [["a", 1], ["b", 2]]]),
        (Type.from_json("uuid"), Uuid(UA), ["uuid", UA]),
        (UUID_SET, frozenset({Uuid(UB), Uuid(UA)}), ["set", [["uuid", UA], ["uuid", UB]]]),
        (UUID_SET, frozenset({Uuid(UA)}), ["uuid", UA]),
        (UUID_MAP, {Uuid(UB): Uuid(UA)}, ["map", [[["uuid", UB], ["uuid", UA]]]]),
        (Type.from_json("real"), 2.5, 2.5),
        (Type.from_json("boolean"), False, False),
    ],
)
def test_datum_to_json_in_rfc_notation(ctype: Type, datum, js) -> None:
    assert datum_to_json(ctype, datum) == js
    assert datum_from_json(ctype, js) == datum  # and back


@pytest.mark.parametrize(
    ("js", "default"),
    [
        ("integer", 0),
        ("real", 0.0),
        ("boolean", False),
        ("string", ""),
        ("uuid", ZERO_UUID),
        ({"key": "integer", "min": 0}, frozenset()),
        ({"key": "string", "min": 1, "max": 3}, frozenset({""})),
        ({"key": "string", "value": "integer", "min": 0, "max": "unlimited"}, {}),
        ({"key": "string", "value": "integer", "min": 1, "max": "unlimited"}, {"": 0}),
    ],
)
def test_default_datums(js, default) -> None:
    got = default_datum(Type.from_json(js))
    assert got == default
    assert type(got) is type(default)


def test_datum_refs_strong_and_weak() -> None:
    ctype = Type.from_json(
        {
            "key": {"type": "uuid", "refTable": "A"},
            "value": {"type": "uuid", "refTable": "B", "refType": "weak"},
            "min": 0,
            "max": "unlimited",
        }
    )
    datum = {Uuid(UA): Uuid(UB)}
    assert datum_refs(ctype, datum, strong=True) == [("A", UA)]
    assert datum_refs(ctype, datum, strong=False) == [("B", UB)]
    assert datum_refs(Type.from_json("uuid"), Uuid(UA), strong=True) == []


# ---------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("atom", "text"),
    [
        ("abc", "abc"),
        ("a1-b.c_", "a1-b.c_"),
        ("", '""'),
        ("1a", '"1a"'),
        ("a b", '"a b"'),
        ("true", '"true"'),
        ('a"b', '"a\\"b"'),
        (UA, f'"{UA}"'),  # a string that looks like a UUID is quoted
        (Uuid(UA), UA),
        (5, "5"),
        (2.0, "2"),
        (0.1, "0.1"),
        (True, "true"),
    ],
)
def test_atom_to_text_like_ovsdb(atom, text: str) -> None:
    assert atom_to_text(atom) == text


def test_datum_to_text_like_ovsdb() -> None:
    assert datum_to_text(SCALAR, 5) == "5"
    assert datum_to_text(OPTIONAL, frozenset()) == "[]"
    assert datum_to_text(OPTIONAL, frozenset({3})) == "3"
    assert datum_to_text(SET, frozenset({2, 1})) == "[1, 2]"
    assert datum_to_text(MAP, {"b": 2, "a": 1}) == "{a=1, b=2}"
    assert datum_to_text(MAP, {}) == "{}"
