"""pyovn trace: follow a packet through the logical flows of the Southbound database.

The same action registry that the controller compiles runs the packet here (each action's
``execute``), and the output has ovn-trace's three forms. Usage::

    from pyovn.trace import trace, trace_rows

    result = await trace(sb_client, "sw0", 'inport == "vm1" && eth.dst == ff:ff:ff:ff:ff:ff')
    result.delivered        # ["vm2", "vm3"]
    result.dropped          # False
    print(result.render("summary"))

    result = trace_rows(client.rows, "sw0", microflow)   # any rows(table) accessor

Modules: :mod:`.microflow` (microflow -> packet), :mod:`.packet`, :mod:`.sbview` (SB rows ->
datapaths, ports, groups, flows), :mod:`.context` (what ``Action.execute`` sees),
:mod:`.pipeline` (the runner), :mod:`.hypervisor` (container VLAN tags), :mod:`.tree`,
:mod:`.render` and :mod:`.ofp` (text forms), :mod:`.result`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyovn.trace.microflow import MicroflowError, TraceError, parse_microflow
from pyovn.trace.packet import Packet
from pyovn.trace.pipeline import Tracer, parse_ct_flags
from pyovn.trace.result import Delivery, TraceResult
from pyovn.trace.sbview import TABLES, Rows, SbView, sb_view

__all__ = [
    "TABLES",
    "Delivery",
    "MicroflowError",
    "Packet",
    "SbView",
    "TraceError",
    "TraceResult",
    "Tracer",
    "parse_ct_flags",
    "parse_microflow",
    "trace",
    "trace_rows",
]


def trace_rows(
    rows: Rows | SbView, datapath: str | None, microflow: str, *, ct: Sequence[int] = ()
) -> TraceResult:
    """Trace over a rows accessor (``rows(table) -> {uuid: row}``) or a prepared SbView.

    ``datapath`` is a name or uuid; None or "" takes the inport's datapath. ``ct`` gives the
    ct_state of successive ``ct_next`` actions (default trk|est). Raises :class:`TraceError`.
    """
    return Tracer(sb_view(rows), ct=ct).trace(datapath or "", microflow)


async def trace(
    sb: Any, datapath: str | None, microflow: str, *, ct: Sequence[int] = ()
) -> TraceResult:
    """Trace over an :class:`~pyovn.ovsdb.client.client.OvsdbClient` of OVN_Southbound (one
    not started yet is set to watch :data:`TABLES` and started), a rows accessor or an SbView."""
    from pyovn.ovsdb.client.client import OvsdbClient

    if isinstance(sb, OvsdbClient):
        if sb.replica is None:
            for table in TABLES:
                sb.watch(table)
            await sb.start()
        return trace_rows(sb.rows, datapath, microflow, ct=ct)
    return trace_rows(sb, datapath, microflow, ct=ct)
