"""What pyovn trace reads from the Southbound database, as typed, indexed data.

:class:`SbView` is built from any *rows accessor*: a function ``rows(table)`` returning
``{uuid: row}`` where a row maps column names to pyovn datums (``OvsdbClient.rows``,
``Replica.rows``, or a plain dict of dicts in tests). It reads Datapath_Binding,
Port_Binding, Multicast_Group, Logical_Flow (with Logical_DP_Group), Address_Set and
Port_Group; tables the accessor does not have are taken as empty.

Logical flows are compiled lazily, when a trace first visits their table: the match (with the
prerequisites of the flow's actions, as ovn-controller and ovn-trace add them) is normalized
into match sets, the actions are parsed by the action registry. A flow that does not compile
never matches; its error is kept in :attr:`SbView.warnings`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyovn.logical.actions import Action, Next, parse_actions
from pyovn.logical.errors import LogicalSyntaxError
from pyovn.logical.fields import DEFAULT_SYMTAB, SymbolTable
from pyovn.logical.matchset import MatchSet
from pyovn.logical.normalize import compile_match

Rows = Callable[[str], Mapping[Any, Mapping[str, Any]]]
TABLES = (
    "Datapath_Binding",
    "Port_Binding",
    "Multicast_Group",
    "Logical_Flow",
    "Logical_DP_Group",
    "Address_Set",
    "Port_Group",
)


def _one(value: Any) -> Any:
    """The single value of an optional column (None when empty)."""
    if isinstance(value, frozenset | set | list | tuple):
        return next(iter(value)) if value else None
    return value


def _col(row: Mapping[str, Any], column: str, default: Any = None) -> Any:
    try:
        return row[column]
    except KeyError:
        return default


def _table(rows: Rows, table: str) -> Mapping[Any, Mapping[str, Any]]:
    try:
        return rows(table)
    except (KeyError, AssertionError):
        return {}


@dataclass(frozen=True)
class Datapath:
    uuid: str
    name: str
    tunnel_key: int = 0
    nb_uuid: str | None = None


@dataclass(frozen=True)
class Port:
    name: str
    uuid: str
    datapath: str  # Datapath_Binding uuid
    tunnel_key: int = 0
    type: str = ""
    parent: str | None = None
    tag: int | None = None
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_vif(self) -> bool:
        return self.type == "" and self.parent is None


@dataclass(frozen=True)
class McGroup:
    name: str
    datapath: str
    tunnel_key: int
    ports: tuple[str, ...]  # port names, sorted


@dataclass(eq=False)
class Flow:
    uuid: str
    datapath: str
    pipeline: str
    table: int
    priority: int
    match: str
    actions_text: str
    stage_name: str | None = None
    source: str | None = None
    matches: tuple[MatchSet, ...] | None = None
    actions: tuple[Action, ...] = ()
    error: str | None = None

    @property
    def compiled(self) -> bool:
        return self.matches is not None or self.error is not None

    def matches_packet(self, view: Mapping[str, int | str]) -> bool:
        return self.specificity(view) >= 0

    def specificity(self, view: Mapping[str, int | str]) -> int:
        """How many bits the most specific matching conjunction pins (-1: no match)."""
        best = -1
        for ms in self.matches or ():
            if ms.matches(view, ALL_RESIDENT):
                bits = sum(32 if isinstance(m, str) else m[1].bit_count() for _, m in ms.fields)
                best = max(best, bits)
        return best

    def is_trivial(self) -> bool:
        """``1`` with just ``next;``: ovn-trace leaves such flows out of its output."""
        if self.match.strip() != "1" or len(self.actions) != 1:
            return False
        act = self.actions[0]
        return (
            isinstance(act, Next) and act.pipeline is None and act.table in (None, self.table + 1)
        )


class _Everything:
    """Every port is resident: pyovn trace, like ovn-trace, simulates no chassis."""

    def __contains__(self, item: object) -> bool:
        return True


ALL_RESIDENT: Any = _Everything()


class SbView:
    """An indexed snapshot of the Southbound tables a trace needs."""

    def __init__(self, rows: Rows, symtab: SymbolTable = DEFAULT_SYMTAB) -> None:
        self.symtab = symtab
        self.warnings: list[str] = []
        self.datapaths: dict[str, Datapath] = {}
        for uuid, row in _table(rows, "Datapath_Binding").items():
            ext = _col(row, "external_ids", {}) or {}
            nb = ext.get("logical-switch") or ext.get("logical-router")
            name = ext.get("name") or ext.get("name2") or str(uuid)
            key = _col(row, "tunnel_key", 0)
            self.datapaths[str(uuid)] = Datapath(str(uuid), name, int(key or 0), nb)
        self.ports: dict[str, Port] = {}
        by_uuid: dict[str, str] = {}
        for uuid, row in _table(rows, "Port_Binding").items():
            port = Port(
                name=row["logical_port"],
                uuid=str(uuid),
                datapath=str(_one(_col(row, "datapath"))),
                tunnel_key=int(_one(_col(row, "tunnel_key", 0)) or 0),
                type=_col(row, "type", "") or "",
                parent=_one(_col(row, "parent_port")),
                tag=_one(_col(row, "tag")),
                options=dict(_col(row, "options", {}) or {}),
            )
            self.ports[port.name] = port
            by_uuid[str(uuid)] = port.name
        self.mcgroups: dict[tuple[str, str], McGroup] = {}
        for row in _table(rows, "Multicast_Group").values():
            members = sorted(by_uuid[str(u)] for u in row["ports"] if str(u) in by_uuid)
            dp = str(_one(row["datapath"]))
            group = McGroup(row["name"], dp, int(_col(row, "tunnel_key", 0)), tuple(members))
            self.mcgroups[(dp, group.name)] = group
        self.address_sets = {
            row["name"]: sorted(row["addresses"]) for row in _table(rows, "Address_Set").values()
        }
        self.port_groups = {
            row["name"]: sorted(row["ports"]) for row in _table(rows, "Port_Group").values()
        }
        self.flows: dict[tuple[str, str, int], list[Flow]] = {}
        self._load_flows(rows)
        self._compiled: dict[tuple[str, str], tuple[tuple[MatchSet, ...] | None, Any]] = {}

    def _load_flows(self, rows: Rows) -> None:
        groups = {
            str(uuid): [str(d) for d in row["datapaths"]]
            for uuid, row in _table(rows, "Logical_DP_Group").items()
        }
        for uuid, row in _table(rows, "Logical_Flow").items():
            dp = _one(_col(row, "logical_datapath"))
            group = _one(_col(row, "logical_dp_group"))
            dps = [str(dp)] if dp is not None else groups.get(str(group), [])
            ext = _col(row, "external_ids", {}) or {}
            for datapath in dps:
                flow = Flow(
                    uuid=str(uuid),
                    datapath=datapath,
                    pipeline=row["pipeline"],
                    table=int(row["table_id"]),
                    priority=int(row["priority"]),
                    match=row["match"],
                    actions_text=row["actions"],
                    stage_name=ext.get("stage-name"),
                    source=ext.get("source"),
                )
                self.flows.setdefault((datapath, flow.pipeline, flow.table), []).append(flow)
        for flows in self.flows.values():
            flows.sort(key=lambda f: (-f.priority, f.match, f.uuid))

    # ------------------------------------------------------------------ lookups

    def find_datapath(self, text: str) -> Datapath:
        """A datapath by name, SB uuid, NB uuid, or unique uuid prefix."""
        if text in self.datapaths:
            return self.datapaths[text]

        def prefix(d: Datapath) -> bool:
            uuids = (d.uuid, d.nb_uuid or "")
            return len(text) >= 4 and any(u.startswith(text) for u in uuids)

        tests: tuple[Callable[[Datapath], bool], ...] = (
            lambda d: d.name == text,
            lambda d: d.nb_uuid == text,
            prefix,
        )
        for test in tests:
            found = [d for d in self.datapaths.values() if test(d)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise LookupError(f'datapath "{text}" is ambiguous ({len(found)} match)')
        raise LookupError(f'unknown datapath "{text}"')

    def port(self, name: str) -> Port | None:
        return self.ports.get(name)

    def children(self, parent: str) -> list[Port]:
        return sorted((p for p in self.ports.values() if p.parent == parent), key=lambda p: p.name)

    def mcgroup(self, datapath: str, name: str) -> McGroup | None:
        return self.mcgroups.get((datapath, name))

    def stage_name(self, datapath: str, pipeline: str, table: int) -> str | None:
        for flow in self.flows.get((datapath, pipeline, table), ()):
            if flow.stage_name:
                return flow.stage_name
        return None

    def lookup(
        self, datapath: str, pipeline: str, table: int, view: Mapping[str, int | str]
    ) -> tuple[Flow | None, list[Flow]]:
        """The highest-priority matching flow, and the others that match at that priority.

        OVN leaves the choice among overlapping flows of one priority undefined; pyovn takes
        the most specific match (most bits pinned), then the first by match text and uuid.
        """
        found: list[tuple[int, Flow]] = []
        for flow in self.flows.get((datapath, pipeline, table), ()):
            if found and flow.priority < found[0][1].priority:
                break
            self.compile(flow)
            bits = flow.specificity(view)
            if bits >= 0:
                found.append((bits, flow))
        if not found:
            return None, []
        order = sorted(found, key=lambda item: -item[0])  # stable: match text, uuid next
        return order[0][1], [flow for _, flow in order[1:]]

    def compile(self, flow: Flow) -> None:
        if flow.compiled:
            return
        key = (flow.match, flow.actions_text)
        cached = self._compiled.get(key)
        if cached is None:
            cached = self._compile(flow.match, flow.actions_text)
            self._compiled[key] = cached
            if cached[0] is None:
                self.warnings.append(f"logical flow {flow.uuid[:8]} ignored: {cached[1]}")
        matches, actions_or_error = cached
        if matches is None:
            flow.matches, flow.error = (), str(actions_or_error)
        else:
            flow.matches, flow.actions = matches, actions_or_error

    def _compile(self, match: str, actions_text: str) -> tuple[tuple[MatchSet, ...] | None, Any]:
        try:
            actions = parse_actions(actions_text, self.symtab)
            prereqs: list[str] = []
            for act in actions:
                prereqs.extend(p for p in act.prerequisites(self.symtab) if p not in prereqs)
            text = f"({match})" + "".join(f" && ({p})" for p in prereqs) if prereqs else match
            matches = compile_match(
                text,
                self.symtab,
                address_sets=self.address_sets,
                port_groups=self.port_groups,
            )
        except LogicalSyntaxError as err:
            return None, err
        return matches, actions


def sb_view(rows: Rows | SbView, symtab: SymbolTable = DEFAULT_SYMTAB) -> SbView:
    return rows if isinstance(rows, SbView) else SbView(rows, symtab)


def rows_from_dicts(tables: Mapping[str, Iterable[tuple[str, Mapping[str, Any]]]]) -> Rows:
    """A rows accessor over plain data: ``{table: [(uuid, row), ...]}`` (for tests)."""
    frozen = {t: dict(rs) for t, rs in tables.items()}
    return lambda table: frozen.get(table, {})
