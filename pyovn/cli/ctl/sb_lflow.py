"""ovn-sbctl's lflow-list (alias dump-flows) and count-flows.

Flows are grouped by datapath (sorted by name, then UUID) and pipeline (ingress, then
egress) and sorted by table, priority (highest first), match and actions, as ovn-sbctl
sorts them. A flow that belongs to a datapath group is listed under every datapath of the
group. Each line reads::

      table=N (stage-name         ), priority=P    , match=(...), action=(...)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pyovn.cli.ctl.context import Ctx
from pyovn.cli.ctl.names import SB_ROW_IDS, find_record
from pyovn.cli.ctl.options import UNLIMITED_ARGS, CommandSpec
from pyovn.cli.ctl.values import CtlError, sort_key
from pyovn.cli.ctl.workdb import Key
from pyovn.ovsdb.client.replica import RowView

DATAPATH = "Datapath_Binding"
LFLOW = "Logical_Flow"
DP_GROUP = "Logical_DP_Group"
PIPELINES = ("ingress", "egress")
_HEX_RE = re.compile(r"^[0-9a-fA-F-]+$")


def _uuid_prefix(text: str) -> str | None:
    body = text[2:] if text.lower().startswith("0x") else text
    if body and _HEX_RE.match(body):
        return body.replace("-", "").lower()
    return None


def _dp_name(row: RowView) -> str:
    return str(row["external_ids"].get("name", ""))


def _dp_label(key: Key, row: RowView) -> str:
    name2 = row["external_ids"].get("name2")
    aka = f' aka "{name2}"' if name2 else ""
    return f'"{_dp_name(row)}"{aka} ({key})'


def datapath_header(key: Key, row: RowView, pipeline: str) -> str:
    return f"Datapath: {_dp_label(key, row)}  Pipeline: {pipeline}"


def _select(ctx: Ctx) -> tuple[Key | None, list[str]]:
    """The datapath named by the first argument (if it names one) and the lflow prefixes."""
    args = list(ctx.args)
    datapath = None
    if args:
        datapath = find_record(ctx.db, SB_ROW_IDS, DATAPATH, args[0], must_exist=False)
        if datapath is not None:
            args.pop(0)
    prefixes = []
    for arg in args:
        prefix = _uuid_prefix(arg)
        if prefix is None:
            raise CtlError(f"{arg} is not a UUID or the beginning of a UUID")
        prefixes.append(prefix)
    return datapath, prefixes


def flows_by_datapath(
    ctx: Ctx, datapath: Key | None, prefixes: list[str]
) -> list[tuple[Key, RowView, str, list[RowView]]]:
    """[(datapath, its row, pipeline, sorted flows)] for every non-empty listing."""
    datapaths = ctx.db.rows(DATAPATH)
    groups = ctx.db.rows(DP_GROUP)
    per_dp: dict[tuple[Key, str], list[RowView]] = {}
    for flow in ctx.db.rows(LFLOW).values():
        if prefixes:
            flat = str(flow.uuid).replace("-", "")
            if not any(flat.startswith(p) for p in prefixes):
                continue
        for dp in _flow_datapaths(flow, groups):
            if dp in datapaths and (datapath is None or dp == datapath):
                per_dp.setdefault((dp, flow["pipeline"]), []).append(flow)
    out = []
    order = sorted(datapaths.items(), key=lambda kv: (_dp_name(kv[1]), sort_key(kv[0])))
    for key, row in order:
        for pipeline in PIPELINES:
            flows = per_dp.get((key, pipeline))
            if flows:
                flows.sort(key=lambda f: (f["table_id"], -f["priority"], f["match"], f["actions"]))
                out.append((key, row, pipeline, flows))
    return out


def _flow_datapaths(flow: RowView, groups: dict[Key, RowView]) -> Iterable[Any]:
    yield from flow["logical_datapath"]
    for group in flow["logical_dp_group"]:
        row = groups.get(group)
        if row is not None:
            yield from row["datapaths"]


def _stage(flow: RowView) -> str:
    return str(flow["external_ids"].get("stage-name", ""))


def flow_line(flow: RowView, with_uuid: bool = False) -> str:
    prefix = f"uuid=0x{str(flow.uuid)[:8]}, " if with_uuid else ""
    return (
        f"  {prefix}table={flow['table_id']:<2d}({_stage(flow):<19s}), "
        f"priority={flow['priority']:<5d}, match=({flow['match']}), "
        f"action=({flow['actions']})"
    )


def cmd_lflow_list(ctx: Ctx) -> None:
    datapath, prefixes = _select(ctx)
    for key, row, pipeline, flows in flows_by_datapath(ctx, datapath, prefixes):
        ctx.line(datapath_header(key, row, pipeline))
        for flow in flows:
            ctx.line(flow_line(flow, ctx.has("--uuid")))


def cmd_count_flows(ctx: Ctx) -> None:
    datapath, _ = _select(ctx)
    total = 0
    for key, row, pipeline, flows in flows_by_datapath(ctx, datapath, []):
        ctx.line(datapath_header(key, row, pipeline))
        tables: dict[int, list[RowView]] = {}
        for flow in flows:
            tables.setdefault(flow["table_id"], []).append(flow)
        for table_id, in_table in sorted(tables.items()):
            ctx.line(f"  table={table_id:<2d}({_stage(in_table[0]):<19s}) lflows={len(in_table)}")
        ctx.line(
            f"Total number of logical flows in the datapath {_dp_label(key, row)} Pipeline: "
            f"{pipeline} = {len(flows)}"
        )
        ctx.line()
        total += len(flows)
    ctx.line(f"Total number of logical flows = {total}")


def lflow_commands() -> dict[str, CommandSpec]:
    tables = (DATAPATH, LFLOW, DP_GROUP)
    n = UNLIMITED_ARGS
    specs = [
        CommandSpec("lflow-list", 0, n, cmd_lflow_list, ("--uuid",), tables,
                    "[--uuid] lflow-list [DATAPATH] [LFLOW...]",
                    "list logical flows (of DATAPATH; LFLOW: UUID prefixes)"),
        CommandSpec("dump-flows", 0, n, cmd_lflow_list, ("--uuid",), tables,
                    "[--uuid] dump-flows [DATAPATH] [LFLOW...]", "alias for lflow-list"),
        CommandSpec("count-flows", 0, 1, cmd_count_flows, (), tables,
                    "count-flows [DATAPATH]", "count logical flows per table and datapath"),
    ]  # fmt: skip
    return {s.name: s for s in specs}
