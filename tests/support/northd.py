"""Helpers for the northd tests: an NB replica without a server, a vocabulary of NB edits
that applies to it and to a real NB through the client library, the golden text form of
logical flows (stage names, not table numbers), and a normalised view of the Southbound
database for comparing two northds (UUIDs aside, tunnel keys checked structurally)."""

from __future__ import annotations

import difflib
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyovn.northd.keys import DATAPATH_KEYS, PORT_KEYS
from pyovn.northd.stages import BY_NAME, SWITCH_STAGES, stage_at
from pyovn.ovsdb.client.replica import Replica, RowEvent, RowView
from pyovn.ovsdb.client.txn import value_json
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.types import Uuid
from pyovn.schemas import schema_path

NB_SCHEMA = DatabaseSchema.from_file(schema_path("nb"))
REGEN_ENV = "PYOVN_REGEN_GOLDEN"

Rows = Callable[[str], dict[Uuid, RowView]]


# ---------------------------------------------------------------------------- a fake NB


class FakeNb:
    """An OVN_Northbound replica fed by hand: ``txn()`` gives an object with the client
    ``Txn``'s insert/update/delete; ``commit`` applies it and hands the row events to the
    listeners, as the client would after a server update. UUIDs are deterministic."""

    def __init__(
        self, tables: Iterable[str] = ("NB_Global", "Logical_Switch", "Logical_Switch_Port")
    ):
        self.replica = Replica(NB_SCHEMA)
        for table in tables:
            self.replica.add_table(table)
        self.listeners: list[Callable[[list[RowEvent]], None]] = []
        self._n = 0

    def rows(self, table: str) -> dict[Uuid, RowView]:
        return self.replica.rows(table)

    def new_uuid(self) -> Uuid:
        self._n += 1
        return Uuid(f"{self._n:08x}-0000-4000-8000-00000000f00d")

    def txn(self) -> FakeTxn:
        return FakeTxn(self)

    def apply(self, updates: dict[str, dict[str, Any]]) -> list[RowEvent]:
        events = self.replica.apply_update(updates, 1)
        for listener in self.listeners:
            listener(events)
        return events


