"""The fast datum readers give exactly what datum_from_json gives, errors included."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pyovn.ovsdb.data import datum_from_json
from pyovn.ovsdb.errors import OvsdbError
from pyovn.ovsdb.readers import datum_reader, ref_reader, row_reader
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.types import UNLIMITED, AtomicType, BaseType, Type
from pyovn.schemas import schema_path

U1 = "2f1e7d8c-0a4b-4c3d-9e8f-123456789abc"
U2 = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

_bases = st.sampled_from(
    [
        BaseType(AtomicType.STRING),
        BaseType(AtomicType.INTEGER),
        BaseType(AtomicType.BOOLEAN),
        BaseType(AtomicType.REAL),
        BaseType(AtomicType.UUID),
        BaseType(AtomicType.UUID, ref_table="T"),
        BaseType(AtomicType.STRING, enum=frozenset({"a", "b"})),
        BaseType(AtomicType.INTEGER, min_integer=0, max_integer=4095),
        BaseType(AtomicType.STRING, min_length=1, max_length=3),
        BaseType(AtomicType.INTEGER, min_integer=1, max_integer=2),
        BaseType(AtomicType.INTEGER, enum=frozenset({1, 5})),
        BaseType(AtomicType.UUID, enum=frozenset({"x"})),
    ]
)


_common = st.sampled_from([BaseType(AtomicType.STRING), BaseType(AtomicType.UUID, ref_table="T")])


@st.composite
def _types(draw: Any) -> Type:
    key = draw(_common | _bases)  # the shapes with fast readers, often
    value = draw(st.none() | st.none() | _common | _bases)
    lo, hi = draw(st.sampled_from([(1, 1), (0, 1), (0, UNLIMITED), (1, UNLIMITED), (0, 2)]))
    return Type(key, value, lo, hi)


_small = st.sampled_from(["a", "b", U1, 1, 2, True, ["uuid", U1], ["uuid", U2]])
_atoms = st.one_of(
    _small,  # drawn often, so that sets and maps get duplicates
    _small,
    _small,
    st.text(max_size=4),
    st.sampled_from(["a", "b", "set", "map", "uuid", U1, U1.upper(), U2, "not-a-uuid"]),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.booleans(),
    st.floats(allow_nan=False),
    st.sampled_from([["uuid", U1], ["uuid", U2], ["uuid", U1.upper()], ["uuid", "x"]]),
    st.sampled_from([["named-uuid", "n"], ["uuid"], [], None]),
)
_json = st.one_of(
    _atoms,
    st.lists(_atoms, max_size=3).map(lambda xs: ["set", xs]),
    st.lists(st.lists(_atoms, min_size=2, max_size=2), max_size=3).map(lambda xs: ["map", xs]),
    st.lists(st.lists(_atoms, max_size=3), max_size=2).map(lambda xs: ["map", xs]),
    st.sampled_from([["set", "x"], ["map", "x"], ["set"], ["map", [], 1]]),
)


def _outcome(fn: Any, js: Any) -> Any:
    try:
        return ("ok", fn(js))
    except OvsdbError as exc:
        return ("error", exc.error, exc.details)


_REF_SET = Type(BaseType(AtomicType.UUID, ref_table="T"), None, 0, UNLIMITED)
_STR_SET = Type(BaseType(AtomicType.STRING), None, 0, 1)
_STR_MAP = Type(BaseType(AtomicType.STRING), BaseType(AtomicType.STRING), 0, UNLIMITED)


@settings(max_examples=3000, deadline=None)
@given(_types(), _json, st.booleans())
@example(_REF_SET, ["set", [["uuid", U1], ["uuid", U1]]], True)  # duplicates
@example(_REF_SET, ["set", [["uuid", U1], ["uuid", U1.upper()]]], False)
@example(Type(BaseType(AtomicType.STRING), None, 0, UNLIMITED), ["set", ["a", "a"]], True)
@example(_STR_SET, ["set", ["a", "b"]], True)  # too many
@example(_STR_SET, ["set", ["a", "b"]], False)
@example(_STR_MAP, ["map", [["a", "1"], ["a", "2"]]], True)
def test_reader_agrees_with_datum_from_json(ctype: Type, js: Any, check_size: bool) -> None:
    want = _outcome(lambda j: datum_from_json(ctype, j, None, check_size=check_size), js)
    got = _outcome(datum_reader(ctype, check_size), js)
    assert got == want
    if want[0] == "ok":  # the same kinds too (Uuid, not str; frozenset; dict)
        assert type(got[1]) is type(want[1])
        if isinstance(want[1], frozenset):
            assert sorted(map(type, got[1]), key=str) == sorted(map(type, want[1]), key=str)


@settings(max_examples=2000, deadline=None)
@given(_types(), _json)
@example(_REF_SET, ["set", [["uuid", U1], ["uuid", U1]]])
@example(_REF_SET, ["set", [["named-uuid", "n"]]])
@example(Type(BaseType(AtomicType.UUID, ref_table="T")), ["uuid", U1.upper()])
def test_ref_reader_agrees_or_declines(ctype: Type, js: Any) -> None:
    """The server's reader of plain references gives what datum_from_json gives, or None
    (then the transaction's own parse, with its named-uuids, decides)."""
    reader = ref_reader(ctype)
    if reader is None:
        return
    got = reader(js)
    if got is None:
        return
    want = _outcome(lambda j: datum_from_json(ctype, j, None), js)
    assert want == ("ok", got)
    assert (
        sorted(map(type, got), key=str) == sorted(map(type, want[1]), key=str)
        if isinstance(got, frozenset)
        else type(got) is type(want[1])
    )


@pytest.mark.parametrize("schema", ["nb", "sb", "vswitch"])
def test_every_schema_column_has_a_reader(schema: str) -> None:
    """Columns of the real schemas get a specialised reader where one applies, and
    row_reader leaves UUID columns (named-uuids) to the transaction's parser."""
    db = DatabaseSchema.from_file(schema_path(schema))
    fast = 0
    for table in db.tables.values():
        for column in table.columns.values():
            ctype = column.type
            reader = row_reader(ctype)
            has_uuid = ctype.key.type is AtomicType.UUID or (
                ctype.value is not None and ctype.value.type is AtomicType.UUID
            )
            assert (reader is None) == has_uuid
            if datum_reader(ctype).__name__ != "generic":
                fast += 1
    assert fast > 0
