"""CPU to compile logical flows (pyovn.logical parse + normalise + action compile).

Builds the golden topology with pyovn northd, then reports

* cold: every distinct flow compiled once with the text caches cleared (per flow);
* new port: the extra flows a new container port brings (unique text, so text-level caches
  miss), compiled after the existing ones are warm (per flow and per port), with the
  parse-once templates of pyovn.logical.template (warmed by the existing ports' flows, as on
  a running chassis) and without them.

Run: python bench/lflow_compile.py [rounds]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the test helpers

from pyovn.controller import lflow as lflow_mod
from pyovn.controller.lflow import compile_lflow
from tests.support.northd import (
    GOLDEN_TOPOLOGY,
    FakeNb,
    FlowKey,
    _vm,
    apply_edit,
    flow_keys,
    port_keys,
)
from tests.unit.northd.test_golden_flows import new_graph


def topology(new_ports: int) -> tuple[set[FlowKey], list[set[FlowKey]], dict[str, int]]:
    nb = FakeNb()
    graph = new_graph(nb)
    for edit in GOLDEN_TOPOLOGY:
        txn = nb.txn()
        assert apply_edit(edit, txn, nb.rows), edit
        txn.commit()
    base = flow_keys(graph)
    seen = set(base)
    per_port = []
    for i in range(new_ports):
        mac, ip = f"00:00:00:00:03:{i + 1:02x}", f"10.1.1.{i + 1}"
        edit = ("add_lsp", "sw1", f"cnew{i}", _vm(mac, ip, parent_name="vm1", tag_request=0))
        txn = nb.txn()
        assert apply_edit(edit, txn, nb.rows)
        txn.commit()
        now = flow_keys(graph)
        per_port.append(now - seen)
        seen |= now
    return base, per_port, port_keys(graph)


def clear_text_caches() -> None:
    lflow_mod.parsed_match.cache_clear()
    lflow_mod.parsed_actions.cache_clear()


def clear_all_caches() -> None:
    clear_text_caches()
    try:
        from pyovn.logical.normalize import clear_caches
    except ImportError:
        return
    clear_caches()
    try:
        from pyovn.logical.template import clear_templates
    except ImportError:
        return
    clear_templates()


def set_templates(enabled: bool) -> None:
    try:
        from pyovn.logical.template import set_enabled
    except ImportError:
        return
    set_enabled(enabled)


def compile_all(flows: list[FlowKey], ports: dict[str, int]) -> None:
    for pipeline, table, prio, match, actions in flows:
        compile_lflow(pipeline, table, prio, match, actions, 1, ports)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    n_new = 40
    base, per_port, ports = topology(n_new)
    base_l = sorted(base)
    cold: list[float] = []
    for _ in range(rounds):
        clear_all_caches()
        t = time.process_time()
        compile_all(base_l, ports)
        cold.append(time.process_time() - t)
    n_new_flows = sum(len(f) for f in per_port)
    new_rounds: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(max(3, rounds // 4)):
        for templates in (True, False):  # interleaved: both see the same machine load
            set_templates(templates)
            clear_all_caches()
            compile_all(base_l, ports)  # the chassis already runs the existing ports
            tot = 0.0
            for flows in per_port:
                fl = sorted(flows)
                t = time.process_time()
                compile_all(fl, ports)
                tot += time.process_time() - t
            new_rounds[templates].append(tot)
    set_templates(True)
    best = min(cold)
    print(f"flows: {len(base_l)} base, {n_new_flows / n_new:.1f} new per port")
    print(
        f"cold compile: {best * 1e3:.2f} ms total, {best / len(base_l) * 1e6:.1f} us/flow "
        f"(best of {rounds})"
    )
    for templates, label in ((True, "new port:    "), (False, "  no templates:")):
        tot = min(new_rounds[templates])
        print(
            f"{label} {tot / n_new * 1e3:.3f} ms/port, {tot / n_new_flows * 1e6:.1f} us/flow "
            f"(mean over {n_new} ports, best of {len(new_rounds[templates])} rounds)"
        )
    ratio = min(new_rounds[False]) / min(new_rounds[True])
    print(f"templates make a new port {ratio:.1f}x cheaper")


if __name__ == "__main__":
    main()
