"""Registering this chassis in the Southbound database: Chassis, Encap, Chassis_Private."""

from __future__ import annotations

from dataclasses import dataclass

from pyovn.ovsdb.client.client import OvsdbClient
from pyovn.ovsdb.client.txn import Txn


@dataclass
class ChassisConfig:
    name: str
    hostname: str
    encap_type: str
    encap_ip: str
    port: int = 6081

    def encap_options(self) -> dict[str, str]:
        options = {"csum": "true"}
        if self.port != 6081:
            options["dst_port"] = str(self.port)
        return options


async def register_chassis(sb: OvsdbClient, config: ChassisConfig) -> None:
    """Create or correct this chassis' rows (a no-op when they are already right)."""

    def build(txn: Txn) -> None:
        chassis = sb.find_one("Chassis", name=config.name)
        encap_row = {
            "type": config.encap_type,
            "ip": config.encap_ip,
            "chassis_name": config.name,
            "options": config.encap_options(),
        }
        if chassis is None:
            encap = txn.insert("Encap", encap_row)
            uuid = txn.insert(
                "Chassis",
                {
                    "name": config.name,
                    "hostname": config.hostname,
                    "encaps": [encap],
                    "other_config": {"datapath-type": "sim"},
                },
            )
        else:
            uuid = chassis.uuid
            encaps = [sb.get("Encap", e) for e in chassis["encaps"]]
            ok = (
                len(encaps) == 1
                and encaps[0] is not None
                and all(encaps[0][k] == v for k, v in encap_row.items())
            )
            if not ok:
                encap = txn.insert("Encap", encap_row)
                txn.update("Chassis", chassis.uuid, {"encaps": [encap]})
            if chassis["hostname"] != config.hostname:
                txn.update("Chassis", chassis.uuid, {"hostname": config.hostname})
        private = sb.find_one("Chassis_Private", name=config.name)
        if private is None:
            txn.insert("Chassis_Private", {"name": config.name, "chassis": uuid})
        elif private.one("chassis") != uuid:
            txn.update("Chassis_Private", private.uuid, {"chassis": uuid})

    await sb.transact(build)
