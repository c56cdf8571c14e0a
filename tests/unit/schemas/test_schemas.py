"""pyovn's schema files against the OVN 23.03 / OVS 3.1 reference schemas.

The checks compare meaning, not text: OVSDB's shorthand forms are normalized first, so
``"string"``, ``{"key": "string"}`` and ``{"key": {"type": "string"}}`` are the same type.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pyovn.schemas
from pyovn.schemas import SCHEMA_NAMES, load_schema_json, schema_path

REFERENCE_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "reference"

REFERENCE_FILES = {
    "nb": "ovn-nb.ovsschema",
    "sb": "ovn-sb.ovsschema",
    "vswitch": "vswitch.ovsschema",
}

EXPECTED_NAME_VERSION = {
    "nb": ("OVN_Northbound", "7.0.0"),
    "sb": ("OVN_Southbound", "20.27.0"),
    "vswitch": ("Open_vSwitch", "8.3.1"),
}

REQUIRED_TABLES = {
    "nb": [
        "NB_Global",
        "Logical_Switch",
        "Logical_Switch_Port",
        "DHCP_Options",
        "ACL",
        "Address_Set",
        "Port_Group",
        "Logical_Router",
        "Logical_Router_Port",
    ],
    "sb": [
        "SB_Global",
        "Chassis",
        "Chassis_Private",
        "Encap",
        "Datapath_Binding",
        "Port_Binding",
        "Logical_Flow",
        "Multicast_Group",
        "MAC_Binding",
    ],
    "vswitch": ["Open_vSwitch", "Bridge", "Port", "Interface"],
}

# Every member RFC 7047 (plus OVS's "mutable") allows at each level; anything else is a typo
# that normalization would otherwise hide behind a default.
SCHEMA_KEYS = {"name", "version", "cksum", "tables"}
TABLE_KEYS = {"columns", "maxRows", "isRoot", "indexes"}
COLUMN_KEYS = {"type", "ephemeral", "mutable"}
TYPE_KEYS = {"key", "value", "min", "max"}
BASE_KEYS = {
    "type",
    "enum",
    "minInteger",
    "maxInteger",
    "minReal",
    "maxReal",
    "minLength",
    "maxLength",
    "refTable",
    "refType",
}
ATOMIC_TYPES = {"integer", "real", "boolean", "string", "uuid"}

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
UINT_MAX = 2**32 - 1


# --------------------------------------------------------------------------- normalization


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def norm_enum(enum: Any) -> frozenset[Any]:
    """An enum is an OVSDB <value>: a single atom or ["set", [atoms]]."""
    if isinstance(enum, list) and len(enum) == 2 and enum[0] == "set":
        return frozenset(_freeze(a) for a in enum[1])
    return frozenset([_freeze(enum)])


def norm_base(base: Any) -> dict[str, Any]:
    """Normalize a <base-type>: "string" or {"type": "string", ...}, with defaults filled in."""
    if isinstance(base, str):
        base = {"type": base}
    assert isinstance(base, dict), f"bad base type {base!r}"
    atomic = base["type"]
    assert atomic in ATOMIC_TYPES, f"unknown atomic type {atomic!r}"
    out: dict[str, Any] = {"type": atomic}
    out["enum"] = norm_enum(base["enum"]) if "enum" in base else None
    if atomic == "integer":
        out["minInteger"] = base.get("minInteger", INT_MIN)
        out["maxInteger"] = base.get("maxInteger", INT_MAX)
    elif atomic == "real":
        out["minReal"] = float(base.get("minReal", float("-inf")))
        out["maxReal"] = float(base.get("maxReal", float("inf")))
    elif atomic == "string":
        out["minLength"] = base.get("minLength", 0)
        out["maxLength"] = base.get("maxLength", UINT_MAX)
    elif atomic == "uuid":
        out["refTable"] = base.get("refTable")
        out["refType"] = base.get("refType", "strong") if "refTable" in base else None
    return out


def norm_type(type_: Any) -> dict[str, Any]:
    """Normalize a column <type>: an atomic type name or {"key", "value"?, "min"?, "max"?}."""
    if isinstance(type_, str) or (isinstance(type_, dict) and "key" not in type_):
        type_ = {"key": type_}
    return {
        "key": norm_base(type_["key"]),
        "value": norm_base(type_["value"]) if "value" in type_ else None,
        "min": type_.get("min", 1),
        "max": type_.get("max", 1),
    }


def norm_column(column: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": norm_type(column["type"]),
        "ephemeral": column.get("ephemeral", False),
        "mutable": column.get("mutable", True),
    }


def norm_table(table: dict[str, Any], default_root: bool) -> dict[str, Any]:
    """Table properties other than columns, with defaults filled in."""
    return {
        "isRoot": table.get("isRoot", default_root),
        "maxRows": table.get("maxRows"),
        "indexes": frozenset(frozenset(index) for index in table.get("indexes", [])),
    }


def default_root(schema: dict[str, Any]) -> bool:
    # RFC 7047 / OVS: a schema in which no table says "isRoot" predates the flag and treats
    # every table as a root table; otherwise the default is false.
    return not any("isRoot" in t for t in schema["tables"].values())


def ref_tables(column: dict[str, Any]) -> Iterator[str]:
    type_ = norm_type(column["type"])
    for base in (type_["key"], type_["value"]):
        if base is not None and base["type"] == "uuid" and base["refTable"] is not None:
            yield base["refTable"]


def schema_differences(ours: dict[str, Any], ref: dict[str, Any]) -> list[str]:
    """Everything in `ours` that is absent from `ref` or means something else there."""
    problems: list[str] = []
    for key in ("name", "version"):
        if ours.get(key) != ref.get(key):
            problems.append(f"schema {key}: {ours.get(key)!r} != reference {ref.get(key)!r}")
    our_root, ref_root = default_root(ours), default_root(ref)
    for tname, table in ours["tables"].items():
        if tname not in ref["tables"]:
            problems.append(f"table {tname} is not in the reference schema")
            continue
        ref_table = ref["tables"][tname]
        mine, theirs = norm_table(table, our_root), norm_table(ref_table, ref_root)
        for prop in mine:
            if mine[prop] != theirs[prop]:
                problems.append(f"{tname}: {prop} {mine[prop]!r} != reference {theirs[prop]!r}")
        for cname, column in table["columns"].items():
            if cname not in ref_table["columns"]:
                problems.append(f"{tname}.{cname} is not in the reference schema")
                continue
            mine_c, theirs_c = norm_column(column), norm_column(ref_table["columns"][cname])
            if mine_c != theirs_c:
                problems.append(f"{tname}.{cname}: {mine_c!r} != reference {theirs_c!r}")
    return problems


def missing_columns(ours: dict[str, Any], ref: dict[str, Any], tname: str) -> list[str]:
    return sorted(set(ref["tables"][tname]["columns"]) - set(ours["tables"][tname]["columns"]))


# --------------------------------------------------------------------------- fixtures


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"duplicate JSON members: {duplicates}"
    return dict(pairs)


def load_reference(name: str) -> dict[str, Any]:
    path = REFERENCE_DIR / REFERENCE_FILES[name]
    if not path.is_file():
        pytest.skip(f"reference schema {path} not found (shared/ must sit beside the repo)")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(params=SCHEMA_NAMES)
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ours(name: str) -> dict[str, Any]:
    return load_schema_json(name)


@pytest.fixture
def ref(name: str) -> dict[str, Any]:
    return load_reference(name)


# --------------------------------------------------------------------------- normalization


@pytest.mark.parametrize(
    "spelling",
    ["string", {"key": "string"}, {"key": {"type": "string"}}, {"key": "string", "min": 1}],
)
def test_shorthand_forms_are_equivalent(spelling: Any) -> None:
    assert norm_type(spelling) == norm_type({"key": {"type": "string"}, "min": 1, "max": 1})


def test_enum_compares_as_a_set() -> None:
    a = {"key": {"type": "string", "enum": ["set", ["udp", "tcp"]]}}
    b = {"key": {"type": "string", "enum": ["set", ["tcp", "udp"]]}}
    c = {"key": {"type": "string", "enum": ["set", ["tcp"]]}}
    assert norm_type(a) == norm_type(b)
    assert norm_type(c) == norm_type({"key": {"type": "string", "enum": "tcp"}})
    assert norm_type(a) != norm_type(c)


def test_ref_type_defaults_to_strong() -> None:
    implicit = {"key": {"type": "uuid", "refTable": "T"}}
    assert norm_type(implicit) == norm_type({"key": {"type": "uuid", "refTable": "T",
                                                     "refType": "strong"}})
    assert norm_type(implicit) != norm_type({"key": {"type": "uuid", "refTable": "T",
                                                     "refType": "weak"}})


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t["Logical_Switch_Port"]["columns"]["tag"]["type"].update(min=1),
        lambda t: t["Logical_Switch_Port"]["columns"]["tag"]["type"]["key"].update(
            maxInteger=4096
        ),
        lambda t: t["Logical_Switch"]["columns"]["load_balancer"]["type"]["key"].update(
            refType="strong"
        ),
        lambda t: t["ACL"]["columns"]["action"]["type"]["key"]["enum"][1].append("pass"),
        lambda t: t["ACL"]["columns"]["name"]["type"]["key"].pop("maxLength"),
        lambda t: t["Connection"]["columns"]["status"].pop("ephemeral"),
        lambda t: t["Logical_Switch_Port"].update(isRoot=True),
        lambda t: t["Logical_Switch_Port"].update(indexes=[["name", "type"]]),
        lambda t: t["NB_Global"].pop("maxRows"),
        lambda t: t["ACL"]["columns"].update(tier={"type": "integer"}),
    ],
)
def test_comparison_detects_a_changed_schema(mutate: Any) -> None:
    ref = load_reference("nb")
    changed = copy.deepcopy(ref)
    mutate(changed["tables"])
    assert schema_differences(ref, ref) == []
    assert schema_differences(changed, ref) != []


# --------------------------------------------------------------------------- module API


def test_schema_names() -> None:
    assert SCHEMA_NAMES == ("nb", "sb", "vswitch")


def test_schema_path_for_packaged_names(name: str) -> None:
    path = schema_path(name)
    assert isinstance(path, Path)
    assert path.is_file()
    assert path.suffix == ".ovsschema"


def test_schema_path_accepts_a_filesystem_path(tmp_path: Path) -> None:
    target = tmp_path / "x.ovsschema"
    target.write_text(json.dumps({"name": "X", "version": "1.0.0", "tables": {}}))
    assert schema_path(str(target)) == target
    assert load_schema_json(str(target))["name"] == "X"


def test_schema_path_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        schema_path(str(tmp_path / "nope.ovsschema"))
    with pytest.raises(FileNotFoundError):
        load_schema_json("no-such-schema")


# --------------------------------------------------------------------------- the schemas


def test_name_and_version(name: str, ours: dict[str, Any]) -> None:
    assert (ours["name"], ours["version"]) == EXPECTED_NAME_VERSION[name]


def test_reference_has_expected_name_and_version(name: str, ref: dict[str, Any]) -> None:
    assert (ref["name"], ref["version"]) == EXPECTED_NAME_VERSION[name]


def test_file_is_strict_json_with_known_members(name: str) -> None:
    text = schema_path(name).read_text(encoding="utf-8")
    schema = json.loads(text, object_pairs_hook=_reject_duplicates)
    assert set(schema) <= SCHEMA_KEYS
    for tname, table in schema["tables"].items():
        assert set(table) <= TABLE_KEYS, tname
        assert table["columns"], f"{tname} has no columns"
        for cname, column in table["columns"].items():
            where = f"{tname}.{cname}"
            assert set(column) <= COLUMN_KEYS, where
            type_ = column["type"]
            if isinstance(type_, dict):
                assert set(type_) <= TYPE_KEYS, where
                for part in ("key", "value"):
                    if isinstance(type_.get(part), dict):
                        assert set(type_[part]) <= BASE_KEYS, where
            norm_type(type_)  # every atomic type name is valid


def test_every_table_and_column_matches_reference(
    ours: dict[str, Any], ref: dict[str, Any]
) -> None:
    assert schema_differences(ours, ref) == []


def test_required_tables_present_and_complete(
    name: str, ours: dict[str, Any], ref: dict[str, Any]
) -> None:
    for tname in REQUIRED_TABLES[name]:
        assert tname in ours["tables"], f"required table {tname} missing"
        assert missing_columns(ours, ref, tname) == [], tname


def test_every_included_table_is_complete(ours: dict[str, Any], ref: dict[str, Any]) -> None:
    incomplete = {
        tname: missing_columns(ours, ref, tname)
        for tname in ours["tables"]
        if tname in ref["tables"] and missing_columns(ours, ref, tname)
    }
    assert incomplete == {}


def test_every_ref_table_is_in_the_same_schema(ours: dict[str, Any]) -> None:
    dangling = [
        f"{tname}.{cname} -> {target}"
        for tname, table in ours["tables"].items()
        for cname, column in table["columns"].items()
        for target in ref_tables(column)
        if target not in ours["tables"]
    ]
    assert dangling == []


def test_reference_closure_of_required_tables_is_included(
    name: str, ours: dict[str, Any], ref: dict[str, Any]
) -> None:
    needed: set[str] = set()
    todo = list(REQUIRED_TABLES[name])
    while todo:
        tname = todo.pop()
        if tname in needed:
            continue
        needed.add(tname)
        for column in ref["tables"][tname]["columns"].values():
            todo.extend(ref_tables(column))
    assert sorted(needed - set(ours["tables"])) == []


def test_omitted_tables_are_listed_in_module_docstring(
    ours: dict[str, Any], ref: dict[str, Any]
) -> None:
    doc = pyovn.schemas.__doc__ or ""
    assert "Omitted tables:" in doc
    omitted = sorted(set(ref["tables"]) - set(ours["tables"]))
    assert [t for t in omitted if t not in doc] == []


# --------------------------------------------------------------------------- ovsdb-tool


def _ovsdb_tool() -> str:
    tool = shutil.which("ovsdb-tool")
    if tool is None:
        pytest.skip("ovsdb-tool (Open vSwitch) is not installed")
    return tool


def _run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return result.stdout.strip()


@pytest.mark.interop
def test_ovsdb_tool_creates_a_database(name: str, tmp_path: Path) -> None:
    tool = _ovsdb_tool()
    path = str(schema_path(name))
    db = tmp_path / f"{name}.db"
    _run(tool, "create", str(db), path)
    assert db.is_file()
    expected_name, expected_version = EXPECTED_NAME_VERSION[name]
    assert _run(tool, "schema-name", path) == expected_name
    assert _run(tool, "schema-version", path) == expected_version
    assert _run(tool, "db-name", str(db)) == expected_name
    assert _run(tool, "db-version", str(db)) == expected_version


@pytest.mark.interop
def test_ovsdb_tool_rejects_a_broken_schema(tmp_path: Path) -> None:
    # Guards the test above: ovsdb-tool must really check what it is given.
    tool = _ovsdb_tool()
    broken = load_schema_json("nb")
    broken["tables"]["Logical_Switch"]["columns"]["ports"]["type"]["key"]["refTable"] = "Nope"
    path = tmp_path / "broken.ovsschema"
    path.write_text(json.dumps(broken))
    result = subprocess.run(
        [tool, "create", str(tmp_path / "broken.db"), str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
