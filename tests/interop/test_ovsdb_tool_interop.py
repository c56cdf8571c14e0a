"""pyovn's database files against Open vSwitch's ovsdb-tool, both ways, and differentially.

Each scenario is a list of transactions. It runs through Debian's ``ovsdb-tool transact`` and
through ``pyovn ovsdb-tool transact`` on fresh files made from the same schema; the result
arrays must match once UUIDs are renamed in order of appearance (errors compare by their
"error" member only). Then each tool reads both files: the rows must be the same, and
``show-log -mm`` must list the same changes record by record.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyovn.cli.ovsdb_tool import main as pyovn_tool
from pyovn.schemas import schema_path

OVSDB_TOOL = shutil.which("ovsdb-tool")
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        OVSDB_TOOL is None,
        reason="Open vSwitch's ovsdb-tool is not installed (apt install openvswitch-common)",
    ),
]

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PREFIX_RE = re.compile(r"\b[0-9a-f]{8}\b")
BRACKETS_RE = re.compile(r"([\[{])([^\[\]{}]*)([\]}])")


# ---------------------------------------------------------------------------- the two tools


def ovs(*args: str) -> str:
    assert OVSDB_TOOL is not None
    proc = subprocess.run([OVSDB_TOOL, *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout


def pyovn(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = pyovn_tool(list(args))
    assert rc == 0, (args, out.getvalue())
    return out.getvalue()


Tool = Callable[..., str]


# ---------------------------------------------------------------------------- canonical forms


class Names:
    """Renames UUIDs in order of first appearance, so two runs can be compared."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.inserted: list[str] = []

    def name(self, uuid: str) -> str:
        found = self.names.get(uuid)
        if found is None:
            found = self.names[uuid] = f"U{len(self.names)}"
        return found

    def canon(self, value: Any) -> Any:
        if isinstance(value, str):
            return UUID_RE.sub(lambda m: self.name(m.group(0)), value)
        if isinstance(value, list):
            out_list = [self.canon(v) for v in value]
            if len(value) == 2 and value[0] in ("set", "map") and isinstance(value[1], list):
                # atoms are sorted by UUID, which renaming changes
                out_list[1] = sorted(out_list[1], key=lambda a: json.dumps(a))
            return out_list
        if isinstance(value, dict):
            if "error" in value and isinstance(value["error"], str):
                return {"error": value["error"]}
            out = {}
            for k, v in value.items():
                out[k] = "V" if k == "_version" else self.canon(v)
            if isinstance(out.get("rows"), list):
                out["rows"] = sorted(out["rows"], key=lambda r: json.dumps(r, sort_keys=True))
            return out
        return value

    def results(self, results: Any) -> Any:
        if isinstance(results, list):
            for res in results:
                if isinstance(res, dict) and isinstance(res.get("uuid"), list):
                    self.inserted.append(res["uuid"][1])
                    self.name(res["uuid"][1])
        return self.canon(results)

    def fill(self, text: str) -> str:
        """Replace "$N" with the N-th UUID this run inserted."""
        return re.sub(r'"\$(\d+)"', lambda m: json.dumps(self.inserted[int(m.group(1))]), text)


def run_scenario(tool: Tool, db: str, schema_name: str, txns: list[list[Any]]) -> tuple[Any, Names]:
    names = Names()
    out = []
    for ops in txns:
        text = names.fill(json.dumps([schema_name, *ops]))
        out.append(names.results(json.loads(tool("transact", db, text))))
    return out, names


def contents(tool: Tool, db: str, schema: dict[str, Any], names: Names) -> Any:
    ops = [{"op": "select", "table": t, "where": []} for t in sorted(schema["tables"])]
    results = json.loads(tool("query", db, json.dumps([schema["name"], *ops])))
    return {t: names.canon(r) for t, r in zip(sorted(schema["tables"]), results, strict=True)}


def show_log(tool: Tool, db: str, names: Names) -> list[list[str]]:
    """show-log -mm, record by record, lines sorted, dates dropped, UUIDs renamed."""
    prefixes = {u[:8]: n for u, n in names.names.items()}
    records: list[list[str]] = []
    for line in tool("-mm", "show-log", db).splitlines():
        if line.startswith("record "):
            records.append([])
            continue
        if not line.strip():
            continue
        line = UUID_RE.sub(lambda m: names.name(m.group(0)), line)
        line = PREFIX_RE.sub(lambda m: prefixes.get(m.group(0), m.group(0)), line)
        # sets and maps print sorted by UUID, which renaming changes
        line = BRACKETS_RE.sub(
            lambda m: m.group(1) + ", ".join(sorted(m.group(2).split(", "))) + m.group(3), line
        )
        records[-1].append(line)
    return [sorted(r) for r in records]


