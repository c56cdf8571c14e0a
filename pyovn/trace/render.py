"""Text forms of a trace, laid out as ovn-trace lays out its own.

* detailed: a section per pipeline, a line per table visited, the actions under it. A node is
  indented under its parent unless it is the last one there and is not a plain action ("tail
  recursion": the next table after ``next;`` stays at the same level), as in ovn-trace.
* summary: the pipelines as nested ``name { ... };`` blocks holding the actions run.
* minimal: only what the packet becomes (header changes reduced to constants, deliveries as
  ``output("port");``, errors), nested only inside ``clone { }`` / ``arp { }`` blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyovn.trace.tree import TERMINAL, TITLED, Kind, Node, deep_recursion

MODES = ("detailed", "summary", "minimal")
_BANNERS = {
    "detailed": "# Detailed trace.",
    "summary": "# Summary trace.",
    "minimal": "# Minimal trace.",
}


def render_detailed(nodes: Sequence[Node]) -> str:
    out: list[str] = []
    _details(nodes, 0, out, root=True)
    return "".join(line + "\n" for line in out)


def _details(nodes: Sequence[Node], level: int, out: list[str], root: bool = False) -> None:
    for index, node in enumerate(nodes):
        if node.kind is Kind.MODIFY:
            continue
        if root and node.kind is Kind.HYPERVISOR:
            out.extend(("", node.text))
            continue
        more = index != len(nodes) - 1 or node.always_indent or node.kind in TERMINAL
        indent = " " * 4 * (level + more)
        if node.kind in TITLED:
            out.append("")
        out.append(indent + node.text)
        if node.kind in TITLED:
            out.append(indent + "-" * len(node.text))
        _details(node.subs, level + 2 * more, out)


def _prune_summary(nodes: Iterable[Node]) -> list[Node]:
    kept: list[Node] = []
    for node in nodes:
        if node.kind in (Kind.MODIFY, Kind.NOTE):
            continue
        if node.kind is Kind.TABLE:
            kept.extend(_prune_summary(node.subs))
            continue
        if node.kind is Kind.ACTION and node.text.startswith("next("):
            continue
        kept.append(Node(node.kind, node.text, _prune_summary(node.subs)))
    return kept


def _prune_minimal(nodes: Iterable[Node]) -> list[Node]:
    kept: list[Node] = []
    for node in nodes:
        if node.kind in (Kind.MODIFY, Kind.ERROR):
            kept.append(Node(node.kind, node.text))
        elif node.kind in (Kind.PIPELINE, Kind.TABLE):
            kept.extend(_prune_minimal(node.subs))
        elif node.kind is Kind.TRANSFORMATION:
            subs = _prune_minimal(node.subs)
            if subs:
                kept.append(Node(node.kind, node.text, subs))
    return kept


def _blocks(nodes: Sequence[Node], level: int, out: list[str]) -> None:
    for node in nodes:
        line = " " * 4 * level + node.text
        if node.subs:
            out.append(line + " {")
            _blocks(node.subs, level + 1, out)
            line = " " * 4 * level + "}"
        out.append(line if node.kind is Kind.ACTION else line + ";")


def render_summary(nodes: Sequence[Node]) -> str:
    out: list[str] = []
    _blocks(_prune_summary(nodes), 0, out)
    return "".join(line + "\n" for line in out)


def render_minimal(nodes: Sequence[Node]) -> str:
    out: list[str] = []
    _blocks(_prune_minimal(nodes), 0, out)
    return "".join(line + "\n" for line in out)


_RENDERERS = {
    "detailed": render_detailed,
    "summary": render_summary,
    "minimal": render_minimal,
}


def normalize_modes(modes: str | Iterable[str]) -> tuple[str, ...]:
    """``"all"``, one mode or several, in ovn-trace's order (detailed, summary, minimal)."""
    wanted = {modes} if isinstance(modes, str) else set(modes)
    if "all" in wanted:
        wanted = set(MODES)
    unknown = wanted - set(MODES)
    if unknown:
        raise ValueError(f"unknown trace output form(s): {', '.join(sorted(unknown))}")
    return tuple(m for m in MODES if m in wanted) or ("detailed",)


def render(header: str, nodes: Sequence[Node], modes: str | Iterable[str] = "detailed") -> str:
    """The full output: the ``# flow`` header line, then each form (with a banner if several)."""
    chosen = normalize_modes(modes)
    parts = [f"# {header}\n"]
    with deep_recursion():
        for mode in chosen:
            if len(chosen) > 1:
                parts.append(_BANNERS[mode] + "\n")
            parts.append(_RENDERERS[mode](nodes))
    return "".join(parts)
