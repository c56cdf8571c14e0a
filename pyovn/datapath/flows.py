"""The flow IR: what the controller computes and every datapath backend installs.

A flow matches masked field values and runs a list of actions. Field names are OVN's
logical storage fields (``eth.src``, ``vlan.tci``, ``reg0``, ``flags`` ...), plus the
physical/pipeline metadata below; ``inport``/``outport`` hold logical port *keys* here.
Tables follow OVN's physical layout (ovn-architecture(7), "Architectural Physical Life Cycle
of a Packet") with pyovn's own numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --------------------------------------------------------------------------- tables
T_PHY_TO_LOG = 0  # classify: physical port (+ VLAN) -> datapath + logical inport
T_LOG_INGRESS = 8  # + stage table number
T_REMOTE_OUTPUT = 37  # outport on another chassis: tunnel it
T_LOCAL_OUTPUT = 38  # outport here (or a multicast group): to the egress pipeline
T_CHECK_LOOPBACK = 39  # drop a packet sent back to its inport unless flags.loopback
T_LOG_EGRESS = 40  # + stage table number
T_LOG_TO_PHY = 65  # logical outport -> physical port (push a container's VLAN tag)
T_CHK_IN_PORT_SEC = 73  # check_in_port_sec(): the inport's port_security, from Port_Binding
T_CHK_OUT_PORT_SEC = 75  # check_out_port_sec(): the outport's port_security

TABLE_NAMES = {
    T_PHY_TO_LOG: "phy_to_log",
    T_REMOTE_OUTPUT: "remote_output",
    T_LOCAL_OUTPUT: "local_output",
    T_CHECK_LOOPBACK: "check_loopback",
    T_LOG_TO_PHY: "log_to_phy",
    T_CHK_IN_PORT_SEC: "chk_in_port_sec",
    T_CHK_OUT_PORT_SEC: "chk_out_port_sec",
}

# --------------------------------------------------------------------------- metadata fields
IN_PORT = "in_port"  # physical (OpenFlow) port number the packet arrived on
METADATA = "metadata"  # logical datapath key
INPORT = "inport"  # logical ingress port key (OVN: reg14)
OUTPORT = "outport"  # logical egress port key (OVN: reg15)
FLAGS = "flags"
FLAG_LOOPBACK = 1  # flags bit 0: allow output back to the inport
PORT_SEC = "portsec"  # 1 bit: the verdict of the port security tables (1 = drop)

PHYSICAL_FIELDS = {IN_PORT: 32, METADATA: 64, INPORT: 32, OUTPORT: 32}


# --------------------------------------------------------------------------- actions
@dataclass(frozen=True, slots=True)
class SetField:
    """field = (field & ~mask) | (value & mask)."""

    field: str
    value: int
    mask: int = -1

    def __str__(self) -> str:
        m = "" if self.mask == -1 else f"/{self.mask:#x}"
        return f"set_field:{self.value:#x}{m}->{self.field}"


@dataclass(frozen=True, slots=True)
class Move:
    """Copy n_bits from src[src_ofs...] to dst[dst_ofs...]."""

    src: str
    src_ofs: int
    dst: str
    dst_ofs: int
    n_bits: int

    def __str__(self) -> str:
        return (
            f"move:{self.src}[{self.src_ofs}..{self.src_ofs + self.n_bits - 1}]->"
            f"{self.dst}[{self.dst_ofs}..{self.dst_ofs + self.n_bits - 1}]"
        )


@dataclass(frozen=True, slots=True)
class Resubmit:
    table: int

    def __str__(self) -> str:
        return f"resubmit(,{self.table})"


@dataclass(frozen=True, slots=True)
class Output:
    """Send out of a physical port (a VIF)."""

    port: int

    def __str__(self) -> str:
        return f"output:{self.port}"


@dataclass(frozen=True, slots=True)
class PushVlan:
    vid: int

    def __str__(self) -> str:
        return f"push_vlan:0x8100,set_field:{self.vid | 0x1000}->vlan_tci"


@dataclass(frozen=True, slots=True)
class PopVlan:
    def __str__(self) -> str:
        return "pop_vlan"


@dataclass(frozen=True, slots=True)
class Tunnel:
    """Encapsulate to a remote chassis: Geneve VNI = datapath key, OVN option carries the
    logical inport and outport keys (both taken from the packet's metadata fields)."""

    chassis: str
    ip: str
    encap: str = "geneve"
    port: int = 0  # the tunnel's physical port (OVS backend); 0 in the simulator

    def __str__(self) -> str:
        return f"tunnel({self.encap}:{self.ip},chassis={self.chassis})"


@dataclass(frozen=True, slots=True)
class FromTunnel:
    """A packet from a peer chassis: take the datapath key and the logical in/out ports
    from the tunnel metadata (the simulator set them already when the packet arrived)."""

    def __str__(self) -> str:
        return "from_tunnel"


@dataclass(frozen=True, slots=True)
class Clone:
    """Run nested actions on a copy of the packet; the original continues unchanged."""

    actions: tuple[Action, ...]

    def __str__(self) -> str:
        return "clone(" + ",".join(str(a) for a in self.actions) + ")"


@dataclass(frozen=True, slots=True)
class Drop:
    def __str__(self) -> str:
        return "drop"


Action = (
    SetField | Move | Resubmit | Output | PushVlan | PopVlan | Tunnel | FromTunnel | Clone | Drop
)


# --------------------------------------------------------------------------- flows
@dataclass(frozen=True, slots=True)
class Flow:
    table: int
    priority: int
    match: tuple[tuple[str, int, int], ...]  # (field, value, mask), sorted by field
    actions: tuple[Action, ...]
    cookie: str = field(default="", compare=False)  # where it came from (lflow uuid ...)

    @classmethod
    def make(
        cls,
        table: int,
        priority: int,
        match: dict[str, tuple[int, int] | int],
        actions: list[Action] | tuple[Action, ...],
        cookie: str = "",
    ) -> Flow:
        items = []
        for name, spec in match.items():
            if isinstance(spec, tuple):
                items.append((name, spec[0], spec[1]))
            else:
                items.append((name, spec, -1))
        return cls(table, priority, tuple(sorted(items)), tuple(actions), cookie)

    def matches(self, fields: dict[str, int]) -> bool:
        for name, value, mask in self.match:
            if fields.get(name, 0) & mask != value & mask:
                return False
        return True

    def __str__(self) -> str:
        parts = [f"table={self.table}", f"priority={self.priority}"]
        for name, value, mask in self.match:
            parts.append(f"{name}={value:#x}" + ("" if mask == -1 else f"/{mask:#x}"))
        acts = ",".join(str(a) for a in self.actions) or "drop"
        return ",".join(parts) + f" actions={acts}"