def differential(tmp_path: Path, schema_file: str, txns: list[list[Any]]) -> None:
    schema = json.loads(Path(schema_file).read_text())
    name = schema["name"]
    ovs_db, py_db = str(tmp_path / "ovs.db"), str(tmp_path / "pyovn.db")
    ovs("create", ovs_db, schema_file)
    pyovn("create", py_db, schema_file)
    ovs_results, ovs_names = run_scenario(ovs, ovs_db, name, txns)
    py_results, py_names = run_scenario(pyovn, py_db, name, txns)
    for i, (a, b) in enumerate(zip(ovs_results, py_results, strict=True)):
        assert b == a, f"transaction {i}: {txns[i]}"
    expected = contents(ovs, ovs_db, schema, ovs_names)
    assert contents(pyovn, ovs_db, schema, ovs_names) == expected, "pyovn reading OVS's file"
    assert contents(ovs, py_db, schema, py_names) == expected, "OVS reading pyovn's file"
    assert contents(pyovn, py_db, schema, py_names) == expected, "pyovn reading its own file"
    expected_log = show_log(ovs, ovs_db, ovs_names)
    assert show_log(ovs, py_db, py_names) == expected_log, "the records pyovn wrote"
    assert show_log(pyovn, ovs_db, ovs_names) == expected_log, "pyovn's show-log"


# ---------------------------------------------------------------------------- scenarios


def _ref(table: str, strong: bool = True) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "uuid", "refTable": table}
    if not strong:
        base["refType"] = "weak"
    return base


def _set(key: Any, lo: int = 0, hi: Any = "unlimited") -> dict[str, Any]:
    return {"type": {"key": key, "min": lo, "max": hi}}


def _map(key: Any, value: Any, lo: int = 0, hi: Any = "unlimited") -> dict[str, Any]:
    return {"type": {"key": key, "value": value, "min": lo, "max": hi}}


TEST_SCHEMA: dict[str, Any] = {
    "name": "D",
    "version": "1.2.3",
    "cksum": "1 2",
    "tables": {
        "Root": {
            "isRoot": True,
            "indexes": [["name"]],
            "columns": {
                "name": {"type": "string"},
                "i": {"type": {"key": {"type": "integer", "minInteger": -10, "maxInteger": 100}}},
                "r": {"type": {"key": {"type": "real", "minReal": -1000, "maxReal": 1e30}}},
                "b": {"type": "boolean"},
                "s": _set({"type": "string", "minLength": 1, "maxLength": 5}, 0, 1),
                "e": _set({"type": "string", "enum": ["set", ["a", "b", "c"]]}, 0, 1),
                "tags": _set("string"),
                "lim": _set("integer", 1, 3),
                "kv": _map("string", "string"),
                "ki": _map("integer", "real", 0, 2),
                "opt": _set(_ref("Child"), 0, 1),
                "kids": _set(_ref("Child")),
                "kidmap": _map("string", _ref("Child")),
                "peers": _set(_ref("Root", strong=False)),
                "u": _set("uuid", 0, 1),
                "big": {"type": "integer"},
                "imm": {"type": "string", "mutable": False},
                "eph": {"type": "integer", "ephemeral": True},
            },
        },
        "Child": {
            "columns": {
                "x": {"type": "integer"},
                "leaf": _set(_ref("Leaf"), 0, 1),
                "back": _set(_ref("Root", strong=False), 0, 1),
            }
        },
        "Leaf": {"maxRows": 3, "columns": {"v": {"type": "string"}}},
        "Tie": {
            "isRoot": True,
            "indexes": [["name"]],
            "columns": {"name": {"type": "string"}, "w": {"type": {"key": _ref("Root", False)}}},
        },
        "Pair": {
            "isRoot": True,
            "maxRows": 4,
            "indexes": [["a", "b"]],
            "columns": {"a": {"type": "integer"}, "b": {"type": "string"}},
        },
    },
}


def ins(table: str, row: dict[str, Any] | None = None, name: str | None = None, **kw: Any) -> Any:
    op: dict[str, Any] = {"op": "insert", "table": table, "row": row or {}}
    if name is not None:
        op["uuid-name"] = name
    op.update(kw)
    return op


def sel(table: str, where: list[Any] | None = None, columns: list[str] | None = None) -> Any:
    op: dict[str, Any] = {"op": "select", "table": table, "where": where or []}
    if columns is not None:
        op["columns"] = columns
    return op


def upd(table: str, where: list[Any], row: dict[str, Any]) -> Any:
    return {"op": "update", "table": table, "where": where, "row": row}


def mut(table: str, where: list[Any], *mutations: Any) -> Any:
    return {"op": "mutate", "table": table, "where": where, "mutations": list(mutations)}


def delete(table: str, where: list[Any] | None = None) -> Any:
    return {"op": "delete", "table": table, "where": where or []}


def wait(table: str, where: list[Any], columns: list[str], until: str, rows: list[Any]) -> Any:
    return {
        "op": "wait",
        "table": table,
        "where": where,
        "columns": columns,
        "until": until,
        "rows": rows,
        "timeout": 0,
    }


def named(name: str) -> list[str]:
    return ["named-uuid", name]


def uuid(n: int) -> list[str]:
    """The n-th UUID inserted by this run (filled in by Names.fill)."""
    return ["uuid", f"${n}"]


def nm(name: str) -> list[Any]:
    return [["name", "==", name]]


