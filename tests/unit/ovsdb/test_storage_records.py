"""The standalone file format: framing, transaction records (diffs), replay, derived state."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest

from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.db import Database
from pyovn.ovsdb.server.logfile import (
    Record,
    encode_commit,
    encode_record,
    load_database,
    parse_records,
    table_codecs,
)
from pyovn.ovsdb.server.ops import execute

SCHEMA_JSON: dict[str, Any] = {
    "name": "S",
    "version": "1.0.0",
    "tables": {
        "Root": {
            "isRoot": True,
            "indexes": [["name"]],
            "columns": {
                "name": {"type": "string"},
                "n": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 1000}}},
                "r": {"type": "real"},
                "flag": {"type": "boolean"},
                "opt": {"type": {"key": "string", "min": 0, "max": 1}},
                "tags": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
                "small": {"type": {"key": "integer", "min": 1, "max": 3}},
                "kv": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
                "one": {"type": {"key": "string", "value": "integer", "min": 0, "max": 1}},
                "children": {
                    "type": {
                        "key": {"type": "uuid", "refTable": "Child"},
                        "min": 0,
                        "max": "unlimited",
                    }
                },
                "by_name": {
                    "type": {
                        "key": "string",
                        "value": {"type": "uuid", "refTable": "Child"},
                        "min": 0,
                        "max": "unlimited",
                    }
                },
                "peers": {
                    "type": {
                        "key": {"type": "uuid", "refTable": "Root", "refType": "weak"},
                        "min": 0,
                        "max": "unlimited",
                    }
                },
                "color": {
                    "type": {
                        "key": {"type": "string", "enum": ["set", ["red", "green", "blue"]]},
                        "min": 0,
                        "max": 1,
                    }
                },
                "eph": {"type": "integer", "ephemeral": True},
            },
        },
        "Child": {
            "columns": {
                "x": {"type": "integer"},
                "weak_root": {
                    "type": {
                        "key": {"type": "uuid", "refTable": "Root", "refType": "weak"},
                        "min": 0,
                        "max": 1,
                    }
                },
                "sub": {"type": {"key": {"type": "uuid", "refTable": "Leaf"}, "min": 0, "max": 1}},
            }
        },
        "Leaf": {"maxRows": 50, "columns": {"v": {"type": "string"}}},
    },
}


def schema() -> DatabaseSchema:
    return DatabaseSchema.from_json(SCHEMA_JSON)


def run(db: Database, ops: list[Any]) -> list[Any]:
    """Execute and apply; return the results (the commit is returned in results[-1])."""
    result = execute(db, ops)
    if result.commit is not None:
        db.apply(result.commit)
    return result.results


def content(db: Database) -> dict[str, dict[str, dict[str, Any]]]:
    """Every row's persistent columns as JSON (what a file must preserve)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for tname, table in db.tables.items():
        cols = [c for c in table.schema.columns.values() if not c.ephemeral]
        out[tname] = {
            uuid: {c.name: json.dumps(db.row_to_json(tname, row, [c.name])[c.name]) for c in cols}
            for uuid, row in table.rows.items()
        }
    return out


def derived(db: Database) -> tuple[Any, ...]:
    refs = {(t, u): r.n_refs for t, tb in db.tables.items() for u, r in tb.rows.items()}
    weak = {
        (t, u): dict(r.weak_in or {}) for t, tb in db.tables.items() for u, r in tb.rows.items()
    }
    indexes = {t: [dict(m) for m in tb.index_maps] for t, tb in db.tables.items()}
    return refs, weak, indexes


# ---------------------------------------------------------------------------- framing


def test_record_framing_matches_open_vswitch() -> None:
    # a record as Open vSwitch 3.1's ovsdb-tool wrote it
    body = (
        b'{"_date":1795971302788,"A":{"1b3fe2ee-c6e5-42a8-93b5-6fdcd6e840d8":{}},"_is_diff":true}'
    )
    expected = b"OVSDB JSON 88 896427915269a6c3990ec2f730b1dea4e447a8ce\n" + body + b"\n"
    assert encode_record(body) == expected
    contents = parse_records(expected, "x.db")
    assert contents.tail_error is None
    assert [r.json["_date"] for r in contents.records] == [1795971302788]
    assert contents.records[0].end == len(expected)


