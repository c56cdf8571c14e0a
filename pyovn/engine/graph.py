"""The engine graph: runs nodes in dependency order, incrementally where handlers allow.

``Engine.run(force_recompute=False)`` visits every node once, in topological order; a node
whose inputs did not change is skipped. ``stats_text`` and ``dot`` report on the graph.
"""

from __future__ import annotations

from pyovn.engine.node import Handled, InputNode, Node


class Engine:
    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = _toposort(nodes)
        self.runs = 0

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def run(self, force_recompute: bool = False) -> bool:
        """One engine iteration. Returns True if any non-input node's data changed.

        Input nodes forget their changes after the run; other nodes keep what they tracked
        (e.g. the keys that changed) until the next run starts, for the caller to read."""
        self.runs += 1
        any_changed = False
        for node in self.nodes:
            if not isinstance(node, InputNode):
                node.clear_tracked()  # what they tracked stays readable until the next run
        for node in self.nodes:
            if isinstance(node, InputNode):
                node.changed = node.pending or force_recompute
                node.pending = False
                continue
            changed_inputs = [(n, h) for n, h in node.inputs if n.changed]
            if not changed_inputs and not force_recompute:
                node.changed = False
                continue
            node.changed = self._run_node(node, changed_inputs, force_recompute)
            any_changed = any_changed or node.changed
        for node in self.nodes:
            if isinstance(node, InputNode):
                node.clear_tracked()
        return any_changed

    @staticmethod
    def _run_node(node: Node, changed_inputs: list, force: bool) -> bool:
        if force or any(h is None for _, h in changed_inputs):
            node.stats.recompute += 1
            return node.recompute()
        updated = False
        for inp, handler in changed_inputs:
            result = handler(inp)
            if result is Handled.UNHANDLED:
                node.stats.recompute += 1
                return node.recompute()
            updated = updated or result is Handled.UPDATED
        node.stats.compute += 1
        return updated

    def stats_text(self) -> str:
        lines = []
        for node in self.nodes:
            s = node.stats
            lines.append(f"Node: {node.name}")
            lines.append(f"- recompute: {s.recompute:>12}")
            lines.append(f"- compute:   {s.compute:>12}")
            lines.append(f"- cancel:    {s.cancel:>12}")
        return "\n".join(lines) + "\n"

    def dot(self) -> str:
        lines = ['digraph "Incremental-Processing-Engine" {', "    rankdir=LR;"]
        for node in self.nodes:
            lines.append(f'    {_ident(node)} [label="{node.name}"];')
            for inp, handler in node.inputs:
                style = "" if handler is not None else ' [style=dashed, label="recompute"]'
                lines.append(f"    {_ident(inp)} -> {_ident(node)}{style};")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _ident(node: Node) -> str:
    return "".join(c if c.isalnum() else "_" for c in node.name)


def _toposort(nodes: list[Node]) -> list[Node]:
    order: list[Node] = []
    state: dict[int, int] = {}

    def visit(node: Node) -> None:
        mark = state.get(id(node), 0)
        if mark == 2:
            return
        if mark == 1:
            raise ValueError(f"engine graph has a cycle through {node.name}")
        state[id(node)] = 1
        for inp, _ in node.inputs:
            visit(inp)
        state[id(node)] = 2
        order.append(node)

    for node in nodes:
        visit(node)
    return order


__all__ = ["Engine", "Handled"]
