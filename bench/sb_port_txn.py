"""CPU of one new port's Southbound transaction, in-process: the SB server's side and a
monitoring client's.

northd writes a new logical switch port as one transaction: the Port_Binding, the port
added to the switch's _MC_flood group and five Logical_Flows (port security in and out, the
ARP responder's two flows, the L2 lookup). Here it goes through the server's own code
(JSON-RPC parse, execute, log record on /dev/shm, apply, the update for three monitors —
northd and two chassis — and the reply) with no event loop and no sockets, and then each
update is applied to a client replica, as northd and the controllers do. Each port is
deleted again (untimed) so the group stays small.

    python bench/sb_port_txn.py [-n 1500]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from typing import Any

import orjson

from pyovn.ovsdb.client.replica import Replica
from pyovn.ovsdb.jsonio import dumpb
from pyovn.ovsdb.jsonrpc import Connection
from pyovn.ovsdb.schema import DatabaseSchema
from pyovn.ovsdb.server.server import OvsdbServer
from pyovn.ovsdb.server.storage import Storage
from pyovn.schemas import schema_path

DB = "OVN_Southbound"


def _flow(dp: str, pipeline: str, table: int, prio: int, match: str, actions: str) -> Any:
    row = {"logical_datapath": ["uuid", dp], "pipeline": pipeline, "table_id": table,
           "priority": prio, "match": match, "actions": actions,
           "external_ids": ["map", [["stage-hint", "8baaa22b"]]]}  # fmt: skip
    return {"op": "insert", "table": "Logical_Flow", "row": row}


def port_txn(i: int, dp: str, mc: str) -> bytes:
    name, mac, ip = (
        f"c{i}",
        f"0a:00:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
        (f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"),
    )
    pb = {"logical_port": name, "datapath": ["uuid", dp], "tunnel_key": 100 + i, "type": "",
          "options": ["map", []], "mac": ["set", [f"{mac} {ip}"]], "parent_port": "vm1",
          "tag": 10, "requested_chassis": ["set", []]}  # fmt: skip
    arp = (f"eth.dst = eth.src; eth.src = {mac}; arp.op = 2; /* ARP reply */ "
           f"arp.tha = arp.sha; arp.sha = {mac}; arp.tpa = arp.spa; arp.spa = {ip}; "
           "outport = inport; flags.loopback = 1; output;")  # fmt: skip
    ops = [
        {"op": "insert", "table": "Port_Binding", "row": pb, "uuid-name": "pb"},
        {"op": "mutate", "table": "Multicast_Group", "where": [["_uuid", "==", ["uuid", mc]]],
         "mutations": [["ports", "insert", ["set", [["named-uuid", "pb"]]]]]},
        _flow(dp, "ingress", 0, 50, f'inport == "{name}" && eth.src == {{{mac}}}', "next;"),
        _flow(dp, "ingress", 1, 50, f"arp.tpa == {ip} && arp.op == 1", arp),
        _flow(dp, "ingress", 1, 100, f'arp.tpa == {ip} && arp.op == 1 && inport == "{name}"',
              "next;"),
        _flow(dp, "ingress", 2, 50, f"eth.dst == {mac}", f'outport = "{name}"; output;'),
        _flow(dp, "egress", 0, 50, f'outport == "{name}" && eth.dst == {{{mac}}}', "output;"),
    ]  # fmt: skip
    return dumpb({"method": "transact", "params": [DB, *ops], "id": 1000 + i})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=1500, help="ports")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        schema = DatabaseSchema.from_file(schema_path("sb"))
        storage, db = Storage.create(f"{workdir}/sb.db", schema)
        server = OvsdbServer()
        server.add_database(db, storage)
        out: dict[str, list[bytes]] = {}

        def session(name: str) -> Any:
            s = server.open_session(lambda m: None, name)
            s.send_raw = lambda b: out.setdefault(name, []).append(b)
            return s

        conn = Connection(1 << 28)

        def call(s: Any, data: bytes) -> None:
            for m in conn.receive_data(data):
                server.dispatch(s, m)

        northd, mons = session("northd"), [session("hv1"), session("hv2")]
        setup = [{"op": "insert", "table": "Datapath_Binding", "row": {"tunnel_key": 1},
                  "uuid-name": "dp"},
                 {"op": "insert", "table": "Multicast_Group", "row": {
                     "datapath": ["named-uuid", "dp"], "name": "_MC_flood",
                     "tunnel_key": 32768}}]  # fmt: skip
        call(northd, dumpb({"method": "transact", "params": [DB, *setup], "id": 1}))
        dp = str(next(iter(db.tables["Datapath_Binding"].rows)))
        mc = str(next(iter(db.tables["Multicast_Group"].rows)))
        for i, s in enumerate([northd, *mons]):
            tables = {t: [{}] for t in schema.tables}
            req = {"method": "monitor_cond_since", "params": [DB, ["m", i], tables, None],
                   "id": 100 + i}  # fmt: skip
            call(s, dumpb(req))
        replica = Replica(schema)
        for t in schema.tables:
            replica.add_table(t)
        server_s = client_s = 0.0
        for i in range(args.n):
            out.clear()
            t = time.process_time()
            call(northd, port_txn(i, dp, mc))
            server_s += time.process_time() - t
            update = orjson.loads(out["hv1"][0])["params"][2]
            t = time.process_time()
            replica.apply_update(update, 2)
            client_s += time.process_time() - t
            reply = next(orjson.loads(b) for b in out["northd"] if b.startswith(b'{"result"'))
            uuids = [r["uuid"][1] for r in reply["result"] if "uuid" in r]
            ops = [
                {
                    "op": "delete",
                    "table": "Port_Binding",
                    "where": [["_uuid", "==", ["uuid", uuids[0]]]],
                },
                {
                    "op": "mutate",
                    "table": "Multicast_Group",
                    "where": [["_uuid", "==", ["uuid", mc]]],
                    "mutations": [["ports", "delete", ["set", [["uuid", uuids[0]]]]]],
                },
            ]
            ops += [{"op": "delete", "table": "Logical_Flow",
                     "where": [["_uuid", "==", ["uuid", u]]]} for u in uuids[1:]]  # fmt: skip
            out.clear()
            call(northd, dumpb({"method": "transact", "params": [DB, *ops], "id": 9}))
            replica.apply_update(orjson.loads(out["hv1"][0])["params"][2], 2)
        print(f"server: {server_s / args.n * 1e6:.0f} us per port transaction "
              "(parse, execute, log, apply, 3 monitors' update, reply)")  # fmt: skip
        print(f"client: {client_s / args.n * 1e6:.0f} us to apply its update to a replica")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