class FakeTxn:
    def __init__(self, nb: FakeNb) -> None:
        self.nb = nb
        self.updates: dict[str, dict[str, Any]] = {}
        self.ops: list[str] = []

    def _row_json(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        columns = NB_SCHEMA.tables[table].columns
        return {name: value_json(columns[name].type, value) for name, value in row.items()}

    def insert(self, table: str, row: dict[str, Any]) -> Uuid:
        uuid = self.nb.new_uuid()
        self.updates.setdefault(table, {})[str(uuid)] = {"new": self._row_json(table, row)}
        self.ops.append("insert")
        return uuid

    def update(self, table: str, uuid: Any, row: dict[str, Any]) -> None:
        per_table = self.updates.setdefault(table, {})
        change = per_table.setdefault(str(uuid), {"new": {}})
        change["new"].update(self._row_json(table, row))
        self.ops.append("update")

    def delete(self, table: str, uuid: Any) -> None:
        self.updates.setdefault(table, {})[str(uuid)] = {}
        self.ops.append("delete")

    def commit(self) -> list[RowEvent]:
        return self.nb.apply(self.updates)


# ---------------------------------------------------------------------------- NB edits

# An edit is a plain tuple, so hypothesis can draw it and a failure prints it readably:
#   ("add_ls", sw)                      ("del_ls", sw)
#   ("add_lsp", sw, port, spec)         ("del_lsp", port)
#   ("set", port, column, value)        ("rename", port, new_name)
#   ("swap", port_a, port_b)            ("move", port, sw)
# An edit that does not apply to the current NB (a missing switch, a name already used) is
# skipped. Each edit is one transaction.

Edit = tuple[Any, ...]


def find(rows: Rows, table: str, name: str) -> RowView | None:
    for row in rows(table).values():
        if row["name"] == name:
            return row
    return None


def switch_of(rows: Rows, port_uuid: str) -> RowView | None:
    for row in rows("Logical_Switch").values():
        if port_uuid in row["ports"]:
            return row
    return None


def apply_edit(edit: Edit, txn: Any, rows: Rows) -> bool:
    """Add ``edit`` to ``txn`` (a client Txn or a FakeTxn); False if it does not apply."""
    kind = edit[0]
    if kind == "add_ls":
        if find(rows, "Logical_Switch", edit[1]) is not None:
            return False
        txn.insert("Logical_Switch", {"name": edit[1]})
        return True
    if kind == "del_ls":
        sw = find(rows, "Logical_Switch", edit[1])
        if sw is None:
            return False
        txn.delete("Logical_Switch", sw.uuid)
        for pu in sw["ports"]:
            txn.delete("Logical_Switch_Port", pu)
        return True
    if kind == "add_lsp":
        _, sw_name, name, spec = edit
        sw = find(rows, "Logical_Switch", sw_name)
        if sw is None or find(rows, "Logical_Switch_Port", name) is not None:
            return False
        ref = txn.insert("Logical_Switch_Port", {"name": name, **dict(spec)})
        txn.update("Logical_Switch", sw.uuid, {"ports": [*sw["ports"], ref]})
        return True
    if kind == "del_lsp":
        port = find(rows, "Logical_Switch_Port", edit[1])
        if port is None:
            return False
        sw = switch_of(rows, port.uuid)
        if sw is not None:
            txn.update("Logical_Switch", sw.uuid, {"ports": sorted(sw["ports"] - {port.uuid})})
        txn.delete("Logical_Switch_Port", port.uuid)
        return True
    if kind == "set":
        _, name, column, value = edit
        port = find(rows, "Logical_Switch_Port", name)
        if port is None:
            return False
        txn.update("Logical_Switch_Port", port.uuid, {column: value})
        return True
    if kind == "rename":
        _, name, new_name = edit
        port = find(rows, "Logical_Switch_Port", name)
        if port is None or find(rows, "Logical_Switch_Port", new_name) is not None:
            return False
        txn.update("Logical_Switch_Port", port.uuid, {"name": new_name})
        return True
    if kind == "swap":
        a = find(rows, "Logical_Switch_Port", edit[1])
        b = find(rows, "Logical_Switch_Port", edit[2])
        if a is None or b is None or a.uuid == b.uuid:
            return False
        txn.update("Logical_Switch_Port", a.uuid, {"name": b["name"]})
        txn.update("Logical_Switch_Port", b.uuid, {"name": a["name"]})
        return True
    if kind == "move":
        _, name, sw_name = edit
        port = find(rows, "Logical_Switch_Port", name)
        new_sw = find(rows, "Logical_Switch", sw_name)
        if port is None or new_sw is None:
            return False
        old_sw = switch_of(rows, port.uuid)
        if old_sw is None or old_sw.uuid == new_sw.uuid:
            return False
        txn.update("Logical_Switch", old_sw.uuid, {"ports": sorted(old_sw["ports"] - {port.uuid})})
        txn.update("Logical_Switch", new_sw.uuid, {"ports": sorted(new_sw["ports"] | {port.uuid})})
        return True
    raise ValueError(f"unknown edit {edit!r}")


def bump_nb_cfg(txn: Any, rows: Rows) -> int:
    """Increment NB_Global.nb_cfg in ``txn`` (creating the row if needed); the new value."""
    row = next(iter(rows("NB_Global").values()), None)
    if row is None:
        txn.insert("NB_Global", {"nb_cfg": 1})
        return 1
    value = int(row["nb_cfg"]) + 1
    txn.update("NB_Global", row.uuid, {"nb_cfg": value})
    return value


# ---------------------------------------------------------------------------- golden text


@dataclass(frozen=True, order=True)
class FlowLine:
    datapath: str  # switch name
    stage_index: int  # position of the stage in SWITCH_STAGES (for ordering only)
    pipeline: str
    stage: str
    neg_priority: int
    match: str
    actions: str
    hint: str  # name of the NB row the flow comes from

    def text(self) -> str:
        return (
            f"    priority={-self.neg_priority:<4} match=({self.match}) "
            f"action=({self.actions})  [{self.hint}]"
        )


_STAGE_INDEX = {s.name: i for i, s in enumerate(SWITCH_STAGES)}


def flow_line(
    datapath: str, stage: str, priority: int, match: str, actions: str, hint: str
) -> FlowLine:
    st = BY_NAME[stage]
    return FlowLine(
        datapath, _STAGE_INDEX[stage], st.pipeline.value, stage, -priority, match, actions, hint
    )


def render_flows(lines: Iterable[FlowLine]) -> str:
    """Logical flows grouped by datapath and stage, in a stable order."""
    out: list[str] = []
    last_dp = last_stage = None
    for line in sorted(lines):
        if line.datapath != last_dp:
            out.append(f"Datapath: {line.datapath}")
            last_dp, last_stage = line.datapath, None
        if line.stage != last_stage:
            out.append(f"  {line.stage} ({line.pipeline})")
            last_stage = line.stage
        out.append(line.text())
    return "\n".join(out) + "\n"


def hint_names(nb_rows: Rows) -> dict[str, str]:
    """8-character uuid prefix -> name, for NB switches and ports (the stage-hint)."""
    names = {}
    for table in ("Logical_Switch", "Logical_Switch_Port"):
        for uuid, row in nb_rows(table).items():
            names[str(uuid)[:8]] = row["name"]
    return names


def lines_from_engine(lflow: Any, northd: Any, nb_rows: Rows) -> list[FlowLine]:
    """The flows the engine's lflow node wants (one per key, as SB will hold them)."""
    hints = hint_names(nb_rows)
    out = []
    for flow in lflow.flows.values():
        sw = northd.switches[flow.datapath]
        out.append(
            flow_line(
                sw.name,
                flow.stage.name,
                flow.priority,
                flow.match,
                flow.actions,
                hints.get(flow.hint[:8], "?" + flow.hint[:8]),
            )
        )
    return out


def lines_from_sb(sb_rows: Rows, nb_rows: Rows) -> list[FlowLine]:
    """The Logical_Flow rows of an SB replica; the stage comes from the stage-name and must
    agree with the table number."""
    hints = hint_names(nb_rows)
    dp_names = {
        u: r["external_ids"].get("name", "?") for u, r in sb_rows("Datapath_Binding").items()
    }
    out = []
    for row in sb_rows("Logical_Flow").values():
        name = row["external_ids"].get("stage-name", "?")
        at = stage_at(row["pipeline"], row["table_id"])
        assert at is not None and at.name == name, (name, row["pipeline"], row["table_id"])
        hint = row["external_ids"].get("stage-hint", "")
        out.append(
            flow_line(
                dp_names.get(row.one("logical_datapath"), "?"),
                name,
                row["priority"],
                row["match"],
                row["actions"],
                hints.get(hint, "?" + hint),
            )
        )
    return out


def check_golden(path: Path, text: str) -> None:
    """Compare ``text`` with the checked-in file; with $PYOVN_REGEN_GOLDEN=1, rewrite it."""
    if os.environ.get(REGEN_ENV):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    if not path.exists():
        raise AssertionError(f"{path} is missing; run with {REGEN_ENV}=1 to create it")
    expected = path.read_text()
    if expected != text:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{path.name} (expected)",
                tofile=f"{path.name} (got)",
            )
        )
        raise AssertionError(
            f"output differs from {path} (rerun with {REGEN_ENV}=1 if the change is intended):"
            f"\n{diff}"
        )


