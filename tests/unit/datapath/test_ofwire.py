"""OpenFlow 1.5 encoding of the flow IR (pyovn.datapath.ofwire): message framing, matches
with their prerequisites first, the actions' sizes; and the OVS backend's diff of desired
against installed flows into flow_mods. (tests/interop/test_ofwire_interop.py checks every
encoding against ovs-ofctl.)"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from pyovn.datapath import ofwire
from pyovn.datapath.flows import (
    Clone,
    Flow,
    FromTunnel,
    Move,
    Output,
    PopVlan,
    PushVlan,
    Resubmit,
    SetField,
    Tunnel,
)
from pyovn.datapath.ovs import OvsBackend


def oxm_fields(msg: bytes) -> list[tuple[int, int, bool]]:
    """(class, field, hasmask) of a flow_mod's match entries, in order."""
    mtype, mlen = struct.unpack_from("!HH", msg, 48)
    assert mtype == 1
    out, pos = [], 52
    while pos < 48 + mlen:
        (header,) = struct.unpack_from("!I", msg, pos)
        out.append((header >> 16, (header >> 9) & 0x7F, bool(header & 0x100)))
        pos += 4 + (header & 0xFF)
    return out


def test_flow_mod_header_and_padding() -> None:
    flow = Flow.make(8, 100, {"metadata": 2}, [Resubmit(9)])
    msg = ofwire.flow_mod(flow, xid=7, cookie=0xABC)
    version, kind, length, xid = struct.unpack_from("!BBHI", msg)
    assert (version, kind, length, xid) == (6, ofwire.OFPT_FLOW_MOD, len(msg), 7)
    assert len(msg) % 8 == 0
    cookie, _, table, command, _, _, priority = struct.unpack_from("!QQBBHHH", msg, 8)
    assert (cookie, table, command, priority) == (0xABC, 8, ofwire.OFPFC_ADD, 100)


def test_prerequisites_come_first() -> None:
    flow = Flow.make(
        9,
        50,
        {"metadata": 2, "eth.type": 0x800, "ip.proto": 6, "tcp.dst": 80, "arp.op": 1},
        [],
    )
    fields = oxm_fields(ofwire.flow_mod(flow))
    assert fields[0] == (0x8000, 5, False)  # eth_type
    assert fields[1] == (0x8000, 10, False)  # ip_proto
    assert (0x8000, 14, False) in fields[2:]  # tcp_dst after both


def test_masked_match_and_nxm_fields() -> None:
    flow = Flow.make(0, 100, {"in_port": 3, "vlan.tci": (0, 0x1000), "flags": (0, 1)}, [])
    fields = oxm_fields(ofwire.flow_mod(flow))
    assert (0x0000, 4, True) in fields  # NXM_OF_VLAN_TCI, masked
    assert (0x0001, 10, True) in fields  # reg10 (flags), masked
    assert (0x8000, 0, False) in fields  # OXM in_port


def test_action_sizes_are_multiples_of_8() -> None:
    actions = (
        SetField("eth.src", 0x0A0000000011),
        SetField("flags", 1, 1),
        Move("eth.src", 0, "eth.dst", 0, 48),
        Move("inport", 0, "swap", 0, 32),
        Move("swap", 0, "outport", 0, 32),
        PushVlan(10),
        PopVlan(),
        Output(3),
        Tunnel("hv2", "192.0.2.2", port=5),
        FromTunnel(),
        Clone((SetField("outport", 1), Resubmit(39))),
    )
    data = ofwire.actions_bytes(actions)
    pos = 0
    while pos < len(data):
        _, length = struct.unpack_from("!HH", data, pos)
        assert length >= 8 and length % 8 == 0
        pos += length
    assert pos == len(data)


def test_delete_strict_has_no_instructions() -> None:
    flow = Flow.make(38, 100, {"metadata": 2, "outport": 3}, [Output(4)])
    delete = ofwire.flow_mod(flow, ofwire.OFPFC_DELETE_STRICT)
    add = ofwire.flow_mod(flow)
    assert len(delete) < len(add)
    assert delete[25] == ofwire.OFPFC_DELETE_STRICT


def test_split_messages_keeps_partial_tail() -> None:
    one = ofwire.barrier(1)
    two = ofwire.echo_reply(6, 2, b"hi")
    buffer = bytearray(one + two[:5])
    msgs = ofwire.split_messages(buffer)
    assert [(m[1], m[2]) for m in msgs] == [(ofwire.OFPT_BARRIER_REQUEST, 1)]
    buffer += two[5:]
    assert ofwire.split_messages(buffer) == [(6, ofwire.OFPT_ECHO_REPLY, 2, b"hi")]
    assert not buffer


def test_version_negotiation() -> None:
    ours = (0x01, 0x04, 0x05, 0x06)
    hello = ofwire.hello(ours)
    assert ofwire.negotiated_version(hello[8:], hello[0], ours) == 6
    only13 = struct.pack("!HHI", 1, 8, 1 << 4)
    assert ofwire.negotiated_version(only13, 4, ours) == 4
    assert ofwire.negotiated_version(b"", 2, ours) == 1  # no bitmap: up to its version


class FakeConn:
    """Records what each transact sent; ``reject(messages)`` gives the switch's errors."""

    def __init__(self, reject: Any = None) -> None:
        self.sent: list[bytes] = []
        self.batches: list[list[bytes]] = []
        self.xid = 100
        self.reject = reject

    def next_xid(self) -> int:
        self.xid += 1
        return self.xid

    async def transact(self, messages: list[bytes]) -> dict[int, str]:
        self.batches.append(messages)
        self.sent = _unbundle(messages)
        return self.reject(messages) if self.reject is not None else {}


