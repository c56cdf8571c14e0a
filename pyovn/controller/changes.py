"""Which replica changes can matter to which part of a controller round.

The controller's listener sorts each change it sees: a round recomputes the flow table, the
binding decisions, the interfaces and tunnels, or the chassis' registration only when a
change that can alter it came in since that part last ran to the end.
"""

from __future__ import annotations

from pyovn.ovsdb.client.replica import RowEvent

# changes that cannot alter the flow table: what this chassis writes back (nb_cfg)
NO_FLOW_TABLES = frozenset({"SB_Global", "Chassis_Private"})
# what register_chassis reads (but for what this chassis reports in Chassis_Private)
CHASSIS_TABLES = frozenset({"Chassis", "Encap", "Chassis_Private"})
REPORTED = frozenset({"nb_cfg", "nb_cfg_timestamp"})


def affects_flows(event: RowEvent, chassis_uuid: str | None = None) -> bool:
    """Can ``event`` change the flow table (for a Port_Binding, also any binding decision;
    for the Open_vSwitch tables, the local interfaces and tunnels)?

    Not the bindings' up flag, nor a binding passing between no chassis and this one
    (``chassis_uuid``: our claim, our release): this chassis binds or not by the same rules
    either way, and a port on no chassis or on this one gets no tunnel (nor do the
    containers it is the parent of, which go where it is until claimed). Not ovn-installed
    (an Interface's external_ids but iface-id)."""
    if event.table in NO_FLOW_TABLES:
        return False
    old, new = event.old, event.new
    if old is None or new is None:
        return True
    changed = {c for c in new if c not in old or new[c] != old[c]}
    if event.table == "Port_Binding":
        if changed <= {"up"}:
            return False
        ours = (None, chassis_uuid) if chassis_uuid is not None else (None,)
        return not (
            changed <= {"up", "chassis"}
            and old.one("chassis") in ours
            and new.one("chassis") in ours
        )
    if event.table == "Interface" and changed <= {"external_ids"}:
        return old["external_ids"].get("iface-id") != new["external_ids"].get("iface-id")
    return bool(changed)


def affects_registration(event: RowEvent) -> bool:
    """Can ``event`` (of CHASSIS_TABLES) make this chassis' registration wrong?"""
    if event.table != "Chassis_Private" or event.old is None or event.new is None:
        return True
    old, new = event.old, event.new
    return any(old[c] != new[c] for c in new if c not in REPORTED)