ROW_A = {
    "name": "a",
    "i": 5,
    "r": 1.5,
    "b": True,
    "s": "xy",
    "e": "b",
    "tags": ["set", ["t1", "t2"]],
    "lim": ["set", [1, 2]],
    "kv": ["map", [["k1", "v1"], ["k2", "v2"]]],
    "ki": ["map", [[1, 0.5]]],
    "big": 9223372036854775807,
    "imm": "fixed",
    "eph": 3,
    "u": ["uuid", "00000000-1111-2222-3333-444444444444"],
}
ALL = [sel("Root"), sel("Child"), sel("Leaf")]

SCENARIOS: dict[str, list[list[Any]]] = {
    "insert_every_type": [[ins("Root", ROW_A), ins("Root", {"name": "b"})], ALL],
    "insert_defaults_only": [[ins("Root"), ins("Pair")], [sel("Root", columns=["name", "i"])]],
    "named_uuid_refs": [
        [
            ins("Leaf", {"v": "l"}, "l"),
            ins("Child", {"x": 1, "leaf": named("l")}, "c"),
            ins("Root", {"name": "a", "kids": named("c"), "opt": named("c")}),
            ins("Root", {"name": "b", "kidmap": ["map", [["k", named("c")]]]}, "b"),
            ins("Child", {"back": named("b")}, "c2"),
            mut("Root", nm("a"), ["kids", "insert", named("c2")]),
        ],
        ALL,
    ],
    "named_uuid_used_before_insert": [
        [ins("Root", {"name": "a", "kids": named("later")}), ins("Child", {"x": 7}, "later")],
        ALL,
    ],
    "named_uuid_never_inserted": [[ins("Root", {"name": "a", "kids": named("ghost")})], ALL],
    "duplicate_uuid_name": [[ins("Child", {}, "c"), ins("Child", {}, "c")]],
    "explicit_uuid": [
        [ins("Root", {"name": "a"}, uuid="12345678-1234-1234-1234-123456789abc")],
        [ins("Root", {"name": "b"}, uuid="12345678-1234-1234-1234-123456789abc")],
        [ins("Root", {"name": "c"}, uuid="not-a-uuid")],
        [sel("Root", [["_uuid", "==", ["uuid", "12345678-1234-1234-1234-123456789abc"]]])],
    ],
    "dangling_strong_ref": [
        [ins("Root", {"name": "a", "kids": ["uuid", "00000000-0000-0000-0000-000000000001"]})]
    ],
    "type_errors": [
        [ins("Root", {"name": 5})],
        [ins("Root", {"i": "five"})],
        [ins("Root", {"b": 1})],
        [ins("Root", {"r": "x"})],
        [ins("Root", {"kids": ["uuid", "nope"]})],
        [ins("Root", {"tags": ["set", "x"]})],
        [ins("Root", {"kv": ["set", []]})],
        [ins("Root", {"kv": ["map", [["a"]]]})],
        [ins("Root", {"lim": ["set", [1, 1]]})],
        [ins("Root", {"kv": ["map", [["a", "1"], ["a", "2"]]]})],
        [ins("Root", {"big": 9223372036854775808})],
    ],
    "constraint_errors": [
        [ins("Root", {"i": 101})],
        [ins("Root", {"i": -11})],
        [ins("Root", {"r": -1000.5})],
        [ins("Root", {"s": ""})],
        [ins("Root", {"s": "toolong"})],
        [ins("Root", {"e": "z"})],
        [ins("Root", {"lim": ["set", [1, 2, 3, 4]]})],
        [ins("Root", {"lim": ["set", []]})],
        [ins("Root", {"ki": ["map", [[1, 1.0], [2, 2.0], [3, 3.0]]]})],
        [ins("Root", {"name": "ok", "i": 100, "r": -1000, "s": "abcde"})],
        [sel("Root")],
    ],
    "unknown_names": [
        [ins("Root", {"nope": 1})],
        [ins("Nope", {})],
        [sel("Root", [["nope", "==", 1]])],
        [sel("Root", columns=["nope"])],
        [mut("Root", [], ["nope", "+=", 1])],
        [upd("Root", [], {"nope": 1})],
    ],
    "gc_unreferenced_rows": [
        [ins("Child", {"x": 1}), ins("Leaf", {"v": "l"})],
        [
            ins("Leaf", {"v": "l"}, "l"),
            ins("Child", {"leaf": named("l")}, "c"),
            ins("Root", {"name": "a", "opt": named("c")}),
        ],
        ALL,
        [upd("Root", nm("a"), {"opt": ["set", []]})],
        ALL,
    ],
    "gc_cascade_on_delete": [
        [
            ins("Leaf", {"v": "l"}, "l"),
            ins("Child", {"leaf": named("l")}, "c"),
            ins("Root", {"name": "a", "kids": named("c")}),
            ins("Root", {"name": "b", "kids": named("c")}),
        ],
        [delete("Root", nm("a"))],
        ALL,
        [delete("Root", nm("b"))],
        ALL,
    ],
    "gc_via_map_values": [
        [
            ins("Child", {"x": 1}, "c1"),
            ins("Child", {"x": 2}, "c2"),
            ins(
                "Root",
                {"name": "a", "kidmap": ["map", [["one", named("c1")], ["two", named("c2")]]]},
            ),
        ],
        [mut("Root", nm("a"), ["kidmap", "delete", ["set", ["one"]]])],
        [mut("Root", nm("a"), ["kidmap", "delete", ["map", [["two", uuid(1)]]]])],
        ALL,
    ],
    "delete_referenced_row": [
        [ins("Child", {"x": 1}, "c"), ins("Root", {"name": "a", "kids": named("c")})],
        [delete("Child")],
        [delete("Child"), delete("Root")],
        ALL,
    ],
    "weak_refs_removed_on_delete": [
        [
            ins("Root", {"name": "a"}, "a"),
            ins("Root", {"name": "b", "peers": named("a")}, "b"),
            ins("Child", {"back": named("a")}, "c"),
            mut("Root", nm("b"), ["kids", "insert", named("c")]),
        ],
        [delete("Root", nm("a"))],
        ALL,
    ],
    "weak_ref_to_missing_row_dropped": [
        [
            ins(
                "Root",
                {"name": "a", "peers": ["set", [["uuid", "00000000-0000-0000-0000-000000000002"]]]},
            )
        ],
        [ins("Root", {"name": "b", "peers": named("later")}), ins("Root", {"name": "c"}, "later")],
        [ins("Root", {"name": "d", "peers": named("self")}, "self")],
        ALL,
    ],
    "weak_required_column": [
        [ins("Tie", {"name": "t"})],
        [ins("Root", {"name": "a"}, "a"), ins("Tie", {"name": "t", "w": named("a")})],
        [delete("Root", nm("a"))],
        [delete("Tie"), delete("Root")],
        [sel("Tie"), sel("Root")],
    ],
    "index_violations": [
        [ins("Root", {"name": "x"}), ins("Root", {"name": "x"})],
        [ins("Root", {"name": "x"})],
        [ins("Root", {"name": "x"})],
        [ins("Root", {"name": "y"})],
        [upd("Root", nm("y"), {"name": "x"})],
        [sel("Root", columns=["name"])],
    ],
    "index_swap_and_reuse": [
        [ins("Root", {"name": "x"}), ins("Root", {"name": "y"})],
        [
            upd("Root", nm("x"), {"name": "tmp"}),
            upd("Root", nm("y"), {"name": "x"}),
            upd("Root", nm("tmp"), {"name": "y"}),
        ],
        [delete("Root", nm("x")), ins("Root", {"name": "x", "i": 9})],
        [sel("Root", columns=["name", "i"])],
    ],
    "multi_column_index_and_max_rows": [
        [
            ins("Pair", {"a": 1, "b": "x"}),
            ins("Pair", {"a": 1, "b": "y"}),
            ins("Pair", {"a": 2, "b": "x"}),
        ],
        [ins("Pair", {"a": 1, "b": "x"})],
        [ins("Pair", {"a": 3, "b": "z"})],
        [ins("Pair", {"a": 4, "b": "z"})],
        [delete("Pair", [["a", "==", 3]]), ins("Pair", {"a": 4, "b": "z"})],
        [sel("Pair", columns=["a", "b"])],
    ],
    "leaf_max_rows": [
        [ins("Leaf", {"v": str(i)}, f"l{i}") for i in range(4)]
        + [ins("Child", {"leaf": named(f"l{i}")}, f"c{i}") for i in range(4)]
        + [ins("Root", {"name": "a", "kids": ["set", [named(f"c{i}") for i in range(4)]]})],
        ALL,
    ],
    "immutable_columns": [
        [ins("Root", {"name": "a", "imm": "one"})],
        [upd("Root", nm("a"), {"imm": "two"})],
        [upd("Root", nm("a"), {"imm": "one"})],
        [mut("Root", nm("a"), ["imm", "insert", "x"])],
        [upd("Root", nm("a"), {"_uuid": ["uuid", "00000000-0000-0000-0000-000000000003"]})],
        [upd("Root", nm("a"), {"_version": ["uuid", "00000000-0000-0000-0000-000000000003"]})],
        [sel("Root", columns=["imm"])],
    ],
    "integer_mutators": [
        [ins("Root", {"name": "a", "i": 7, "lim": ["set", [1, 2]]})],
        [
            mut(
                "Root",
                nm("a"),
                ["i", "+=", 3],
                ["i", "*=", 2],
                ["i", "-=", 1],
                ["i", "/=", 4],
                ["i", "%=", 3],
            )
        ],
        [mut("Root", nm("a"), ["i", "-=", -20])],
        [mut("Root", nm("a"), ["i", "*=", 1000])],
        [mut("Root", nm("a"), ["i", "/=", 0])],
        [mut("Root", nm("a"), ["i", "%=", 0])],
        [mut("Root", nm("a"), ["i", "-=", 7])],
        [mut("Root", nm("a"), ["i", "/=", 2])],
        [mut("Root", nm("a"), ["lim", "-=", 1])],
        [mut("Root", nm("a"), ["lim", "*=", 0])],
        [mut("Root", nm("a"), ["big", "+=", 9223372036854775807], ["big", "+=", 1])],
        [sel("Root", columns=["i", "lim", "big"])],
    ],
    "real_mutators_and_formatting": [
        [ins("Root", {"name": "a", "r": 0.1})],
        [mut("Root", nm("a"), ["r", "+=", 0.2])],
        [sel("Root", columns=["r"])],
        [mut("Root", nm("a"), ["r", "*=", 1e20])],
        [sel("Root", columns=["r"])],
        [mut("Root", nm("a"), ["r", "/=", 3])],
        [mut("Root", nm("a"), ["r", "%=", 2])],
        [mut("Root", nm("a"), ["r", "/=", 0])],
        [mut("Root", nm("a"), ["r", "*=", 1e300])],
        [upd("Root", nm("a"), {"r": 2}), sel("Root", columns=["r"])],
        [upd("Root", nm("a"), {"r": 123456789012345678}), sel("Root", columns=["r"])],
        [
            upd("Root", nm("a"), {"r": 1e-7}),
            ins("Root", {"name": "b", "ki": ["map", [[1, 2.5], [2, -0.125]]]}),
        ],
        [sel("Root", columns=["r", "ki"])],
    ],
    "set_and_map_mutators": [
        [ins("Root", ROW_A)],
        [mut("Root", nm("a"), ["tags", "insert", ["set", ["t3", "t1"]]], ["tags", "delete", "t2"])],
        [mut("Root", nm("a"), ["kv", "insert", ["map", [["k1", "IGNORED"], ["k3", "v3"]]]])],
        [mut("Root", nm("a"), ["kv", "delete", ["set", ["k2", "absent"]]])],
        [mut("Root", nm("a"), ["kv", "delete", ["map", [["k1", "wrong"], ["k3", "v3"]]]])],
        [mut("Root", nm("a"), ["kv", "delete", ["map", [["k1", "v1"]]]])],
        [mut("Root", nm("a"), ["lim", "delete", ["set", [1, 2]]])],
        [mut("Root", nm("a"), ["lim", "insert", ["set", [5, 6, 7]]])],
        [mut("Root", nm("a"), ["lim", "insert", ["set", [5]]])],
        [mut("Root", nm("a"), ["ki", "insert", ["map", [[2, 1.0], [3, 1.0]]]])],
        [mut("Root", nm("a"), ["ki", "insert", ["map", [[2, 1.0]]]])],
        [mut("Root", nm("a"), ["e", "insert", "c"])],
        [mut("Root", nm("a"), ["e", "delete", "b"])],
        [mut("Root", nm("a"), ["e", "insert", "c"])],
        [mut("Root", nm("a"), ["tags", "delete", ["set", []]], ["kv", "insert", ["map", []]])],
        [sel("Root")],
    ],
    "mutation_errors": [
        [ins("Root", {"name": "a"})],
        [mut("Root", nm("a"), ["name", "insert", "x"])],
        [mut("Root", nm("a"), ["tags", "+=", 1])],
        [mut("Root", nm("a"), ["kv", "+=", 1])],
        [mut("Root", nm("a"), ["b", "+=", 1])],
        [mut("Root", nm("a"), ["i", "frob", 1])],
        [mut("Root", nm("a"), ["i", "+="])],
        [mut("Root", nm("a"), ["i", "+=", 1.5])],
        [mut("Root", nm("a"), ["e", "insert", "zz"])],
        [mut("Root", nm("a"), ["_uuid", "insert", "x"])],
        [mut("Root", nm("a"), ["r", "%=", 1.0])],
        [mut("Root", nm("a"), ["kv", "insert", ["map", [["a", 1]]]])],
    ],
    "wait_with_timeout_zero": [
        [ins("Root", {"name": "a", "i": 1}), ins("Root", {"name": "b", "i": 2})],
        [wait("Root", nm("a"), ["i"], "==", [{"i": 1}])],
        [wait("Root", nm("a"), ["i"], "==", [{"i": 2}])],
        [wait("Root", nm("a"), ["i"], "!=", [{"i": 2}])],
        [wait("Root", nm("a"), ["i"], "!=", [{"i": 1}])],
        [wait("Root", [], ["i"], "==", [{"i": 2}, {"i": 1}])],
        [wait("Root", [], ["name"], "==", [{"name": "a"}])],
        [wait("Root", [["i", ">", 5]], ["i"], "==", [])],
        [wait("Root", nm("a"), ["i"], "maybe", [{"i": 1}])],
        [wait("Root", nm("a"), ["i"], "==", [{"name": "a"}])],
        [wait("Root", nm("a"), ["i"], "==", [{"i": 1}]), upd("Root", nm("a"), {"i": 3})],
        [wait("Root", nm("a"), ["i"], "==", [{"i": 1}]), upd("Root", nm("b"), {"i": 4})],
        [sel("Root", columns=["name", "i"])],
    ],
    "select_columns_distinct": [
        [
            ins("Root", {"name": "a", "i": 1, "b": True}),
            ins("Root", {"name": "b", "i": 1}),
            ins("Root", {"name": "c", "i": 2}),
        ],
        [sel("Root", columns=["i"])],
        [sel("Root", columns=["i", "b"])],
        [sel("Root", columns=[])],
        [sel("Root", columns=["_uuid"])],
        [sel("Root", columns=["i", "i"])],
        [sel("Root", [["i", "==", 1]], ["name"])],
    ],
    "conditions": [
        [
            ins("Root", ROW_A),
            ins("Root", {"name": "b", "i": 50, "tags": ["set", ["t2"]], "r": -2.5}),
        ],
        [
            sel("Root", [["i", "<", 10]], ["name"]),
            sel("Root", [["i", "<=", 50]], ["name"]),
            sel("Root", [["i", ">", 5]], ["name"]),
            sel("Root", [["i", ">=", 5]], ["name"]),
            sel("Root", [["i", "!=", 5]], ["name"]),
            sel("Root", [["r", "<", 0]], ["name"]),
        ],
        [
            sel("Root", [["tags", "includes", "t2"]], ["name"]),
            sel("Root", [["tags", "excludes", "t1"]], ["name"]),
            sel("Root", [["tags", "==", ["set", ["t2"]]]], ["name"]),
            sel("Root", [["kv", "includes", ["map", [["k1", "v1"]]]]], ["name"]),
            sel("Root", [["kv", "excludes", ["map", [["k1", "v2"]]]]], ["name"]),
            sel("Root", [["name", "includes", "a"]], ["name"]),
            sel("Root", [["i", "==", 5], ["name", "==", "b"]], ["name"]),
        ],
        [sel("Root", [["name", "<", "b"]])],
        [sel("Root", [["tags", ">", 1]])],
        [sel("Root", [["i", "==", "x"]])],
        [sel("Root", [["i", "=~", 1]])],
        [sel("Root", [["i", "=="]])],
        [sel("Root", [True]), sel("Root", [False], ["name"])],
        [
            sel("Root", [["_uuid", "==", uuid(1)]], ["name"]),
            sel("Root", [["_uuid", "!=", uuid(1)]], ["name"]),
        ],
        [
            sel("Root", [["lim", "==", ["set", [1, 2]]]], ["name"]),
            sel("Root", [["e", "==", ["set", []]]], ["name"]),
        ],
    ],
    "commit_comment_abort_assert": [
        [
            ins("Root", {"name": "a"}),
            {"op": "comment", "comment": "hello\nworld"},
            {"op": "commit", "durable": True},
        ],
        [ins("Root", {"name": "b"}), {"op": "commit", "durable": False}],
        [ins("Root", {"name": "c"}), {"op": "abort"}],
        [{"op": "assert", "lock": "l"}, ins("Root", {"name": "d"})],
        [{"op": "commit"}],
        [{"op": "commit", "durable": "yes"}],
        [{"op": "comment"}],
        [{"op": "comment", "comment": "only a comment"}],
        [sel("Root", columns=["name"])],
    ],
    "bad_operations": [
        [5],
        [{"table": "Root"}],
        [{"op": "frob"}],
        [{"op": "insert"}],
        [{"op": "insert", "table": "Root"}],
        [{"op": "insert", "table": "Root", "row": {}, "extra": 1}],
        [{"op": "select", "table": "Root"}],
        [{"op": "select", "table": "Root", "where": {}}],
        [{"op": "update", "table": "Root", "where": []}],
        [{"op": "delete", "table": 5, "where": []}],
        [{"op": "insert", "table": "Root", "row": [], "uuid-name": "x"}],
        [{"op": "insert", "table": "Root", "row": {}, "uuid-name": "1bad"}],
        [{"op": "insert", "table": "Root", "row": {}, "uuid-name": 5}],
        [sel("Root"), 7],
        [ins("Root", {"name": "ok"}), {"op": "nope"}, ins("Root", {"name": "never"})],
        [],
        [sel("Root", columns=["name"])],
    ],
    "update_delete_counts": [
        [ins("Root", {"name": n, "i": k}) for k, n in enumerate("abcd")],
        [upd("Root", [["i", ">=", 2]], {"b": True})],
        [upd("Root", [["i", ">=", 2]], {"b": True})],
        [upd("Root", nm("zzz"), {"b": True})],
        [delete("Root", [["b", "==", True]])],
        [delete("Root", nm("zzz"))],
        [ins("Root", {"name": "e"}, "e"), delete("Root", nm("e"))],
        [
            ins("Root", {"name": "f"}, "f"),
            upd("Root", nm("f"), {"i": 9}),
            sel("Root", nm("f"), ["i"]),
        ],
        [sel("Root", columns=["name", "i", "b"])],
    ],
    "strings_and_unicode": [
        [
            ins(
                "Root",
                {
                    "name": "é ü 中文",
                    "tags": ["set", ["\u0001x\n", "tab\there", 'quote"s', "back\\slash", ""]],
                    "kv": ["map", [["", "empty key"], ["ключ", "значение"]]],
                },
            )
        ],
        [sel("Root", columns=["name", "tags", "kv"])],
        [mut("Root", [], ["tags", "delete", ""])],
        [sel("Root", [["name", "==", "é ü 中文"]], ["tags"])],
    ],
    "ephemeral_and_no_op_updates": [
        [ins("Root", {"name": "a", "eph": 5, "i": 1})],
        [upd("Root", nm("a"), {"eph": 6})],
        [upd("Root", nm("a"), {"i": 1})],
        [upd("Root", nm("a"), {"i": 2, "eph": 9})],
        [sel("Root", columns=["i", "eph"])],
    ],
    "delete_and_reinsert_same_uuid": [
        [ins("Root", {"name": "a", "i": 1}, uuid="aaaaaaaa-0000-0000-0000-000000000001")],
        [
            delete("Root", nm("a")),
            ins("Root", {"name": "a2", "i": 2}, uuid="aaaaaaaa-0000-0000-0000-000000000001"),
        ],
        [
            delete("Root", nm("a")),
            ins("Root", {"name": "b"}, uuid="aaaaaaaa-0000-0000-0000-000000000001"),
        ],
        [sel("Root", columns=["_uuid", "name", "i"])],
    ],
    "many_changes_one_record": [
        [ins("Root", {"name": f"r{k}", "i": k, "tags": ["set", [f"t{k}"]]}) for k in range(20)],
        [
            mut("Root", [["i", "<", 10]], ["i", "+=", 50], ["tags", "insert", "x"]),
            delete("Root", [["i", ">=", 15], ["i", "<", 50]]),
            upd("Root", [["i", "==", 12]], {"kv": ["map", [["a", "b"]]]}),
        ],
        [sel("Root", columns=["name", "i", "tags", "kv"])],
    ],
}


