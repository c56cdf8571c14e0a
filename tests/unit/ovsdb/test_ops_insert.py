"""The "insert" operation: defaults, uuid-name, a caller-chosen "uuid", and its errors."""

from __future__ import annotations

from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.ops import execute

from .conftest import MISSING, U0, UA, UB, fail, insert, ok, rows_of, select, uuid_of


def test_insert_fills_defaults_and_returns_the_uuid(engine_db: Database) -> None:
    (result,) = ok(engine_db, [insert("Atoms", {"i": 5})])
    uuid = uuid_of(result)
    row = engine_db.row("Atoms", uuid)
    assert row is not None
    assert row.data["i"] == 5
    assert row.data["r"] == 0.0 and row.data["b"] is False and row.data["s"] == ""
    assert row.data["u"] == U0
    assert row.data["opt"] == frozenset() and row.data["smap"] == {}
    assert row.data["sset1"] == frozenset({""})  # min 1: one default atom
    assert row.version != uuid


def test_insert_result_and_select_show_the_row_in_rfc_notation(engine_db: Database) -> None:
    results = ok(
        engine_db,
        [
            insert("Atoms", {"iset": ["set", [3, 1]], "smap": ["map", [["k", "v"]]], "opt": 4}),
            select("Atoms", columns=["iset", "smap", "opt", "color"]),
        ],
    )
    assert results[1] == {
        "rows": [
            {"iset": ["set", [1, 3]], "smap": ["map", [["k", "v"]]], "opt": 4, "color": ["set", []]}
        ]
    }


def test_uuid_name_links_rows_inserted_together(engine_db: Database) -> None:
    results = ok(
        engine_db,
        [
            insert("Parent", {"name": "p", "children": ["named-uuid", "kid"]}),
            insert("Child", {"name": "c"}, "kid"),  # the name may be used before its insert
        ],
    )
    kid = uuid_of(results[1])
    (parent,) = engine_db.rows("Parent")
    assert parent.data["children"] == frozenset({kid})


def test_named_uuid_in_a_plain_uuid_column(engine_db: Database) -> None:
    results = ok(engine_db, [insert("Atoms", {}, "a"), insert("Atoms", {"u": ["named-uuid", "a"]})])
    assert engine_db.row("Atoms", uuid_of(results[1])).data["u"] == uuid_of(results[0])


def test_an_undefined_named_uuid_is_just_a_fresh_uuid(engine_db: Database) -> None:
    # (in a reference column it would dangle; in a plain uuid column it is a value)
    (result,) = ok(engine_db, [insert("Atoms", {"u": ["named-uuid", "nowhere"]})])
    value = engine_db.row("Atoms", uuid_of(result)).data["u"]
    assert value != U0 and value not in engine_db.tables["Atoms"].rows


def test_duplicate_uuid_name(engine_db: Database) -> None:
    error = fail(engine_db, [insert("Atoms", {}, "a"), insert("Atoms", {}, "a")])
    assert error == {
        "error": "duplicate uuid-name",
        "details": 'This "uuid-name" appeared on an earlier "insert" operation.',
        "syntax": '"a"',
    }


def test_uuid_name_must_be_an_id(engine_db: Database) -> None:
    error = fail(engine_db, [insert("Atoms", {}, "1abc")])
    assert error["error"] == "syntax error"
    assert error["details"] == (
        "Parsing ovsdb operation 1 of 1 failed: Type mismatch for member 'uuid-name'."
    )


def test_caller_chosen_uuid(engine_db: Database) -> None:
    (result,) = ok(engine_db, [insert("Atoms", {"i": 1}, uuid=UA)])
    assert result == {"uuid": ["uuid", UA]}
    assert rows_of(engine_db, "Atoms", "_uuid", "i") == [(UA, 1)]


def test_caller_chosen_uuid_is_canonicalized(engine_db: Database) -> None:
    (result,) = ok(engine_db, [insert("Atoms", {}, uuid=UA.upper())])
    assert result == {"uuid": ["uuid", UA]}


def test_caller_chosen_uuid_with_a_uuid_name(engine_db: Database) -> None:
    results = ok(
        engine_db,
        [insert("Atoms", {}, "a", uuid=UA), insert("Atoms", {"u": ["named-uuid", "a"]})],
    )
    assert uuid_of(results[0]) == UA
    assert engine_db.row("Atoms", uuid_of(results[1])).data["u"] == UA


def test_a_name_used_before_an_insert_with_a_chosen_uuid_keeps_its_first_uuid(
    engine_db: Database,
) -> None:
    # as in ovsdb-server: the reference was resolved before the "uuid" member was seen
    error = fail(
        engine_db,
        [
            insert("Parent", {"name": "p", "children": ["named-uuid", "c"]}),
            insert("Child", {}, "c", uuid=UA),
        ],
    )
    assert error["error"] == "referential integrity violation"


def test_the_same_uuid_may_be_used_in_two_tables(engine_db: Database) -> None:
    ok(engine_db, [insert("Atoms", {}, uuid=UA), insert("Target", {}, uuid=UA)])
    assert engine_db.row("Atoms", UA) is not None and engine_db.row("Target", UA) is not None


