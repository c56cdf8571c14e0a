"""IP address management: addresses from a subnet's allocation pools.

Free addresses are offered in order from a cursor; the database's unique (subnet, address)
constraint is what guarantees no address is handed out twice, so the caller retries on a
conflict.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
from collections.abc import Iterator

from pyovn.api.errors import BadRequest


def default_pools(cidr: str, gateway: str | None) -> list[dict[str, str]]:
    net = ipaddress.ip_network(cidr)
    first = net.network_address + 1
    last = net.broadcast_address - (1 if net.version == 4 else 0)
    if net.num_addresses <= 2:
        return []
    pools = []
    gw = ipaddress.ip_address(gateway) if gateway else None
    if gw is not None and first <= gw <= last:
        if gw > first:
            pools.append({"start": str(first), "end": str(gw - 1)})
        if gw < last:
            pools.append({"start": str(gw + 1), "end": str(last)})
    else:
        pools.append({"start": str(first), "end": str(last)})
    return pools


def validate_pools(cidr: str, gateway: str | None, pools: list[dict[str, str]]) -> None:
    net = ipaddress.ip_network(cidr)
    ranges = []
    for pool in pools:
        try:
            start = ipaddress.ip_address(pool["start"])
            end = ipaddress.ip_address(pool["end"])
        except (KeyError, ValueError, TypeError):
            raise BadRequest(
                "Invalid input for allocation_pools: each pool needs start and end IP addresses"
            ) from None
        if start not in net or end not in net or start > end:
            raise BadRequest(
                f"Invalid input for allocation_pools: {pool['start']}-{pool['end']}"
                f" is not a range inside {cidr}"
            )
        ranges.append((start, end))
    ranges.sort()
    for (_a0, a1), (b0, _b1) in itertools.pairwise(ranges):
        if b0 <= a1:
            raise BadRequest(f"Invalid input for allocation_pools: pools overlap at {b0}")
    if gateway is not None:
        gw = ipaddress.ip_address(gateway)
        if any(s <= gw <= e for s, e in ranges):
            raise BadRequest(
                f"Invalid input for gateway_ip: {gateway} is inside an allocation pool"
            )


def in_pools(address: str, pools: list[dict[str, str]]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(
        ipaddress.ip_address(p["start"]) <= ip <= ipaddress.ip_address(p["end"]) for p in pools
    )


def candidates(pools: list[dict[str, str]], start_at: int | None) -> Iterator[str]:
    """Every address of the pools, in order, as the API stores them; with ``start_at`` the
    ones from that address on first, then the ones below it (a cursor that wraps round)."""
    ranges, kind = _ranges(tuple((p["start"], p["end"]) for p in pools))
    if not ranges:
        return
    if start_at is None:
        start_at = ranges[0][0]
    for lo, hi in ranges:  # from the cursor to the end
        for value in range(max(lo, start_at), hi + 1):
            yield str(kind(value))
    for lo, hi in ranges:  # then what lies below it
        for value in range(lo, min(hi, start_at - 1) + 1):
            yield str(kind(value))


@functools.lru_cache(maxsize=256)
def _ranges(
    pools: tuple[tuple[str, str], ...],
) -> tuple[list[tuple[int, int]], type[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """The pools as sorted (first, last) integers, and their address class (parsed once
    per distinct set of pools: every port create asks)."""
    ranges = sorted(
        (int(ipaddress.ip_address(start)), int(ipaddress.ip_address(end))) for start, end in pools
    )
    kind = ipaddress.ip_address(pools[0][0]).__class__ if pools else ipaddress.IPv4Address
    return ranges, kind