def test_length_and_sha1_cover_the_trailing_newline() -> None:
    rec = encode_record(b'{"a":1}')
    header, body = rec.split(b"\n", 1)
    assert int(header.split()[2]) == len(body) == 8
    assert header.split()[3].decode() == hashlib.sha1(b'{"a":1}\n').hexdigest()


def _three_records() -> tuple[bytes, list[int]]:
    data = b""
    ends = []
    for i in range(3):
        data += encode_record(json.dumps({"i": i, "pad": "x" * i}).encode())
        ends.append(len(data))
    return data, ends


def test_torn_tail_at_every_offset_keeps_complete_records() -> None:
    data, ends = _three_records()
    for cut in range(ends[1], ends[2]):
        contents = parse_records(data[:cut], "t.db")
        assert [r.json["i"] for r in contents.records] == [0, 1], cut
        assert contents.good_end == ends[1]
        if cut == ends[1]:
            assert contents.tail_error is None
        else:
            assert contents.tail_error is not None
            assert contents.torn_bytes == cut - ends[1]


def test_corrupt_sha1_is_reported_and_stops_reading() -> None:
    data, ends = _three_records()
    bad = bytearray(data)
    bad[ends[1] - 3] ^= 0x01  # inside record 1's JSON
    contents = parse_records(bytes(bad), "t.db")
    assert [r.json["i"] for r in contents.records] == [0]
    assert contents.tail_error is not None and "SHA-1" in contents.tail_error
    assert contents.good_end == ends[0]


def test_garbage_header_and_non_object_are_tail_errors() -> None:
    data, _ = _three_records()
    contents = parse_records(data + b"hello world\n", "t.db")
    assert len(contents.records) == 3 and "header" in (contents.tail_error or "")
    contents = parse_records(data + encode_record(b"[1,2]"), "t.db")
    assert len(contents.records) == 3 and "not a JSON object" in (contents.tail_error or "")
    contents = parse_records(data + encode_record(b"{nope"), "t.db")
    assert len(contents.records) == 3 and contents.tail_error is not None


# ---------------------------------------------------------------------------- diffs


def _record_for(db: Database, ops: list[Any]) -> dict[str, Any] | None:
    result = execute(db, ops)
    assert result.commit is not None, result.results
    record = encode_commit(table_codecs(db), result.commit, 1)
    db.apply(result.commit)
    return record


def test_insert_writes_non_default_persistent_columns() -> None:
    db = Database(schema())
    rec = _record_for(
        db,
        [
            {
                "op": "insert",
                "table": "Root",
                "row": {"name": "a", "n": 0, "small": ["set", [1, 2]], "eph": 5},
            },
            {"op": "comment", "comment": "hi"},
        ],
    )
    assert rec is not None and rec["_is_diff"] is True and rec["_comment"] == "hi"
    (row,) = rec["Root"].values()
    assert row == {"name": "a", "small": ["set", [1, 2]]}  # n=0 is the default; eph is ephemeral


def test_modify_writes_diffs() -> None:
    db = Database(schema())
    run(
        db,
        [
            {
                "op": "insert",
                "table": "Root",
                "row": {
                    "name": "a",
                    "opt": "x",
                    "tags": ["set", ["a", "b"]],
                    "kv": ["map", [["k", "v"], ["k2", "v2"], ["same", "s"]]],
                    "one": ["map", [["k", 1]]],
                    "small": ["set", [1, 2]],
                },
            }
        ],
    )
    rec = _record_for(
        db,
        [
            {
                "op": "update",
                "table": "Root",
                "where": [],
                "row": {
                    "opt": "y",
                    "tags": ["set", ["b", "c"]],
                    "kv": ["map", [["k", "NEW"], ["k3", "v3"], ["same", "s"]]],
                    "one": ["map", [["j", 2]]],
                    "small": 3,
                    "n": 7,
                },
            }
        ],
    )
    assert rec is not None
    (row,) = rec["Root"].values()
    assert row == {
        "n": 7,
        "opt": "y",  # at most one element: the new value
        "tags": ["set", ["a", "c"]],  # symmetric difference
        "small": ["set", [1, 2, 3]],  # a diff may hold more than the column allows
        "kv": ["map", [["k", "NEW"], ["k2", "v2"], ["k3", "v3"]]],
        "one": ["map", [["j", 2]]],
    }


