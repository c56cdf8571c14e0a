"""The controller's incremental paths give what computing everything afresh gives: binding
decisions (binding.Bindings), the Logical_Flow rows that apply and their compiled flows
(flows.LflowTargets + LflowCache.update) and the flows the OVS backend installs
(OvsBackend.install), after any sequence of changes."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pyovn.controller.binding import Bindings, Decision, Kind, classify
from pyovn.controller.flows import LflowCache, LflowTargets
from pyovn.controller.lflow import pipeline_port
from pyovn.datapath import ofwire
from pyovn.datapath.flows import Flow, Output, Resubmit, Tunnel
from pyovn.datapath.openflow import UnsupportedFlow, flow_cookie, flow_text
from pyovn.datapath.ovs import OvsBackend
from pyovn.ovsdb.client.replica import RowEvent, RowView
from pyovn.ovsdb.types import Uuid

OURS, OTHER = "c-ours", "c-other"


def uuid(n: int) -> Uuid:
    return Uuid(f"00000000-0000-4000-8000-{n:012d}")


def one(value: Any) -> frozenset[Any]:
    return frozenset() if value is None else frozenset({value})


# ---------------------------------------------------------------- binding decisions

NAMES = [f"vm{i}" for i in range(4)] + [f"c{i}" for i in range(3)]


@st.composite
def binding(draw: st.DrawFn, n: int) -> RowView:
    name = NAMES[n]
    container = name.startswith("c")
    parent = draw(st.sampled_from(["vm0", "vm1", "vm2", "c0"])) if container else None
    return RowView(
        "Port_Binding",
        uuid(n),
        {
            "logical_port": name,
            "type": draw(st.sampled_from(["", "", "", "localnet"])),
            "chassis": one(draw(st.sampled_from([None, None, OURS, OTHER]))),
            "requested_chassis": one(draw(st.sampled_from([None, None, None, OURS, OTHER]))),
            "parent_port": one(parent),
            "tag": one(draw(st.sampled_from([None, 5, 6])) if container else None),
            "up": one(draw(st.booleans())),
        },
    )


def decide_afresh(
    pbs: dict[str, RowView], chassis: str | None, ifaces: dict[str, int]
) -> dict[str, Decision]:
    """The controller's decisions before they were incremental: every VIF, then every
    container with the VIFs bound here known."""
    decisions: dict[str, Decision] = {}
    bound_vifs: dict[str, int] = {}
    children = []
    for pb in pbs.values():
        if pb.one("parent_port") is not None:
            children.append(pb)
            continue
        d = classify(pb, chassis, ifaces, bound_vifs)
        decisions[pb["logical_port"]] = d
        if d.kind is Kind.VIF:
            bound_vifs[pb["logical_port"]] = d.ofport
    for pb in children:
        decisions[pb["logical_port"]] = classify(pb, chassis, ifaces, bound_vifs)
    return decisions


steps_bindings = st.lists(
    st.one_of(
        st.tuples(st.just("row"), st.integers(0, len(NAMES) - 1)),
        st.tuples(st.just("delete"), st.integers(0, len(NAMES) - 1)),
        st.tuples(st.just("iface"), st.sampled_from(NAMES[:4]), st.sampled_from([None, 3, 4])),
        st.tuples(st.just("chassis"), st.sampled_from([OURS, OURS, OTHER, None])),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(st.data(), steps_bindings)
def test_bindings_decide_as_classifying_everything_afresh(data: Any, steps: list[Any]) -> None:
    bindings = Bindings()
    pbs: dict[str, RowView] = {}
    ifaces: dict[str, int] = {}
    chassis: str | None = OURS
    before: dict[str, Decision] = {}
    for step in steps:
        if step[0] == "row":
            row = data.draw(binding(step[1]))
            pbs[row.uuid] = row
            bindings.note(row.uuid)
        elif step[0] == "delete":
            if pbs.pop(uuid(step[1]), None) is not None:
                bindings.note(uuid(step[1]))
        elif step[0] == "iface":
            if step[2] is None:
                ifaces.pop(step[1], None)
            else:
                ifaces[step[1]] = step[2]
        else:
            chassis = step[1]
        changes = bindings.update(pbs, chassis, ifaces)
        expected = decide_afresh(pbs, chassis, ifaces)
        assert bindings.decisions == expected
        assert bindings.bind_uuids == {
            u for u, pb in pbs.items() if expected[pb["logical_port"]].bind
        }
        assert dict(bindings.bound_vifs) == {
            n: d.ofport for n, d in expected.items() if d.kind is Kind.VIF
        }
        names = before.keys() | expected.keys()
        assert changes == {
            n: (before.get(n), expected.get(n)) for n in names if before.get(n) != expected.get(n)
        }
        for u, pb in pbs.items():
            assert bindings.uuid_of(pb["logical_port"]) == u
        before = expected


# ---------------------------------------------------------------- logical flows

DPS = {uuid(100 + i): 10 + i for i in range(3)}  # datapath uuid -> key
DP_LIST = list(DPS)
GROUPS = [uuid(200), uuid(201)]
PORTS = ["p0", "p1", "p2", "p3"]
MATCHES = [
    "1",
    "eth.type == 0x800",
    *(f'inport == "{p}"' for p in PORTS),
    *(f'outport == "{p}"' for p in PORTS),
    *(f'inport == "{p}" && eth.type == 0x806' for p in PORTS[:2]),
    'inport == "p0" || inport == "p1"',
]


@st.composite
def lflow(draw: st.DrawFn, n: int) -> RowView:
    on_group = draw(st.booleans())
    return RowView(
        "Logical_Flow",
        uuid(300 + n),
        {
            "match": draw(st.sampled_from(MATCHES)),
            "actions": draw(st.sampled_from(["next;", "drop;", 'outport = "p1"; output;'])),
            "pipeline": draw(st.sampled_from(["ingress", "egress"])),
            "table_id": draw(st.integers(0, 2)),
            "priority": draw(st.sampled_from([50, 100])),
            "logical_datapath": one(None if on_group else draw(st.sampled_from(DP_LIST))),
            "logical_dp_group": one(draw(st.sampled_from(GROUPS)) if on_group else None),
        },
    )


def group(n: int, dps: frozenset[str]) -> RowView:
    return RowView("Logical_DP_Group", GROUPS[n], {"datapaths": dps})


def targets_afresh(
    rows: dict[str, RowView],
    groups: dict[str, RowView],
    local: dict[str, int],
    elsewhere: frozenset[str],
) -> tuple[list[RowView], dict[str, list[int]]]:
    """The controller's pass over every Logical_Flow row, before it was incremental."""
    dp_of: dict[str, list[int]] = {}
    out = []
    for row in rows.values():
        if elsewhere:
            port = pipeline_port(row["pipeline"], row["match"])
            if port is not None and port in elsewhere:
                continue
        dp = row.one("logical_datapath")
        if dp is not None:
            targets = [dp]
        else:
            g = row.one("logical_dp_group")
            targets = list(groups[g]["datapaths"]) if g in groups else []
        keys = [local[t] for t in targets if t in local]
        if keys:
            dp_of[row.uuid] = keys
            out.append(row)
    return out, dp_of


