"""VLAN tags for containers inside VMs.

A port with ``parent_name`` and ``tag_request`` > 0 asks for that tag; ``tag_request`` = 0 asks
northd to pick the lowest tag in 1..4095 unused among the ports with the same parent. A tag,
once given, stays while the port exists (it is stored in the NB ``tag`` column, so it survives a
northd restart). pyovn goes beyond OVN: two children of one parent wanting the same tag is a
conflict; the port that already held the tag (else the one whose name sorts first) keeps it,
the other gets none and an explanation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pyovn.northd.model import PortInfo

MAX_TAG = 4095


@dataclass(frozen=True, slots=True)
class TagResult:
    tag: int | None
    error: str | None = None


def allocate_tags(children: Iterable[PortInfo]) -> dict[str, TagResult]:
    """Tags for the children of ONE parent, keyed by port name."""
    ports = sorted(children, key=lambda p: p.name)
    results: dict[str, TagResult] = {}
    owner: dict[int, str] = {}

    def claim(port: PortInfo, tag: int) -> None:
        holder = owner.get(tag)
        if holder is None:
            owner[tag] = port.name
            results[port.name] = TagResult(tag)
        else:
            results[port.name] = TagResult(
                None,
                f"tag {tag} is already used by port {holder} under parent {port.parent}",
            )

    explicit = [p for p in ports if p.tag_request is not None and p.tag_request > 0]
    # ports that already hold their requested tag go first: an established tag wins
    explicit.sort(key=lambda p: (p.nb_tag != p.tag_request, p.name))
    for port in explicit:
        assert port.tag_request is not None
        if port.tag_request > MAX_TAG:
            results[port.name] = TagResult(None, f"tag_request {port.tag_request} is out of range")
            continue
        claim(port, port.tag_request)
    dynamic = [p for p in ports if p.tag_request == 0]
    keep = [p for p in dynamic if p.nb_tag is not None and 1 <= p.nb_tag <= MAX_TAG]
    keep.sort(key=lambda p: p.name)
    for port in keep:
        assert port.nb_tag is not None
        if port.nb_tag not in owner:
            owner[port.nb_tag] = port.name
            results[port.name] = TagResult(port.nb_tag)
    next_free = 1
    for port in dynamic:
        if port.name in results:
            continue
        while next_free in owner:
            next_free += 1
        if next_free > MAX_TAG:
            results[port.name] = TagResult(None, f"no free tag left under parent {port.parent}")
            continue
        owner[next_free] = port.name
        results[port.name] = TagResult(next_free)
    for port in ports:
        if port.name not in results:  # no tag_request: no tag
            results[port.name] = TagResult(None)
    return results
