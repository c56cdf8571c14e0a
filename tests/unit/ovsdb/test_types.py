"""Atomic types, base types with their constraints, and column types: JSON in and out."""

from __future__ import annotations

import math

import pytest

from pyovn.ovsdb.errors import OvsdbError
from pyovn.ovsdb.types import (
    INT_MAX,
    INT_MIN,
    UNLIMITED,
    AtomicType,
    BaseType,
    RefType,
    Type,
    Uuid,
    is_valid_uuid,
)


def syntax_error(fn, *args) -> OvsdbError:
    with pytest.raises(OvsdbError) as info:
        fn(*args)
    assert info.value.error == "syntax error"
    return info.value


# ---------------------------------------------------------------------------- atomic types


@pytest.mark.parametrize("name", ["integer", "real", "boolean", "string", "uuid"])
def test_every_atomic_type_parses_and_prints(name: str) -> None:
    atype = AtomicType.from_json(name)
    assert atype.value == name
    assert BaseType.from_json(name).to_json() == name
    assert Type.from_json(name).to_json() == name


@pytest.mark.parametrize("bad", ["int", "void", "Integer", "", 1, None, ["integer"]])
def test_unknown_atomic_type_is_a_syntax_error(bad) -> None:
    syntax_error(AtomicType.from_json, bad)


def test_uuid_parse_canonicalizes_and_rejects_junk() -> None:
    text = "AAAAAAAA-0000-4000-8000-00000000000F"
    assert Uuid.parse(text) == text.lower()
    assert isinstance(Uuid.parse(text), str)
    assert is_valid_uuid(text.lower())
    assert not is_valid_uuid(text)  # only the canonical lowercase form is valid as-is
    for junk in (
        "",
        "abc",
        "aaaaaaaa-0000-4000-8000-00000000000",
        "g" * 8 + "-0000-0000-0000-" + "0" * 12,
    ):
        err = syntax_error(Uuid.parse, junk)
        assert "not a valid UUID" in err.details


# ---------------------------------------------------------------------------- base types


def test_integer_range_round_trip() -> None:
    js = {"type": "integer", "minInteger": -5, "maxInteger": 7}
    base = BaseType.from_json(js)
    assert (base.min_integer, base.max_integer) == (-5, 7)
    assert base.to_json() == js
    assert BaseType.from_json({"type": "integer", "minInteger": 0}).to_json() == {
        "type": "integer",
        "minInteger": 0,
    }


def test_integer_defaults_are_the_64_bit_range() -> None:
    base = BaseType.from_json({"type": "integer"})
    assert (base.min_integer, base.max_integer) == (INT_MIN, INT_MAX)
    assert not base.has_constraints
    assert base.to_json() == "integer"  # the shortest form


def test_real_range_round_trip() -> None:
    js = {"type": "real", "minReal": -1.5, "maxReal": 2.5}
    base = BaseType.from_json(js)
    assert (base.min_real, base.max_real) == (-1.5, 2.5)
    assert base.to_json() == js
    # an integer bound is accepted for a real and becomes a float
    assert BaseType.from_json({"type": "real", "minReal": 1}).min_real == 1.0
    assert BaseType.from_json("real").max_real == math.inf


def test_string_length_round_trip() -> None:
    js = {"type": "string", "minLength": 1, "maxLength": 63}
    base = BaseType.from_json(js)
    assert (base.min_length, base.max_length) == (1, 63)
    assert base.to_json() == js


def test_enum_round_trip_as_set_and_as_single_atom() -> None:
    js = {"type": "string", "enum": ["set", ["a", "b", "c"]]}
    base = BaseType.from_json(js)
    assert base.enum == frozenset({"a", "b", "c"})
    assert base.to_json() == js
    one = BaseType.from_json({"type": "integer", "enum": 5})
    assert one.enum == frozenset({5})
    assert one.to_json() == {"type": "integer", "enum": 5}  # a one-member set prints bare