# ---------------------------------------------------------------------------- SB snapshots


def _opt(value: Any) -> Any:
    if isinstance(value, frozenset):
        return next(iter(value)) if value else None
    return value


def _sorted_map(value: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(value.items()))


def sb_snapshot(sb_rows: Rows) -> dict[str, Any]:
    """What northd owns in SB, without UUIDs and tunnel key values; checks the keys
    structurally (present, in range, unique in their scope, references consistent)."""
    dps = sb_rows("Datapath_Binding")
    ls_of = {u: r["external_ids"].get("logical-switch") for u, r in dps.items()}
    dp_keys = [r["tunnel_key"] for r in dps.values()]
    assert len(set(dp_keys)) == len(dp_keys), f"duplicate datapath tunnel keys {dp_keys}"
    assert all(DATAPATH_KEYS[0] <= k <= DATAPATH_KEYS[1] for k in dp_keys), dp_keys
    assert len(set(ls_of.values())) == len(ls_of), "two datapaths for one switch"
    datapaths = {ls_of[u]: _sorted_map(r["external_ids"]) for u, r in dps.items()}

    pbs = sb_rows("Port_Binding")
    port_keys: dict[str, list[int]] = {}
    ports = {}
    name_of = {}
    for u, r in pbs.items():
        dp = r["datapath"]
        assert dp in dps, f"port binding {r['logical_port']} on a missing datapath"
        port_keys.setdefault(ls_of[dp], []).append(r["tunnel_key"])
        name_of[u] = r["logical_port"]
        ports[r["logical_port"]] = (
            ls_of[dp],
            r["type"],
            _sorted_map(r["options"]),
            tuple(sorted(r["mac"])),
            _opt(r["parent_port"]),
            _opt(r["tag"]),
            _opt(r["requested_chassis"]),
        )
    assert len(ports) == len(pbs), "two port bindings with one logical_port"
    for ls, keys in port_keys.items():
        assert len(set(keys)) == len(keys), f"duplicate port tunnel keys on {ls}: {keys}"
        assert all(PORT_KEYS[0] <= k <= PORT_KEYS[1] for k in keys), keys

    groups = {}
    for r in sb_rows("Multicast_Group").values():
        assert r["datapath"] in dps
        members = []
        for pu in r["ports"]:
            assert pbs[pu]["datapath"] == r["datapath"], "group member on another datapath"
            members.append(name_of[pu])
        key = (ls_of[r["datapath"]], r["name"])
        assert key not in groups
        groups[key] = (r["tunnel_key"], tuple(sorted(members)))

    flows: Counter[tuple[Any, ...]] = Counter()
    for r in sb_rows("Logical_Flow").values():
        dp = r.one("logical_datapath")
        assert dp in dps
        flows[
            (
                ls_of[dp],
                r["pipeline"],
                r["table_id"],
                r["priority"],
                r["match"],
                r["actions"],
                r["external_ids"].get("stage-name"),
            )
        ] += 1
    dups = [k for k, n in flows.items() if n > 1]
    assert not dups, f"duplicate logical flows: {dups[:3]}"
    sb_global = [r["nb_cfg"] for r in sb_rows("SB_Global").values()]
    return {
        "datapaths": datapaths,
        "ports": ports,
        "groups": groups,
        "flows": set(flows),
        "sb_global": sb_global,
    }


