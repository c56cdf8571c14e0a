"""Tunnel key allocation and address parsing."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyovn.northd.addresses import _plain_ipv4, has_unknown, parse_all, parse_entry
from pyovn.northd.keys import KeyAllocator


def test_lowest_free_key_and_stability() -> None:
    keys = KeyAllocator(1, 10)
    assert [keys.allocate(n) for n in "abc"] == [1, 2, 3]
    assert keys.allocate("b") == 2  # asking again gives the same key
    keys.release("b")
    assert keys.allocate("d") == 2  # the lowest free key
    assert keys.allocate("e") == 4


def test_claim() -> None:
    keys = KeyAllocator(1, 10)
    assert keys.claim("a", 5)
    assert not keys.claim("b", 5)  # taken
    assert not keys.claim("b", 11)  # out of range
    assert keys.claim("a", 6)  # moving to another key frees the old one
    assert keys.claim("b", 5)
    assert keys.allocate("c") == 1


def test_exhaustion() -> None:
    keys = KeyAllocator(1, 3)
    for n in "abc":
        keys.allocate(n)
    with pytest.raises(RuntimeError):
        keys.allocate("d")
    keys.release("b")
    assert keys.allocate("d") == 2


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [
        ("00:00:00:00:00:01", ("00:00:00:00:00:01", (), ())),
        ("0A:00:00:00:00:01 10.0.0.1 fd00::1", ("0a:00:00:00:00:01", ("10.0.0.1",), ("fd00::1",))),
        ("00:00:00:00:00:01 10.0.0.1/24", ("00:00:00:00:00:01", ("10.0.0.1",), ())),
        ("unknown", None),
        ("dynamic", None),
        ("router", None),
        ("00:00:00:00:00:01 not-an-ip", None),
        ("zz:00:00:00:00:01", None),
        ("", None),
    ],
)
def test_parse_entry(entry: str, parsed: tuple[object, ...] | None) -> None:
    got = parse_entry(entry)
    assert (None if got is None else (got.mac, got.ipv4, got.ipv6)) == parsed


def test_parse_all_and_unknown() -> None:
    entries = frozenset({"unknown", "00:00:00:00:00:02 10.0.0.2", "00:00:00:00:00:01"})
    assert [a.mac for a in parse_all(entries)] == ["00:00:00:00:00:01", "00:00:00:00:00:02"]
    assert has_unknown(entries)
    assert not has_unknown(frozenset({"00:00:00:00:00:01 unknown"}))


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.tuples(*[st.integers(0, 300)] * 4, st.one_of(st.none(), st.integers(0, 40))).map(
            lambda t: ".".join(map(str, t[:4])) + ("" if t[4] is None else f"/{t[4]}")
        ),
        st.text(alphabet="0123456789./:abf", min_size=1, max_size=20),
    )
)
def test_fast_ipv4_agrees_with_ipaddress(word: str) -> None:
    fast = _plain_ipv4(word)
    try:
        slow = str(ipaddress.ip_interface(word).ip)
    except ValueError:
        slow = None
    if fast is not None:
        assert fast == slow
    entry = parse_entry.__wrapped__(f"00:00:00:00:00:01 {word}")
    assert (entry is None) == (slow is None)
    if entry is not None:
        assert (entry.ipv4 + entry.ipv6) == (slow,)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["allocate", "release", "claim"]), st.integers(0, 12), st.integers(1, 9)
        ),
        max_size=60,
    )
)
def test_allocate_is_always_the_lowest_free_key(ops: list[tuple[str, int, int]]) -> None:
    keys = KeyAllocator(1, 8)
    model: dict[str, int] = {}
    for op, n, key in ops:
        owner = f"o{n}"
        if op == "allocate":
            free = [k for k in range(1, 9) if k not in model.values()]
            if owner in model:
                assert keys.allocate(owner) == model[owner]
            elif not free:
                with pytest.raises(RuntimeError):
                    keys.allocate(owner)
            else:
                model[owner] = keys.allocate(owner)
                assert model[owner] == free[0]
        elif op == "release":
            keys.release(owner)
            model.pop(owner, None)
        else:
            holder = next((o for o, k in model.items() if k == key), None)
            ok = key <= 8 and holder in (None, owner)
            assert keys.claim(owner, key) == ok
            if ok:
                model[owner] = key
        assert keys.by_owner == model