NB_SCENARIOS: dict[str, list[list[Any]]] = {
    "switch_with_ports": [
        [
            ins(
                "Logical_Switch_Port",
                {"name": "p1", "addresses": ["set", ["00:00:00:00:00:01 10.0.0.1"]]},
                "p1",
            ),
            ins("Logical_Switch_Port", {"name": "p2", "parent_name": "p1", "tag_request": 0}, "p2"),
            ins(
                "Logical_Switch",
                {
                    "name": "sw0",
                    "ports": ["set", [named("p1"), named("p2")]],
                    "external_ids": ["map", [["neutron:network_name", "net"]]],
                },
            ),
        ],
        [mut("Logical_Switch", [["name", "==", "sw0"]], ["ports", "delete", uuid(0)])],
        [upd("Logical_Switch_Port", [["name", "==", "p2"]], {"tag": 5, "up": True})],
        [delete("Logical_Switch", [["name", "==", "sw0"]])],
        [sel("Logical_Switch_Port")],
    ],
    "nb_global_max_rows": [
        [ins("NB_Global", {}), ins("NB_Global", {})],
        [ins("NB_Global", {"options": ["map", [["a", "b"]]]})],
        [ins("NB_Global", {})],
        [mut("NB_Global", [], ["nb_cfg", "+=", 1])],
        [sel("NB_Global", columns=["nb_cfg", "options"])],
    ],
    "acls_and_address_sets": [
        [
            ins(
                "ACL",
                {"priority": 1001, "direction": "to-lport", "match": "ip4", "action": "allow"},
                "a",
            ),
            ins(
                "ACL",
                {"priority": 70000, "direction": "to-lport", "match": "ip4", "action": "allow"},
            ),
            ins("Logical_Switch", {"name": "sw", "acls": named("a")}),
        ],
        [
            ins(
                "ACL",
                {"priority": 1001, "direction": "sideways", "match": "ip4", "action": "allow"},
                "b",
            ),
            mut("Logical_Switch", [], ["acls", "insert", named("b")]),
        ],
        [ins("Address_Set", {"name": "as1", "addresses": ["set", ["10.0.0.1", "10.0.0.2"]]})],
        [ins("Address_Set", {"name": "as1"})],
        [mut("Address_Set", [], ["addresses", "delete", "10.0.0.1"])],
        [sel("ACL"), sel("Address_Set")],
    ],
}

