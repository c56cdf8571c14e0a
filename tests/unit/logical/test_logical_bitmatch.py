"""Bit-level helpers, checked exhaustively on small widths."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pyovn.logical.bitmatch import complement, implies, merge, not_equal, range_to_prefixes

W = 6
ALL = range(1 << W)


def covered(terms: list[tuple[int, int]]) -> set[int]:
    return {x for x in ALL if any(x & m == v for v, m in terms)}


def terms6():
    return st.tuples(st.integers(0, (1 << W) - 1), st.integers(0, (1 << W) - 1)).map(
        lambda t: (t[0] & t[1], t[1])
    )


def test_range_to_prefixes_example() -> None:
    assert range_to_prefixes(1000, 2000, 16) == [
        (1000, 0xFFF8), (1008, 0xFFF0), (1024, 0xFE00), (1536, 0xFF00),
        (1792, 0xFF80), (1920, 0xFFC0), (1984, 0xFFF0), (2000, 0xFFFF),
    ]  # fmt: skip
    assert range_to_prefixes(0, 65535, 16) == [(0, 0)]
    assert range_to_prefixes(5, 4, 16) == []


@given(st.integers(0, (1 << W) - 1), st.integers(0, (1 << W) - 1))
def test_range_to_prefixes_exact(lo: int, hi: int) -> None:
    terms = range_to_prefixes(lo, hi, W)
    assert covered(terms) == set(range(lo, hi + 1))
    assert len(terms) <= 2 * W
    # Disjoint.
    assert sum(len(covered([t])) for t in terms) == max(hi - lo + 1, 0)


@given(terms6())
def test_not_equal_exact(term) -> None:
    assert covered(not_equal(term)) == set(ALL) - covered([term])
    assert len(not_equal(term)) == bin(term[1]).count("1")


@given(st.lists(terms6(), max_size=4))
def test_complement_exact_and_disjoint(terms) -> None:
    result = complement(terms, W)
    assert covered(result) == set(ALL) - covered(terms)
    assert sum(len(covered([t])) for t in result) == len(covered(result))


@given(terms6(), terms6())
def test_merge_and_implies(a, b) -> None:
    both = covered([a]) & covered([b])
    m = merge(a, b)
    assert (m is None) == (not both)
    if m is not None:
        assert covered([m]) == both
    assert implies(a, b) == (covered([a]) <= covered([b]))