def _unbundle(messages: list[bytes]) -> list[bytes]:
    """The flow_mods of one bundle (open, adds, commit), or the messages as they are."""
    if not messages or messages[0][1] != ofwire.OFPT_BUNDLE_CONTROL:
        return messages
    return [m[16:] for m in messages[1:-1]]


def _backend(conn: FakeConn) -> Any:
    backend: Any = OvsBackend("hv1", "192.0.2.1", ovs=None)  # type: ignore[arg-type]
    backend._conn = conn
    backend._full = False
    backend._tlv_done = True
    return backend


def test_changes_go_as_one_atomic_bundle() -> None:
    conn = FakeConn()
    backend = _backend(conn)
    a = Flow.make(65, 100, {"metadata": 2, "outport": 1}, [Output(1)])
    b = Flow.make(65, 100, {"metadata": 2, "outport": 2}, [Output(2)])
    asyncio.run(_install(backend, [a, b]))
    (batch,) = conn.batches
    kinds = [(m[1], struct.unpack_from("!IHH", m, 8)) for m in (batch[0], batch[-1])]
    bundle_id = kinds[0][1][0]
    flags = ofwire.OFPBF_ATOMIC | ofwire.OFPBF_ORDERED
    assert kinds == [
        (ofwire.OFPT_BUNDLE_CONTROL, (bundle_id, ofwire.OFPBCT_OPEN_REQUEST, flags)),
        (ofwire.OFPT_BUNDLE_CONTROL, (bundle_id, ofwire.OFPBCT_COMMIT_REQUEST, flags)),
    ]
    adds = batch[1:-1]
    assert len(adds) == 2
    for add in adds:
        version, kind, length, xid = ofwire.HEADER.unpack_from(add)
        assert (version, kind, length) == (6, ofwire.OFPT_BUNDLE_ADD_MESSAGE, len(add))
        assert struct.unpack_from("!I2xH", add, 8) == (bundle_id, flags)
        inner = ofwire.HEADER.unpack_from(add, 16)
        assert inner[1] == ofwire.OFPT_FLOW_MOD and inner[3] == xid  # the message's own xid
        assert inner[2] == len(add) - 16
    assert backend.n_bundles == 1 and len(backend.installed) == 2


def test_a_rejected_bundle_is_sent_again_flow_by_flow() -> None:
    """One bad flow must not keep the good ones out: the atomic bundle is refused as a
    whole, then the flow_mods go one by one and only the bad one is recorded as failed."""
    bad_xid: list[int] = []

    def reject(messages: list[bytes]) -> dict[int, str]:
        flow_mods = _unbundle(messages)
        xid = ofwire.HEADER.unpack_from(flow_mods[1])[3]  # the second flow is refused
        bad_xid.append(xid)
        errors = {xid: "OpenFlow error type 5 code 1"}
        if messages[0][1] == ofwire.OFPT_BUNDLE_CONTROL:  # and the commit with it
            errors[ofwire.HEADER.unpack_from(messages[-1])[3]] = "bundle failed"
        return errors

    conn = FakeConn(reject)
    backend = _backend(conn)
    a = Flow.make(65, 100, {"metadata": 2, "outport": 1}, [Output(1)])
    b = Flow.make(65, 100, {"metadata": 2, "outport": 2}, [Output(2)])
    asyncio.run(_install(backend, [a, b]))
    assert len(conn.batches) == 2
    assert conn.batches[1][0][1] == ofwire.OFPT_FLOW_MOD  # the retry: plain flow_mods
    assert list(backend.failed.values()) == ["OpenFlow error type 5 code 1"]
    assert backend.bundles  # the switch takes bundles; only a flow was bad


def test_a_switch_without_bundles_gets_flow_mods() -> None:
    def reject(messages: list[bytes]) -> dict[int, str]:
        if messages[0][1] == ofwire.OFPT_BUNDLE_CONTROL:
            return {ofwire.HEADER.unpack_from(messages[0])[3]: "bad request"}
        return {}

    conn = FakeConn(reject)
    backend = _backend(conn)
    asyncio.run(_install(backend, [Flow.make(65, 100, {"metadata": 2}, [Output(1)])]))
    assert not backend.bundles and not backend.failed
    asyncio.run(_install(backend, [Flow.make(65, 100, {"metadata": 3}, [Output(1)])]))
    assert [b[0][1] for b in conn.batches] == [
        ofwire.OFPT_BUNDLE_CONTROL,
        ofwire.OFPT_FLOW_MOD,
        ofwire.OFPT_FLOW_MOD,
    ]


def test_backend_sends_only_the_difference() -> None:
    conn = FakeConn()
    backend = _backend(conn)
    keep = Flow.make(38, 100, {"metadata": 2, "outport": 1}, [Resubmit(39)])
    changed = Flow.make(65, 100, {"metadata": 2, "outport": 1}, [Output(1)])
    gone = Flow.make(65, 100, {"metadata": 2, "outport": 2}, [Output(2)])
    asyncio.run(_install(backend, [keep, changed, gone]))
    backend_installed = set(backend.installed)
    changed2 = Flow.make(65, 100, {"metadata": 2, "outport": 1}, [Output(7)])
    new = Flow.make(65, 100, {"metadata": 2, "outport": 3}, [Output(3)])
    asyncio.run(_install(backend, [keep, changed2, new]))
    commands = [m[25] for m in conn.sent]
    # "gone" deleted; "changed" replaced by its ADD (no delete); "new" added
    assert sorted(commands) == [ofwire.OFPFC_ADD, ofwire.OFPFC_ADD, ofwire.OFPFC_DELETE_STRICT]
    assert len(backend.installed) == 3 and backend.installed.keys() != backend_installed


async def _install(backend: Any, flows: list[Flow]) -> None:
    await backend.install(flows)