def flows_key(flows: list[Flow]) -> Counter[tuple[str, str]]:
    return Counter((str(f), f.cookie) for f in flows)


ports_maps = st.fixed_dictionaries(
    {}, optional={p: st.integers(1, 3) for p in [*PORTS, "_MC_flood"]}
).map(lambda m: {k: v for k, v in m.items()})

steps_lflows = st.lists(
    st.one_of(
        st.tuples(st.just("row"), st.integers(0, 7)),
        st.tuples(st.just("delete"), st.integers(0, 7)),
        st.tuples(st.just("group"), st.integers(0, 1), st.sets(st.sampled_from(DP_LIST))),
        st.tuples(st.just("local"), st.sets(st.sampled_from(DP_LIST))),
        st.tuples(st.just("elsewhere"), st.sets(st.sampled_from(PORTS))),
        st.tuples(st.just("ports"), st.sampled_from(DP_LIST), ports_maps),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=100, deadline=None)
@given(st.data(), steps_lflows)
def test_logical_flows_as_computed_afresh(data: Any, steps: list[Any]) -> None:
    targets, cache = LflowTargets(), LflowCache()
    rows: dict[str, RowView] = {}
    groups = {g: group(i, frozenset(DP_LIST[:2])) for i, g in enumerate(GROUPS)}
    local = dict(list(DPS.items())[:2])
    elsewhere: frozenset[str] = frozenset()
    port_maps: dict[int, dict[str, int]] = {key: {} for key in DPS.values()}
    for step in steps:
        if step[0] == "row":
            new = data.draw(lflow(step[1]))
            targets.note(RowEvent("Logical_Flow", new.uuid, rows.get(new.uuid), new))
            rows[new.uuid] = new
        elif step[0] == "delete":
            old = rows.pop(uuid(300 + step[1]), None)
            if old is not None:
                targets.note(RowEvent("Logical_Flow", old.uuid, old, None))
        elif step[0] == "group":
            new = group(step[1], frozenset(step[2]))
            targets.note(RowEvent("Logical_DP_Group", new.uuid, groups[new.uuid], new))
            groups[new.uuid] = new
        elif step[0] == "local":
            local = {dp: DPS[dp] for dp in step[1]}
        elif step[0] == "elsewhere":
            elsewhere = frozenset(step[1])
        else:
            port_maps = {**port_maps, DPS[step[1]]: step[2]}  # (a new map: never changed)
        changed = targets.update(rows, groups, local, elsewhere)
        got = cache.update(targets.targets, changed, port_maps)
        rows_afresh, dp_of = targets_afresh(rows, groups, local, elsewhere)
        assert {u: (r, sorted(k)) for u, (r, k) in targets.targets.items()} == {
            r.uuid: (r, sorted(dp_of[r.uuid])) for r in rows_afresh
        }
        assert flows_key(got) == flows_key(LflowCache().flows(rows_afresh, dp_of, port_maps))


def test_an_unchanged_round_gives_back_the_same_list() -> None:
    targets, cache = LflowTargets(), LflowCache()
    row = RowView(
        "Logical_Flow",
        uuid(300),
        {"match": 'outport == "p1"', "actions": "next;", "pipeline": "egress", "table_id": 0,
         "priority": 50, "logical_datapath": one(DP_LIST[0]), "logical_dp_group": one(None)},
    )  # fmt: skip
    local = {DP_LIST[0]: 10}
    ports = {10: {"p1": 1}}
    changed = targets.update({row.uuid: row}, {}, local, frozenset())
    first = cache.update(targets.targets, changed, ports)
    changed = targets.update({row.uuid: row}, {}, local, frozenset())
    again = cache.update(targets.targets, changed, {10: {"p1": 1}})
    assert again is first and cache.stats.compiled == 1
    # another key for the port the flow names: compiled again
    third = cache.update(targets.targets, set(), {10: {"p1": 2}})
    assert third is not first and cache.stats.compiled == 2


# ---------------------------------------------------------------- OVS backend


class FakeConn:
    def __init__(self) -> None:
        self.xid = 0
        self.sent: list[bytes] = []
        self.fail = False

    def next_xid(self) -> int:
        self.xid += 1
        return self.xid

    async def transact(self, messages: list[bytes]) -> dict[int, str]:
        if self.fail:
            self.fail = False
            raise ConnectionError("switch went away")
        self.sent += messages
        return {}


def _pool() -> list[Flow]:
    flows = []
    for i in range(6):
        flows.append(Flow.make(65, 100, {"metadata": 2, "outport": i}, [Output(i)], "00000001"))
    # the same text as flows[0] from another object; the same match as flows[1], other actions
    flows.append(Flow.make(65, 100, {"metadata": 2, "outport": 0}, [Output(0)], "00000001"))
    flows.append(Flow.make(65, 100, {"metadata": 2, "outport": 1}, [Resubmit(66)], "00000001"))
    flows.append(Flow.make(38, 100, {"metadata": 2, "outport": 9}, [Tunnel("hv2", "1.1.1.1")]))
    return flows


POOL = _pool()


def _texts(flows: list[Flow]) -> set[str]:
    out = set()
    for f in flows:
        try:
            out.add(flow_text(f))
        except UnsupportedFlow:
            pass
    return out


def _decode(message: bytes) -> tuple[int, str]:
    """(command, flow text) of a flow_mod the backend sent (a flow of POOL; a delete names
    only the match, so its text is that of the first flow of the pool with the match)."""
    xid = ofwire.HEADER.unpack_from(message)[3]
    command = message[25]
    for flow in POOL:
        cookie = flow_cookie(flow) if command == ofwire.OFPFC_ADD else 0
        if _texts([flow]) and ofwire.flow_mod(flow, command, xid, cookie) == message:
            return command, flow_text(flow)
    raise AssertionError("not a flow_mod of the pool")


def _unbundle(messages: list[bytes]) -> list[bytes]:
    if messages and messages[0][1] == ofwire.OFPT_BUNDLE_CONTROL:
        return [m[16:] for m in messages[1:-1]]
    return messages


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.integers(0, len(POOL) - 1), max_size=9), st.booleans()),
        min_size=1,
        max_size=12,
    )
)
def test_the_switch_gets_exactly_the_difference(installs: list[tuple[list[int], bool]]) -> None:
    conn = FakeConn()
    backend: Any = OvsBackend("hv1", "192.0.2.1", ovs=None)  # type: ignore[arg-type]
    backend._conn, backend._full, backend._tlv_done = conn, False, True
    switch: dict[str, str] = {}  # what the switch holds: match -> flow text
    for picks, fail in installs:
        if 1 in picks:  # (POOL[7] has POOL[1]'s match: the switch would keep one)
            picks = [i for i in picks if i != 7]
        flows = [POOL[i] for i in picks]
        conn.fail = fail
        try:
            asyncio.run(backend.install(flows))
        except ConnectionError:
            assert set(backend.installed) == set(switch.values())
            continue
        for command, text in map(_decode, _unbundle(conn.sent)):
            if command == ofwire.OFPFC_ADD:
                switch[_match_of(text)] = text  # (an ADD replaces the flow of its match)
            else:
                del switch[_match_of(text)]
        conn.sent.clear()
        assert set(backend.installed) == _texts(flows) == set(switch.values())
        assert backend.n_flows == len(switch)


def _match_of(text: str) -> str:
    return text.split(",actions=")[0].split(",", 1)[1]
