"""The logical switch pipeline: every stage declared once, with its pipeline and table.

Names follow ovn-northd(8) where the stage has a counterpart there; pyovn's switch pipeline
is the L2 subset (port security, ARP responder, destination lookup), so table numbers are
pyovn's own. Everything else (northd flows, golden dumps, trace) refers to stages by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Pipeline(Enum):
    INGRESS = "ingress"
    EGRESS = "egress"


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    pipeline: Pipeline
    table: int
    summary: str


_SWITCH_INGRESS = (
    ("ls_in_port_sec_l2", "admission control and L2 ingress port security"),
    ("ls_in_arp_rsp", "ARP responder for known addresses"),
    ("ls_in_l2_lkup", "destination lookup by Ethernet address"),
    ("ls_in_l2_unknown", "destinations not found: unknown-address ports or drop"),
)
_SWITCH_EGRESS = (("ls_out_port_sec_l2", "L2 egress port security"),)

SWITCH_STAGES: tuple[Stage, ...] = tuple(
    Stage(name, Pipeline.INGRESS, i, summary) for i, (name, summary) in enumerate(_SWITCH_INGRESS)
) + tuple(
    Stage(name, Pipeline.EGRESS, i, summary) for i, (name, summary) in enumerate(_SWITCH_EGRESS)
)

BY_NAME: dict[str, Stage] = {s.name: s for s in SWITCH_STAGES}


def stage(name: str) -> Stage:
    return BY_NAME[name]


def stage_at(pipeline: Pipeline | str, table: int) -> Stage | None:
    """The stage at a pipeline's table number (None if there is none)."""
    pipe = pipeline if isinstance(pipeline, Pipeline) else Pipeline(pipeline)
    for s in SWITCH_STAGES:
        if s.pipeline is pipe and s.table == table:
            return s
    return None


def n_tables(pipeline: Pipeline) -> int:
    return sum(1 for s in SWITCH_STAGES if s.pipeline is pipeline)


PORT_SEC_L2 = stage("ls_in_port_sec_l2")
ARP_RSP = stage("ls_in_arp_rsp")
L2_LKUP = stage("ls_in_l2_lkup")
L2_UNKNOWN = stage("ls_in_l2_unknown")
OUT_PORT_SEC_L2 = stage("ls_out_port_sec_l2")

# Multicast groups northd creates for every switch, with OVN's names and tunnel keys.
MC_FLOOD = "_MC_flood"
MC_UNKNOWN = "_MC_unknown"
MC_FLOOD_KEY = 32768
MC_UNKNOWN_KEY = 32769