def test_ephemeral_only_and_comment_only_commits_write_nothing() -> None:
    db = Database(schema())
    run(db, [{"op": "insert", "table": "Root", "row": {"name": "a"}}])
    assert (
        _record_for(db, [{"op": "update", "table": "Root", "where": [], "row": {"eph": 3}}]) is None
    )
    assert _record_for(db, [{"op": "comment", "comment": "only"}]) is None


def test_delete_and_gc_write_null() -> None:
    db = Database(schema())
    run(
        db,
        [
            {"op": "insert", "table": "Child", "row": {}, "uuid-name": "c"},
            {
                "op": "insert",
                "table": "Root",
                "row": {"name": "a", "children": ["named-uuid", "c"]},
            },
        ],
    )
    rec = _record_for(db, [{"op": "delete", "table": "Root", "where": []}])
    assert rec is not None
    assert list(rec["Root"].values()) == [None]
    assert list(rec["Child"].values()) == [None]  # garbage-collected


def test_reads_records_without_is_diff() -> None:
    """Older Open vSwitch writes changed columns with their full new values."""
    uuid = "11111111-2222-3333-4444-555555555555"
    records = [
        {"Root": {uuid: {"name": "a", "tags": ["set", ["x", "y"]], "kv": ["map", [["k", "v"]]]}}},
        {"Root": {uuid: {"tags": ["set", ["y", "z"]], "kv": ["map", [["k2", "v2"]]]}}},
    ]
    db = load_database(schema(), [Record(0, 0, r) for r in records], "old.db")
    row = db.tables["Root"].rows[uuid]  # type: ignore[index]
    assert row.data["tags"] == frozenset({"y", "z"})
    assert row.data["kv"] == {"k2": "v2"}


def test_bad_records_fail_to_load() -> None:
    uuid = "11111111-2222-3333-4444-555555555555"
    for bad in (
        {"Nope": {uuid: {}}},
        {"Root": {uuid: {"nope": 1}}},
        {"Root": {uuid: None}},  # deletes a row that does not exist
        {"Root": {"not-a-uuid": {}}},
        {"Root": {uuid: {"n": "text"}}},
    ):
        with pytest.raises(Exception, match="record 1"):
            load_database(schema(), [Record(0, 0, bad)], "bad.db")


# ---------------------------------------------------------------------------- random histories


