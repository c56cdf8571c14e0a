"""Bit-level building blocks for normalization: masked terms ``(value, mask)``.

A term matches an integer ``x`` when ``x & mask == value``. All functions are pure.
"""

from __future__ import annotations

Term = tuple[int, int]


def merge(a: Term, b: Term) -> Term | None:
    """The term matching exactly what both ``a`` and ``b`` match, or None if nothing does."""
    (va, ma), (vb, mb) = a, b
    if (va ^ vb) & ma & mb:
        return None
    return (va | vb), (ma | mb)


def implies(a: Term, b: Term) -> bool:
    """True if every value matching ``a`` also matches ``b``."""
    (va, ma), (vb, mb) = a, b
    return not (mb & ~ma) and not ((va ^ vb) & mb)


def range_to_prefixes(lo: int, hi: int, width: int) -> list[Term]:
    """The fewest prefix terms covering ``lo <= x <= hi`` for ``width``-bit ``x``.

    At most ``2 * width`` terms; an empty range gives ``[]``.
    """
    full = (1 << width) - 1
    out: list[Term] = []
    while lo <= hi:
        size = (lo & -lo) if lo else 1 << width
        while size > hi - lo + 1:
            size >>= 1
        out.append((lo, full & ~(size - 1)))
        lo += size
    return out


def not_equal(term: Term) -> list[Term]:
    """``x != value/mask`` as one single-bit term per masked bit (most significant first).

    The terms overlap, which is fine for a disjunction; ``popcount(mask)`` terms.
    """
    value, mask = term
    out = []
    for bit in range(mask.bit_length() - 1, -1, -1):
        b = 1 << bit
        if mask & b:
            out.append(((~value) & b, b))
    return out


def complement(terms: list[Term], width: int) -> list[Term]:
    """Disjoint terms matching exactly the ``width``-bit values that match none of ``terms``.

    Splits the value space bit by bit on the masks of the remaining terms; the result has at
    most about ``sum(popcount(mask))`` terms.
    """
    out: list[Term] = []

    def split(value: int, mask: int, live: list[Term]) -> None:
        if not live:
            out.append((value, mask))
            return
        if any(m == 0 for _, m in live):
            return
        bit = 1 << (live[0][1].bit_length() - 1)
        for b in (0, bit):
            rest = [(v & ~bit, m & ~bit) for v, m in live if not m & bit or v & bit == b]
            split(value | b, mask | bit, rest)

    full = (1 << width) - 1
    split(0, 0, [(v & m & full, m & full) for v, m in terms])
    return out
