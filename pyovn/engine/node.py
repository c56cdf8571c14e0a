"""Incremental-processing engine nodes, in the style of OVN's inc-engine.

A node holds data computed from its inputs. When inputs changed, the engine calls the node's
change handler for each changed input; a handler returns ``Handled.UPDATED`` (this node's data
changed), ``Handled.UNCHANGED``, or ``Handled.UNHANDLED`` (the node must recompute fully).
Input nodes have no inputs: something outside the engine marks them changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Handled(Enum):
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    UNHANDLED = "unhandled"


ChangeHandler = Callable[["Node"], Handled]


@dataclass
class NodeStats:
    recompute: int = 0
    compute: int = 0  # runs that handled every change incrementally
    cancel: int = 0


class Node:
    """An engine node. Subclasses implement ``recompute`` and optionally handlers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inputs: list[tuple[Node, ChangeHandler | None]] = []
        self.changed = False  # set during a run when this node's data changed
        self.stats = NodeStats()

    def add_input(self, node: Node, handler: ChangeHandler | None = None) -> None:
        """``handler(input_node)`` processes that input's changes incrementally; without
        one, any change of the input forces a recompute."""
        self.inputs.append((node, handler))

    def recompute(self) -> bool:
        """Rebuild this node's data from its inputs; True if it changed."""
        raise NotImplementedError

    def clear_tracked(self) -> None:
        """Forget the per-run change tracking (called after every engine run)."""

    def data(self) -> Any:
        return None


class InputNode(Node):
    """A node fed from outside (e.g. a database replica's change events)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.pending = False

    def mark_changed(self) -> None:
        self.pending = True

    def recompute(self) -> bool:
        return True