def test_enum_members_must_have_the_atomic_type() -> None:
    err = syntax_error(BaseType.from_json, {"type": "integer", "enum": ["set", ["x"]]})
    assert err.details == "expected integer"


def test_enum_with_duplicates_is_rejected() -> None:
    with pytest.raises(OvsdbError) as info:
        BaseType.from_json({"type": "integer", "enum": ["set", [1, 1]]})
    assert "duplicate" in info.value.details


def test_strong_and_weak_references() -> None:
    strong = BaseType.from_json({"type": "uuid", "refTable": "T"})
    assert strong.is_ref and strong.is_strong_ref and not strong.is_weak_ref
    assert strong.ref_type is RefType.STRONG
    assert strong.to_json() == {"type": "uuid", "refTable": "T"}  # strong is the default
    weak = BaseType.from_json({"type": "uuid", "refTable": "T", "refType": "weak"})
    assert weak.is_weak_ref and not weak.is_strong_ref
    assert weak.to_json() == {"type": "uuid", "refTable": "T", "refType": "weak"}
    explicit = BaseType.from_json({"type": "uuid", "refTable": "T", "refType": "strong"})
    assert explicit == strong
    plain = BaseType.from_json("uuid")
    assert not plain.is_ref


@pytest.mark.parametrize(
    ("js", "message"),
    [
        ({"type": "integer", "minInteger": 5, "maxInteger": 1}, "minInteger exceeds maxInteger"),
        ({"type": "real", "minReal": 5, "maxReal": 1}, "minReal exceeds maxReal"),
        ({"type": "string", "minLength": 5, "maxLength": 1}, "minLength exceeds maxLength"),
        ({"type": "integer", "minInteger": 1.5}, "minInteger"),
        ({"type": "integer", "maxInteger": True}, "maxInteger"),
        ({"type": "real", "maxReal": "1"}, "maxReal"),
        ({"type": "string", "minLength": -1}, "minLength out of valid range 0 to 4294967295"),
        ({"type": "string", "maxLength": 2**32}, "maxLength out of valid range"),
        ({"type": "uuid", "refTable": "T", "refType": "medium"}, "refType"),
        ({"type": "uuid", "refTable": "1bad"}, "refTable"),
        ({"type": "integer", "bogus": 1}, "bogus"),
        ({"minInteger": 1}, "atomic type"),
        ("void", "atomic type"),
        (5, "base type"),
    ],
)
def test_bad_base_types(js, message: str) -> None:
    err = syntax_error(BaseType.from_json, js)
    assert message in err.details


@pytest.mark.parametrize(
    ("js", "member"),
    [
        ({"type": "integer", "refTable": "T"}, "refTable"),
        ({"type": "integer", "minLength": 3}, "minLength"),
        ({"type": "string", "minInteger": 3}, "minInteger"),
        ({"type": "real", "maxInteger": 3}, "maxInteger"),
        ({"type": "boolean", "minReal": 0}, "minReal"),
        ({"type": "uuid", "maxLength": 3}, "maxLength"),
        ({"type": "uuid", "refType": "weak"}, "refType"),  # refType needs refTable
    ],
)
def test_constraint_members_belong_to_their_atomic_type(js, member: str) -> None:
    # as in ovsdb-tool: "Member 'X' is present but not allowed here."
    err = syntax_error(BaseType.from_json, js)
    assert err.details == (
        f"Parsing ovsdb type failed: Member '{member}' is present but not allowed here."
    )


# ---------------------------------------------------------------------------- column types


