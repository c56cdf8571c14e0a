"""ctl text <-> datums, with the cases and messages observed from Debian's ovn-nbctl."""

from __future__ import annotations

import pytest

from pyovn.cli.ctl.values import (
    CtlError,
    atom_text,
    datum_text,
    parse_atom,
    parse_datum,
    parse_elements,
    parse_key,
    string_needs_quotes,
    type_english,
)
from pyovn.ovsdb.client.txn import NamedUuid
from pyovn.ovsdb.types import UNLIMITED, AtomicType, BaseType, Type, Uuid

STR = BaseType(AtomicType.STRING)
INT = BaseType(AtomicType.INTEGER)
BOOL = BaseType(AtomicType.BOOLEAN)
STR_SET = Type(STR, None, 0, UNLIMITED)  # Logical_Switch_Port.addresses
NETWORKS = Type(STR, None, 1, UNLIMITED)  # Logical_Router_Port.networks
TAG = Type(BaseType(AtomicType.INTEGER, min_integer=0, max_integer=4095), None, 0, 1)
OPT_BOOL = Type(BOOL, None, 0, 1)
SMAP = Type(STR, STR, 0, UNLIMITED)
UUID_SET = Type(BaseType(AtomicType.UUID, ref_table="ACL"), None, 0, UNLIMITED)
U1 = "6b7e3a52-1a4c-4f0e-9d7e-1a2b3c4d5e6f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b", {"a", "b"}),
        ("a, b", {"a", "b"}),
        ("a  b", {"a", "b"}),
        ("[a b]", {"a", "b"}),
        ("[]", set()),
        ('""', {""}),
        ('"x y",z', {"x y", "z"}),
        ('"00:00:00:00:00:01 10.0.0.1" dynamic', {"00:00:00:00:00:01 10.0.0.1", "dynamic"}),
        ("a.b-c_d", {"a.b-c_d"}),
        ("1abc", {"1abc"}),
        ("true", {"true"}),
        ('"true"', {"true"}),
        ("a(b", {"a(b"}),
        ("a\\ b", {"a b"}),
        ("a\\,b", {"a,b"}),
        ("a\\:b", {"a:b"}),
        ("a\\\\b", {"a\\b"}),
        ('"é\\n"', {"é\n"}),
    ],
)
def test_string_sets(text: str, expected: set[str]) -> None:
    assert parse_datum(STR_SET, text) == frozenset(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[a,,b]", '[a,,b]: unexpected "," parsing set of strings'),
        ("[a, ,b]", '[a, ,b]: unexpected "," parsing set of strings'),
        ("a,b,a", "a,b,a: set contains duplicate value"),
        ("ab:c", 'ab:c: unexpected ":" parsing set of strings'),
        ("[a", '[a: missing "]" at end of data'),
        ("a]", 'a]: unexpected "]" parsing set of strings'),
        ("a=b", 'a=b: unexpected "=" parsing set of strings'),
        ("{a}", '{a}: unexpected "{" parsing set of strings'),
        ("a!b", 'a!b: unexpected "!" parsing set of strings'),
        ('a"b', 'a"b: quoted string extends past end of argument'),
    ],
)
def test_string_set_errors(text: str, message: str) -> None:
    with pytest.raises(CtlError) as exc:
        parse_datum(STR_SET, text)
    assert str(exc.value) == message


def test_set_size_limits() -> None:
    with pytest.raises(
        CtlError, match=r"^\[\]: 0 value\(s\) specified but the minimum number is 1$"
    ):
        parse_datum(NETWORKS, "[]")
    with pytest.raises(
        CtlError, match=r"^5,6: 2 value\(s\) specified but the maximum number is 1$"
    ):
        parse_datum(TAG, "5,6")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", {5}),
        ("[]", set()),
        ("[5]", {5}),
        (" 5", {5}),
        ("05", {5}),
        ("-0", {0}),
        ("+5", {5}),
        ("[1-1]", {1}),
    ],
)
def test_optional_integer(text: str, expected: set[int]) -> None:
    assert parse_datum(TAG, text) == frozenset(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x", '"x" is not a valid integer or range'),
        ("0x10", '"0x10" is not a valid integer or range'),
        ("4096", "constraint violation: 4096 is not in the valid range 0 to 4095 (inclusive)"),
        ("1-3", "1-3: 3 value(s) specified but the maximum number is 1"),
        ("3-1", '"3-1" is not a valid range. Range end cannot be before start.'),
        ("]", ']: unexpected "]" parsing set of up to 1 integers'),
    ],
)
def test_optional_integer_errors(text: str, message: str) -> None:
    with pytest.raises(CtlError) as exc:
        parse_datum(TAG, text)
    assert str(exc.value) == message


def test_integer_ranges_in_sets() -> None:
    assert parse_datum(Type(INT, None, 0, UNLIMITED), "1-3,7") == frozenset({1, 2, 3, 7})


@pytest.mark.parametrize("word", ["true", "yes", "on", "1"])
def test_true_words(word: str) -> None:
    assert parse_datum(OPT_BOOL, word) == frozenset({True})


@pytest.mark.parametrize("word", ["false", "no", "off", "0"])
def test_false_words(word: str) -> None:
    assert parse_datum(OPT_BOOL, word) == frozenset({False})