def diff_snapshots(a: dict[str, Any], b: dict[str, Any]) -> str:
    """A readable account of how two snapshots differ ("" when equal)."""
    out = []
    for section in a:
        x, y = a[section], b[section]
        if x == y:
            continue
        if isinstance(x, dict):
            for k in sorted(set(x) | set(y), key=repr):
                if x.get(k) != y.get(k):
                    out.append(f"{section}[{k!r}]: {x.get(k)!r} != {y.get(k)!r}")
        elif isinstance(x, set):
            out.extend(f"{section}: only in first: {f!r}" for f in sorted(x - y, key=repr))
            out.extend(f"{section}: only in second: {f!r}" for f in sorted(y - x, key=repr))
        else:
            out.append(f"{section}: {x!r} != {y!r}")
    return "\n".join(out)


def stale_flow_hints(sb_rows: Rows, nb_rows: Rows) -> list[str]:
    """Logical flows whose stage-hint names no current NB switch or port of their datapath."""
    prefixes: dict[str, set[str]] = {}
    lsp = nb_rows("Logical_Switch_Port")
    for uuid, row in nb_rows("Logical_Switch").items():
        prefixes[str(uuid)] = {str(uuid)[:8]} | {str(p)[:8] for p in row["ports"] if p in lsp}
    ls_of = {
        u: r["external_ids"].get("logical-switch") for u, r in sb_rows("Datapath_Binding").items()
    }
    bad = []
    for r in sb_rows("Logical_Flow").values():
        ls = ls_of.get(r.one("logical_datapath"))
        hint = r["external_ids"].get("stage-hint")
        if hint not in prefixes.get(ls, set()):
            bad.append(f"{r['match']} / {r['actions']} hint={hint}")
    return bad


# ---------------------------------------------------------------------------- the golden topology


def _vm(mac: str, ip: str, secure: bool = True, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"addresses": [f"{mac} {ip}"], **extra}
    if secure:
        spec["port_security"] = [f"{mac} {ip}"]
    return spec