# ---------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def test_schema(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("schema") / "test.ovsschema"
    path.write_text(json.dumps(TEST_SCHEMA))
    return str(path)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_differential(name: str, tmp_path: Path, test_schema: str) -> None:
    differential(tmp_path, test_schema, SCENARIOS[name])


@pytest.mark.parametrize("name", sorted(NB_SCENARIOS))
def test_differential_nb(name: str, tmp_path: Path) -> None:
    differential(tmp_path, str(schema_path("nb")), NB_SCENARIOS[name])


def test_pyovn_file_read_by_ovsdb_tool(tmp_path: Path) -> None:
    db = str(tmp_path / "nb.db")
    pyovn("create", db, "nb")
    for i in range(3):
        pyovn(
            "transact",
            db,
            json.dumps(
                [
                    "OVN_Northbound",
                    {"op": "insert", "table": "Logical_Switch", "row": {"name": f"sw{i}"}},
                    {"op": "comment", "comment": f"add sw{i}"},
                ]
            ),
        )
    pyovn("compact", db)
    pyovn(
        "transact",
        db,
        json.dumps(
            [
                "OVN_Northbound",
                {"op": "delete", "table": "Logical_Switch", "where": [["name", "==", "sw1"]]},
            ]
        ),
    )
    # the whole show-log, dates and all, is the same text
    assert pyovn("show-log", db) == ovs("show-log", db)
    query = json.dumps(
        [
            "OVN_Northbound",
            {"op": "select", "table": "Logical_Switch", "where": [], "columns": ["_uuid", "name"]},
        ]
    )
    ours, theirs = json.loads(pyovn("query", db, query)), json.loads(ovs("query", db, query))
    assert sorted(ours[0]["rows"], key=str) == sorted(theirs[0]["rows"], key=str)
    assert [r["name"] for r in ours[0]["rows"]] and len(ours[0]["rows"]) == 2
    assert ovs("db-name", db) == "OVN_Northbound\n"
    assert ovs("db-version", db) == pyovn("db-version", db)