def random_ops(rng: random.Random, db: Database) -> list[Any]:
    roots = list(db.tables["Root"].rows)
    children = list(db.tables["Child"].rows)
    names = [f"r{i}" for i in range(12)]
    words = ["a", "b", "c", "d", "e"]

    def some_roots() -> list[Any]:
        return [["uuid", u] for u in rng.sample(roots, min(len(roots), rng.randint(0, 3)))]

    kind = rng.randrange(9)
    where = [["name", "==", rng.choice(names)]]
    if kind == 0 or not roots:
        row: dict[str, Any] = {
            "name": rng.choice(names),
            "n": rng.randint(0, 1000),
            "r": rng.choice([0.0, 1.5, -2.25]),
            "flag": rng.random() < 0.5,
            "tags": ["set", rng.sample(words, rng.randint(0, 3))],
            "kv": ["map", [[w, rng.choice(words)] for w in rng.sample(words, rng.randint(0, 3))]],
            "small": ["set", rng.sample([1, 2, 3, 4], rng.randint(1, 3))],
            "peers": ["set", some_roots()],
            "children": ["named-uuid", "c"],
            "by_name": ["map", [["k", ["named-uuid", "c"]]]],
        }
        return [
            {"op": "insert", "table": "Leaf", "row": {"v": rng.choice(words)}, "uuid-name": "l"},
            {
                "op": "insert",
                "table": "Child",
                "row": {"x": rng.randint(0, 9), "sub": ["named-uuid", "l"]},
                "uuid-name": "c",
            },
            {"op": "insert", "table": "Root", "row": row, "uuid-name": "me"},
        ]
    if kind == 1:
        return [{"op": "delete", "table": "Root", "where": where}]
    if kind == 2:
        return [
            {
                "op": "mutate",
                "table": "Root",
                "where": where,
                "mutations": [
                    ["tags", rng.choice(["insert", "delete"]), ["set", rng.sample(words, 2)]],
                    ["kv", "insert", ["map", [[rng.choice(words), rng.choice(words)]]]],
                    ["kv", "delete", ["set", [rng.choice(words)]]],
                    ["n", "+=", rng.randint(-5, 5)],
                ],
            }
        ]
    if kind == 3:
        return [
            {
                "op": "update",
                "table": "Root",
                "where": where,
                "row": {
                    "opt": ["set", rng.sample(words, rng.randint(0, 1))],
                    "one": ["map", [[rng.choice(words), rng.randint(0, 3)]]],
                    "color": rng.choice(["red", "green", ["set", []]]),
                    "peers": ["set", some_roots()],
                    "eph": rng.randint(0, 3),
                },
            }
        ]
    if kind == 4 and children:
        return [
            {
                "op": "update",
                "table": "Child",
                "where": [["_uuid", "==", ["uuid", rng.choice(children)]]],
                "row": {"weak_root": ["set", some_roots()[:1]], "x": rng.randint(0, 9)},
            }
        ]
    if kind == 5 and children:
        return [
            {
                "op": "mutate",
                "table": "Root",
                "where": where,
                "mutations": [["children", "insert", ["uuid", rng.choice(children)]]],
            }
        ]
    if kind == 6:
        return [
            {
                "op": "mutate",
                "table": "Root",
                "where": where,
                "mutations": [
                    ["children", "delete", ["set", []]],
                    ["by_name", "delete", ["set", ["k"]]],
                ],
            }
        ]
    if kind == 7:
        return [
            {"op": "update", "table": "Root", "where": where, "row": {"name": rng.choice(names)}}
        ]
    # a weak reference to a row inserted later in the same transaction
    return [
        {
            "op": "insert",
            "table": "Root",
            "row": {"name": rng.choice(names), "peers": ["named-uuid", "b"]},
        },
        {"op": "insert", "table": "Root", "row": {"name": rng.choice(names)}, "uuid-name": "b"},
    ]


@pytest.mark.parametrize("seed", range(8))
def test_replaying_written_records_gives_the_same_database(seed: int) -> None:
    rng = random.Random(seed)
    db = Database(schema())
    codecs = table_codecs(db)
    records: list[Record] = []
    for _ in range(150):
        result = execute(db, random_ops(rng, db))
        if result.commit is None:
            continue
        rec = encode_commit(codecs, result.commit, 1)
        db.apply(result.commit)
        if rec is not None:
            # through real framing and JSON text, as on disk
            (parsed,) = parse_records(encode_record(json.dumps(rec).encode()), "x").records
            records.append(parsed)
    loaded = load_database(schema(), records, "x.db")
    assert content(loaded) == content(db)
    assert derived(loaded) == derived(db)


@pytest.mark.parametrize("seed", range(8))
def test_rebuild_agrees_with_incremental_apply(seed: int) -> None:
    rng = random.Random(1000 + seed)
    db = Database(schema())
    for _ in range(200):
        result = execute(db, random_ops(rng, db))
        if result.commit is not None:
            db.apply(result.commit)
    incremental = derived(db)
    assert sum(len(t.rows) for t in db.tables.values()) > 0
    db.rebuild_derived()
    assert derived(db) == incremental


def test_weak_reference_to_row_inserted_later_in_same_commit_is_tracked() -> None:
    db = Database(schema())
    run(
        db,
        [
            {"op": "insert", "table": "Root", "row": {"name": "x", "peers": ["named-uuid", "y"]}},
            {"op": "insert", "table": "Root", "row": {"name": "y"}, "uuid-name": "y"},
        ],
    )
    run(db, [{"op": "delete", "table": "Root", "where": [["name", "==", "y"]]}])
    (x,) = db.tables["Root"].rows.values()
    assert x.data["peers"] == frozenset()