# Two switches; VMs with addresses and port security, one disabled, one with two address
# entries and no port security, one "unknown" port, a localnet port, and containers on the
# second switch inside VMs of the first (tag_request 0 = northd picks, 42 = explicit).
GOLDEN_TOPOLOGY: tuple[Edit, ...] = (
    ("add_ls", "sw0"),
    ("add_ls", "sw1"),
    ("add_lsp", "sw0", "vm1", _vm("00:00:00:00:01:01", "10.0.0.11")),
    (
        "add_lsp",
        "sw0",
        "vm2",
        {
            "addresses": ["00:00:00:00:01:02 10.0.0.12 fd00::12"],
            "port_security": ["00:00:00:00:01:02"],
        },
    ),
    ("add_lsp", "sw0", "vm3", _vm("00:00:00:00:01:03", "10.0.0.13", enabled=False)),
    (
        "add_lsp",
        "sw0",
        "vm4",
        {"addresses": ["00:00:00:00:01:04 10.0.0.14", "00:00:00:00:01:05 10.0.0.15"]},
    ),
    ("add_lsp", "sw0", "gw", {"addresses": ["unknown"]}),
    (
        "add_lsp",
        "sw1",
        "c1",
        _vm("00:00:00:00:02:01", "10.1.0.21", parent_name="vm1", tag_request=0),
    ),
    (
        "add_lsp",
        "sw1",
        "c2",
        _vm("00:00:00:00:02:02", "10.1.0.22", parent_name="vm1", tag_request=42),
    ),
    (
        "add_lsp",
        "sw1",
        "c3",
        _vm("00:00:00:00:02:03", "10.1.0.23", parent_name="vm1", tag_request=0),
    ),
    (
        "add_lsp",
        "sw1",
        "c4",
        _vm("00:00:00:00:02:04", "10.1.0.24", parent_name="vm2", tag_request=0),
    ),
    (
        "add_lsp",
        "sw1",
        "ln1",
        {"type": "localnet", "addresses": ["unknown"], "options": {"network_name": "physnet1"}},
    ),
)


def render_bindings(
    ports: Iterable[tuple[str, str, str, tuple[str, ...], str | None, int | None]],
    groups: Iterable[tuple[str, str, int, tuple[str, ...]]],
) -> str:
    """Port bindings (switch, port, type, mac, parent, tag) and multicast groups
    (switch, name, key, members) as stable text."""
    out = ["Port_Binding"]
    for sw, name, ptype, mac, parent, tag in sorted(ports, key=lambda p: (p[0], p[1])):
        out.append(
            f"  {sw:<4} {name:<4} type={ptype or '-':<8} parent={parent or '-':<4} "
            f"tag={'-' if tag is None else tag:<4} mac={list(mac)}"
        )
    out.append("Multicast_Group")
    for sw, name, key, members in sorted(groups):
        out.append(f"  {sw:<4} {name:<11} key={key} ports={' '.join(members)}")
    return "\n".join(out) + "\n"


def bindings_from_sb(sb_rows: Rows) -> str:
    dps = sb_rows("Datapath_Binding")
    names = {u: r["external_ids"].get("name", "?") for u, r in dps.items()}
    pbs = sb_rows("Port_Binding")
    ports = [
        (
            names[r["datapath"]],
            r["logical_port"],
            r["type"],
            tuple(sorted(r["mac"])),
            _opt(r["parent_port"]),
            _opt(r["tag"]),
        )
        for r in pbs.values()
    ]
    groups = [
        (
            names[r["datapath"]],
            r["name"],
            r["tunnel_key"],
            tuple(sorted(pbs[p]["logical_port"] for p in r["ports"])),
        )
        for r in sb_rows("Multicast_Group").values()
    ]
    return render_bindings(ports, groups)


# A logical flow as the controller compiles it: (pipeline, table, priority, match, actions).
FlowKey = tuple[str, int, int, str, str]


def flow_keys(graph: Any) -> set[FlowKey]:
    """The logical flows of a northd engine graph, recomputed in full."""
    graph.engine.run(force_recompute=True)
    return {
        (f.stage.pipeline.value, f.stage.table, f.priority, f.match, f.actions)
        for f in graph.lflow.flows.values()
    }


def port_keys(graph: Any) -> dict[str, int]:
    """A port key for each of the graph's logical ports (1, 2, ...) and the multicast
    groups' keys: what compile_lflow needs to resolve the flows' port names."""
    ports = {p.name: i + 1 for i, p in enumerate(graph.northd.ports.values())}
    ports.update({"_MC_flood": 32768, "_MC_unknown": 32769})
    return ports