def test_ovs_compacted_file_loads_and_takes_appends(tmp_path: Path, test_schema: str) -> None:
    db = str(tmp_path / "t.db")
    ovs("create", db, test_schema)
    ovs(
        "transact",
        db,
        json.dumps(
            [
                "D",
                {
                    "op": "insert",
                    "table": "Root",
                    "row": {"name": "a", "tags": ["set", ["x", "y"]]},
                },
            ]
        ),
    )
    ovs("compact", db)
    pyovn(
        "transact",
        db,
        json.dumps(
            [
                "D",
                {
                    "op": "mutate",
                    "table": "Root",
                    "where": [],
                    "mutations": [["tags", "delete", "x"]],
                },
            ]
        ),
    )
    query = json.dumps(
        ["D", {"op": "select", "table": "Root", "where": [], "columns": ["name", "tags"]}]
    )
    assert json.loads(ovs("query", db, query)) == [{"rows": [{"name": "a", "tags": "y"}]}]
    assert pyovn("show-log", db) == ovs("show-log", db)


def test_torn_tail_truncated_by_pyovn_is_readable_by_ovsdb_tool(
    tmp_path: Path, test_schema: str
) -> None:
    db = str(tmp_path / "t.db")
    ovs("create", db, test_schema)
    for n in ("a", "b"):
        ovs(
            "transact", db, json.dumps(["D", {"op": "insert", "table": "Root", "row": {"name": n}}])
        )
    size = Path(db).stat().st_size
    with open(db, "r+b") as f:
        f.truncate(size - 10)
    assert subprocess.run([OVSDB_TOOL, "show-log", db], capture_output=True).returncode != 0  # type: ignore[list-item]
    pyovn(
        "transact", db, json.dumps(["D", {"op": "insert", "table": "Root", "row": {"name": "c"}}])
    )
    query = json.dumps(["D", {"op": "select", "table": "Root", "where": [], "columns": ["name"]}])
    rows = json.loads(ovs("query", db, query))[0]["rows"]
    assert sorted(r["name"] for r in rows) == ["a", "c"]