@pytest.mark.parametrize("word", ["TRUE", "t", "y"])
def test_bad_booleans(word: str) -> None:
    with pytest.raises(CtlError, match=f'^"{word}" is not a valid boolean'):
        parse_datum(OPT_BOOL, word)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{a=b,c=d}", {"a": "b", "c": "d"}),
        ("a=b c=d", {"a": "b", "c": "d"}),
        ("{}", {}),
        ('{"k"=v w=x}', {"k": "v", "w": "x"}),
        ("{k= v}", {"k": "v"}),
        ("{k =v}", {"k": "v"}),
        ("{k=a\\,b}", {"k": "a,b"}),
        ('{"k y"="v w"}', {"k y": "v w"}),
    ],
)
def test_maps(text: str, expected: dict[str, str]) -> None:
    assert parse_datum(SMAP, text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{a=}", 'An empty string is not valid as input; use "" to represent the empty string'),
        ("{a=b=c}", '{a=b=c}: unexpected "=" parsing map of (string, string) pairs'),
        ("{a=b,a=c}", "{a=b,a=c}: map contains duplicate key"),
        ("[a=b]", '[a=b]: unexpected "[" parsing map of (string, string) pairs'),
        ("{a:b}", 'a:b}: syntax error at ":" expecting "="'),
        ('{k="a"b}', '"a"b: missing quote at end of quoted string'),
    ],
)
def test_map_errors(text: str, message: str) -> None:
    with pytest.raises(CtlError) as exc:
        parse_datum(SMAP, text)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a=b", "a=b"),
        ("a,b", "a,b"),
        ("[a]", "[a]"),
        (" a", " a"),
        ('" a"', " a"),
        ('a"b', 'a"b'),
        ('""', ""),
    ],
)
def test_atom_after_key_is_taken_whole(text: str, expected: str) -> None:
    # "options:k=VALUE" reads VALUE as one atom, unsplit
    assert parse_atom(STR, text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'An empty string is not valid as input; use "" to represent the empty string'),
        ('"a', '"a: missing quote at end of quoted string'),
        ('"a"b', '"a"b: missing quote at end of quoted string'),
    ],
)
def test_atom_errors(text: str, message: str) -> None:
    with pytest.raises(CtlError) as exc:
        parse_atom(STR, text)
    assert str(exc.value) == message


def test_uuids_and_symbols() -> None:
    assert parse_datum(UUID_SET, U1.upper()) == frozenset({Uuid(U1)})
    with pytest.raises(CtlError, match=r'^"x" is not a valid UUID$'):
        parse_datum(UUID_SET, "x")
    named = NamedUuid("row1")
    assert parse_datum(UUID_SET, "@p", {"@p": named}.__getitem__) == frozenset({named})


def test_add_remove_elements_ignore_size_limits() -> None:
    assert parse_elements(TAG, "1,2") == frozenset({1, 2})
    assert parse_elements(SMAP, "a=1") == {"a": "1"}
    assert parse_key(STR, '"neutron:port_name"') == "neutron:port_name"


@pytest.mark.parametrize(
    ("ctype", "english"),
    [
        (Type(STR), "string"),
        (TAG, "set of up to 1 integers"),
        (STR_SET, "set of strings"),
        (NETWORKS, "set of 1 or more strings"),
        (SMAP, "map of (string, string) pairs"),
        (UUID_SET, "set of uuids"),
    ],
)
def test_type_english(ctype: Type, english: str) -> None:
    assert type_english(ctype) == english


@pytest.mark.parametrize(
    ("s", "quoted"),
    [
        ("ch1", False),
        ("host-1.example", False),
        ("_x", False),
        ("10.0.0.1", True),
        ("true", True),
        ("false", True),
        ("", True),
        ("a b", True),
        ("é", True),
        ("neutron:port_name", True),
        ("e6b6f9e1-f5c4-4a0a-95ab-a3523e7c6435", True),
        ("E6B6F9E1-F5C4-4A0A-95AB-A3523E7C6435", True),
    ],
)
def test_string_quoting(s: str, quoted: bool) -> None:
    assert string_needs_quotes(s) is quoted
    assert (atom_text(STR, s) != s) is quoted


def test_datum_text_formats() -> None:
    assert datum_text(STR_SET, frozenset({"dynamic", "00:00:00:00:00:01 10.0.0.1"})) == (
        '["00:00:00:00:00:01 10.0.0.1", dynamic]'
    )
    assert datum_text(TAG, frozenset({5})) == "5"
    assert datum_text(TAG, frozenset()) == "[]"
    assert datum_text(Type(STR), "") == '""'
    assert datum_text(SMAP, {"neutron:foo": "x y", "a": "b"}) == '{a=b, "neutron:foo"="x y"}'
    assert datum_text(SMAP, {"k": "v", "a": "1"}, "bare") == "a=1 k=v"
    assert datum_text(STR_SET, frozenset({"a b", "c"}), "bare") == "a b c"
    assert datum_text(STR_SET, frozenset({"a", "b"}), "json") == '["set",["a","b"]]'
    assert datum_text(SMAP, {"x": "1"}, "json") == '["map",[["x","1"]]]'
    assert datum_text(Type(BOOL), True) == "true"
    assert datum_text(Type(BaseType(AtomicType.REAL)), 2.5) == "2.5"
