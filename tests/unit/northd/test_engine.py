"""The incremental-processing engine (pyovn/engine): order, handlers, recompute, stats, DOT."""

from __future__ import annotations

import pytest

from pyovn.engine.graph import Engine
from pyovn.engine.node import Handled, InputNode, Node


class Sum(Node):
    """Sums its inputs' values; a handler result is scripted per test."""

    def __init__(self, name: str, *inputs: Node, result: Handled | None = Handled.UPDATED) -> None:
        super().__init__(name)
        self.value = 0
        self.result = result
        self.handled: list[str] = []
        for inp in inputs:
            self.add_input(inp, None if result is None else self.handle)

    def recompute(self) -> bool:
        self.value = sum(getattr(n, "value", 0) for n, _ in self.inputs)
        return True

    def handle(self, inp: Node) -> Handled:
        self.handled.append(inp.name)
        if self.result is Handled.UPDATED:
            self.recompute()
        return self.result  # type: ignore[return-value]


class Value(InputNode):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.value = 0

    def set(self, value: int) -> None:
        self.value = value
        self.mark_changed()


def test_topological_order_and_first_run() -> None:
    a, b = Value("a"), Value("b")
    s = Sum("s", a, b)
    t = Sum("t", s)
    engine = Engine([t, s, b, a])
    names = [n.name for n in engine.nodes]
    assert names.index("a") < names.index("s") < names.index("t")
    a.set(2)
    b.set(3)
    engine.run(force_recompute=True)
    assert (s.value, t.value) == (5, 5)
    assert s.stats.recompute == 1 and s.stats.compute == 0


def test_handler_runs_only_for_changed_inputs() -> None:
    a, b = Value("a"), Value("b")
    s = Sum("s", a, b)
    engine = Engine([s])
    engine.run(force_recompute=True)
    a.set(4)
    assert engine.run()
    assert s.handled == ["a"] and s.value == 4
    assert s.stats.compute == 1 and s.stats.recompute == 1
    assert not engine.run()  # nothing changed: nothing runs
    assert s.stats.compute == 1


def test_unhandled_forces_recompute() -> None:
    a = Value("a")
    s = Sum("s", a, result=Handled.UNHANDLED)
    engine = Engine([s])
    engine.run(force_recompute=True)
    a.set(7)
    engine.run()
    assert s.value == 7 and s.stats.recompute == 2 and s.stats.compute == 0


def test_unchanged_stops_propagation() -> None:
    a = Value("a")
    s = Sum("s", a, result=Handled.UNCHANGED)
    t = Sum("t", s)
    engine = Engine([t])
    engine.run(force_recompute=True)
    a.set(1)
    assert not engine.run()
    assert t.handled == [] and t.stats.compute == 0


def test_input_without_handler_recomputes() -> None:
    a = Value("a")
    s = Sum("s", a, result=None)
    engine = Engine([s])
    engine.run(force_recompute=True)
    a.set(3)
    engine.run()
    assert s.value == 3 and s.stats.recompute == 2


def test_cycle_is_rejected() -> None:
    a = Sum("a")
    b = Sum("b", a)
    a.add_input(b, None)
    with pytest.raises(ValueError, match="cycle"):
        Engine([a])


def test_stats_and_dot() -> None:
    a = Value("in")
    s = Sum("s-1", a)
    engine = Engine([s])
    engine.run(force_recompute=True)
    text = engine.stats_text()
    assert "Node: s-1\n- recompute:            1\n- compute:              0\n" in text
    dot = engine.dot()
    assert dot.startswith('digraph "Incremental-Processing-Engine" {')
    assert "in -> s_1;" in dot
    assert engine.node("s-1") is s
    with pytest.raises(KeyError):
        engine.node("nope")