def test_locks_are_shared_with_ovsdb_server(tmp_path: Path, test_schema: str) -> None:
    server = shutil.which("ovsdb-server")
    if server is None:
        pytest.skip("ovsdb-server is not installed")
    from pyovn.ovsdb.server.storage import LockedError, Storage

    db = str(tmp_path / "t.db")
    ovs("create", db, test_schema)
    # pyovn holds it: ovsdb-tool transact is refused
    storage, _ = Storage.open(db)
    try:
        proc = subprocess.run(
            [OVSDB_TOOL, "transact", db, '["D"]'],
            capture_output=True,
            text=True,
            timeout=60,  # type: ignore[list-item]
        )
        assert proc.returncode != 0 and "lock" in proc.stderr
    finally:
        storage.close()
    # ovsdb-server holds it: pyovn is refused
    sock, ctl = str(tmp_path / "db.sock"), str(tmp_path / "ctl")
    proc = subprocess.Popen(
        [server, f"--remote=punix:{sock}", f"--unixctl={ctl}", "--no-chdir", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(200):
            if Path(sock).exists():
                break
            subprocess.run(["sleep", "0.05"])
        assert Path(sock).exists()
        with pytest.raises(LockedError, match=f"pid {proc.pid}"):
            Storage.open(db)
    finally:
        proc.terminate()
        proc.wait(30)


def test_diff_larger_than_the_column_is_written_as_full_values(
    tmp_path: Path, test_schema: str
) -> None:
    """Open vSwitch 3.1 cannot read back a diff bigger than the column's maximum (it writes
    one for {1, 2} -> {11, 12} in a set of at most 3); pyovn writes full values instead."""
    db = str(tmp_path / "t.db")
    pyovn("create", db, test_schema)
    row = {"name": "a", "lim": ["set", [1, 2]], "ki": ["map", [[1, 0.5]]]}
    pyovn("transact", db, json.dumps(["D", ins("Root", row)]))
    pyovn(
        "transact",
        db,
        json.dumps(
            [
                "D",
                mut("Root", [], ["lim", "+=", 10]),
                upd("Root", [], {"ki": ["map", [[2, 1.0], [3, 1.5]]]}),
            ]
        ),
    )
    query = json.dumps(["D", sel("Root", columns=["lim", "ki"])])
    expected = [{"rows": [{"ki": ["map", [[2, 1], [3, 1.5]]], "lim": ["set", [11, 12]]}]}]
    assert json.loads(ovs("query", db, query)) == expected
    assert json.loads(pyovn("query", db, query)) == expected