def test_scalar_optional_set_and_map_shapes() -> None:
    scalar = Type.from_json("integer")
    assert scalar.is_scalar and not scalar.is_set and not scalar.is_map and not scalar.is_optional
    optional = Type.from_json({"key": "integer", "min": 0, "max": 1})
    assert optional.is_optional and optional.is_set and not optional.is_scalar
    bounded = Type.from_json({"key": "string", "min": 1, "max": 3})
    assert bounded.is_set and (bounded.min, bounded.max) == (1, 3)
    unlimited = Type.from_json({"key": "string", "min": 0, "max": "unlimited"})
    assert unlimited.max == UNLIMITED
    mapping = Type.from_json({"key": "string", "value": "integer", "min": 0, "max": "unlimited"})
    assert mapping.is_map and not mapping.is_set
    assert mapping.value == BaseType(AtomicType.INTEGER)


@pytest.mark.parametrize(
    "js",
    [
        "string",
        {"key": {"type": "integer", "minInteger": 0}},
        {"key": "integer", "min": 0},
        {"key": "string", "max": 5},
        {"key": "string", "min": 0, "max": "unlimited"},
        {"key": "string", "value": "string", "min": 0, "max": "unlimited"},
        {"key": "integer", "value": {"type": "uuid", "refTable": "T", "refType": "weak"}},
        {"key": {"type": "uuid", "refTable": "T"}, "max": "unlimited"},
    ],
)
def test_type_round_trips_in_shortest_form(js) -> None:
    ctype = Type.from_json(js)
    assert ctype.to_json() == js
    assert Type.from_json(ctype.to_json()) == ctype


def test_long_forms_print_short() -> None:
    assert Type.from_json({"key": "integer"}).to_json() == "integer"
    assert Type.from_json({"key": {"type": "integer"}, "min": 1, "max": 1}).to_json() == "integer"
    assert Type.from_json({"key": {"type": "string"}, "min": 0, "max": 1}).to_json() == {
        "key": "string",
        "min": 0,
    }


@pytest.mark.parametrize(
    ("js", "message"),
    [
        ({"key": "integer", "min": 2, "max": 3}, "min must be 0 or 1"),
        ({"key": "integer", "min": "0"}, "min must be 0 or 1"),
        ({"key": "integer", "min": 0, "max": 0}, "max must be a positive integer"),
        ({"key": "integer", "max": "many"}, "max must be a positive integer"),
        ({"key": "integer", "max": 2**32}, "max must be a positive integer"),
        ({"key": "integer", "max": True}, "max must be a positive integer"),
        ({"value": "integer"}, "missing required member key"),
        ({"key": "integer", "extra": 1}, "extra"),
        ({"key": "void"}, "atomic type"),
        ({"key": "string", "value": "void"}, "atomic type"),
        (7, "type must be a string or object"),
    ],
)
def test_bad_column_types(js, message: str) -> None:
    err = syntax_error(Type.from_json, js)
    assert message in err.details


@pytest.mark.parametrize(
    ("js", "text"),
    [
        ("integer", "integer"),
        ({"key": "integer", "min": 0}, "optional integer"),
        ({"key": "string", "min": 0, "max": "unlimited"}, "set of strings"),
        ({"key": "string", "min": 1, "max": "unlimited"}, "set of 1 or more strings"),
        ({"key": "string", "min": 0, "max": 3}, "set of up to 3 strings"),
        ({"key": "string", "min": 1, "max": 2}, "set of 1 to 2 strings"),
        (
            {"key": "integer", "value": "string", "min": 0, "max": 2},
            "map of up to 2 (integer, string) pairs",
        ),
        (
            {"key": "string", "value": "string", "min": 0, "max": "unlimited"},
            "map of (string, string) pairs",
        ),
    ],
)
def test_describe_matches_ovsdb_server_wording(js, text: str) -> None:
    assert Type.from_json(js).describe() == text


def test_has_refs() -> None:
    assert Type.from_json({"key": {"type": "uuid", "refTable": "T"}}).has_refs
    assert Type.from_json(
        {"key": "string", "value": {"type": "uuid", "refTable": "T", "refType": "weak"}}
    ).has_refs
    assert not Type.from_json("uuid").has_refs