def test_duplicate_uuid_against_an_existing_row(engine_db: Database) -> None:
    ok(engine_db, [insert("Atoms", {}, uuid=UA)])
    error = fail(engine_db, [insert("Atoms", {}, uuid=UA)])
    assert error == {
        "error": "duplicate uuid",
        "details": "This UUID would duplicate a UUID already present within the table or "
        "deleted within the same transaction.",
        "syntax": f'"{UA}"',
    }


def test_duplicate_uuid_within_one_transaction(engine_db: Database) -> None:
    error = fail(engine_db, [insert("Atoms", {}, uuid=UA), insert("Atoms", {}, uuid=UA)])
    assert error["error"] == "duplicate uuid"


def test_uuid_deleted_in_the_same_transaction_cannot_be_reused(engine_db: Database) -> None:
    ok(engine_db, [insert("Atoms", {}, uuid=UA)])
    error = fail(
        engine_db,
        [{"op": "delete", "table": "Atoms", "where": []}, insert("Atoms", {}, uuid=UA)],
    )
    assert error["error"] == "duplicate uuid"


def test_a_deleted_uuid_may_be_reused_in_a_later_transaction(engine_db: Database) -> None:
    ok(engine_db, [insert("Atoms", {"i": 1}, uuid=UA)])
    ok(engine_db, [{"op": "delete", "table": "Atoms", "where": []}])
    ok(engine_db, [insert("Atoms", {"i": 2}, uuid=UA)])
    assert rows_of(engine_db, "Atoms", "_uuid", "i") == [(UA, 2)]


def test_bad_chosen_uuid(engine_db: Database) -> None:
    error = fail(engine_db, [insert("Atoms", {}, uuid="nope")])
    assert error == {"error": "syntax error", "details": "bad uuid", "syntax": '"nope"'}


def test_row_is_required(engine_db: Database) -> None:
    error = fail(engine_db, [{"op": "insert", "table": "Atoms"}])
    assert error["details"] == (
        "Parsing ovsdb operation 1 of 1 failed: Required 'row' member is missing."
    )
    assert error["syntax"] == '{"op":"insert","table":"Atoms"}'


def test_uuid_and_version_in_the_row_are_ignored(engine_db: Database) -> None:
    (result,) = ok(
        engine_db, [insert("Atoms", {"_uuid": ["uuid", UB], "_version": ["uuid", UB]}, uuid=UA)]
    )
    assert uuid_of(result) == UA
    assert engine_db.row("Atoms", UA).version != UB


def test_immutable_columns_may_be_set_on_insert(engine_db: Database) -> None:
    ok(engine_db, [insert("Atoms", {"frozen": "ice"})])
    assert rows_of(engine_db, "Atoms", "frozen") == [("ice",)]


def test_unknown_column(engine_db: Database) -> None:
    error = fail(engine_db, [insert("Atoms", {"nope": 1})])
    assert error == {
        "error": "unknown column",
        "details": "No column nope in table Atoms.",
        "syntax": '{"nope":1}',
    }


def test_unknown_table(engine_db: Database) -> None:
    error = fail(engine_db, [insert("Nope", {})])
    assert error["error"] == "syntax error"
    assert error["details"] == "Parsing ovsdb operation 1 of 1 failed: No table named Nope."


def test_each_constraint_violation_fails_the_insert(engine_db: Database) -> None:
    cases = {
        "irange": 11,
        "rrange": 3.0,
        "slen": "a",
        "color": "pink",
        "ibset": ["set", [101]],
    }
    for column, value in cases.items():
        error = fail(engine_db, [insert("Atoms", {column: value})])
        assert error["error"] == "constraint violation", column


def test_size_and_type_errors_fail_the_insert(engine_db: Database) -> None:
    cases = {
        "sset": ["set", ["a", "b", "c", "d"]],
        "sset1": ["set", []],
        "imap": ["map", [[1, "a"], [2, "b"], [3, "c"]]],
        "i": "x",
        "b": 1,
        "u": "abc",
        "smap": ["set", []],
    }
    for column, value in cases.items():
        error = fail(engine_db, [insert("Atoms", {column: value})])
        assert error["error"] == "syntax error", column


def test_a_later_error_undoes_an_earlier_insert(engine_db: Database) -> None:
    error = fail(
        engine_db,
        [insert("Atoms", {"i": 1}), insert("Atoms", {"i": 2}), insert("Atoms", {"irange": 99})],
    )
    assert error["error"] == "constraint violation"
    assert rows_of(engine_db, "Atoms", "i") == []


def test_insert_does_not_touch_the_database_before_apply(engine_db: Database) -> None:
    result = execute(engine_db, [insert("Atoms", {"i": 1})])
    assert result.ok
    assert engine_db.tables["Atoms"].rows == {}
    engine_db.apply(result.commit)
    assert rows_of(engine_db, "Atoms", "i") == [(1,)]


def test_missing_strong_reference_in_an_insert(engine_db: Database) -> None:
    error = fail(engine_db, [insert("Parent", {"name": "p", "child": ["uuid", MISSING]})])
    assert error["error"] == "referential integrity violation"
