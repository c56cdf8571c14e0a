"""Hypothesis strategies: random NB edits (see tests/support/northd.py for the vocabulary)."""

from __future__ import annotations

from hypothesis import strategies as st

SWITCHES = ("sw0", "sw1", "sw2")
PORTS = ("p0", "p1", "p2", "p3", "p4", "p5")
ADDRESSES = (
    "00:00:00:00:00:01 10.0.0.1",
    "00:00:00:00:00:02 10.0.0.2 fd00::2",
    "00:00:00:00:00:01 10.0.0.3",  # the same MAC as another entry
    "00:00:00:00:00:0A",
    "unknown",
    "dynamic",
    "not-an-address",
)
PORT_SECURITY = ("00:00:00:00:00:01", "00:00:00:00:00:02 10.0.0.2")
TYPES = ("", "localnet", "router")

switch = st.sampled_from(SWITCHES)
port = st.sampled_from(PORTS)
addresses = st.lists(st.sampled_from(ADDRESSES), max_size=2, unique=True)
port_security = st.lists(st.sampled_from(PORT_SECURITY), max_size=2, unique=True)
enabled = st.sampled_from((None, True, False))
parent = st.one_of(st.none(), port)
tag_request = st.sampled_from((None, 0, 0, 1, 2, 3))

column_values = st.one_of(
    st.tuples(st.just("addresses"), addresses),
    st.tuples(st.just("port_security"), port_security),
    st.tuples(st.just("enabled"), enabled),
    st.tuples(st.just("parent_name"), parent),
    st.tuples(st.just("tag_request"), tag_request),
    st.tuples(st.just("type"), st.sampled_from(TYPES)),
)


@st.composite
def port_spec(draw: st.DrawFn) -> tuple[tuple[str, object], ...]:
    spec: dict[str, object] = {"addresses": draw(addresses)}
    if draw(st.booleans()):
        spec["port_security"] = draw(port_security)
    if draw(st.booleans()):
        spec["parent_name"] = draw(parent)
        spec["tag_request"] = draw(tag_request)
    value = draw(enabled)
    if value is not None:
        spec["enabled"] = value
    return tuple(spec.items())


edit = st.one_of(
    st.tuples(st.just("add_ls"), switch),
    st.tuples(st.just("del_ls"), switch),
    st.tuples(st.just("add_lsp"), switch, port, port_spec()),
    st.tuples(st.just("add_lsp"), switch, port, port_spec()),
    st.tuples(st.just("del_lsp"), port),
    st.builds(lambda p, cv: ("set", p, *cv), port, column_values),
    st.builds(lambda p, cv: ("set", p, *cv), port, column_values),
    st.tuples(st.just("rename"), port, port),
    st.tuples(st.just("swap"), port, port),
    st.tuples(st.just("move"), port, switch),
)

# batches of edits; the engine (or northd) runs once after each batch
batches = st.lists(st.lists(edit, min_size=1, max_size=4), min_size=1, max_size=8)

# always start from something: two switches with a few ports
SEED: tuple[tuple[object, ...], ...] = (
    ("add_ls", "sw0"),
    ("add_ls", "sw1"),
    ("add_lsp", "sw0", "p0", (("addresses", ["00:00:00:00:00:01 10.0.0.1"]),)),
    ("add_lsp", "sw0", "p1", (("addresses", ["unknown"]),)),
    ("add_lsp", "sw1", "p2", (("parent_name", "p0"), ("tag_request", 0))),
    ("add_lsp", "sw1", "p3", (("parent_name", "p0"), ("tag_request", 1))),
)
