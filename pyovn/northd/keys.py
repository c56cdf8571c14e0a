"""Tunnel keys: the lowest free number in a range, stable once given."""

from __future__ import annotations

DATAPATH_KEYS = (1, (1 << 24) - 1)
PORT_KEYS = (1, (1 << 15) - 1)


class KeyAllocator:
    def __init__(self, lo: int, hi: int) -> None:
        self.lo = lo
        self.hi = hi
        self.used: dict[int, str] = {}
        self.by_owner: dict[str, int] = {}
        self._hint = lo

    def get(self, owner: str) -> int | None:
        return self.by_owner.get(owner)

    def claim(self, owner: str, key: int) -> bool:
        """Give ``owner`` a specific key (e.g. the one it had); False if taken or invalid."""
        if not self.lo <= key <= self.hi:
            return False
        holder = self.used.get(key)
        if holder is not None and holder != owner:
            return False
        self.release(owner)
        self.used[key] = owner
        self.by_owner[owner] = key
        return True

    def allocate(self, owner: str) -> int:
        existing = self.by_owner.get(owner)
        if existing is not None:
            return existing
        key = self._hint
        span = self.hi - self.lo + 1
        for _ in range(span):
            if key not in self.used:
                break
            key = key + 1 if key < self.hi else self.lo
        else:
            raise RuntimeError("no tunnel key left")
        self.used[key] = owner
        self.by_owner[owner] = key
        # every key from the hint up to this one is taken now: start after it next time
        # (release() moves the hint back down), so n allocations cost O(n), not O(n^2)
        self._hint = key + 1 if key < self.hi else self.lo
        return key

    def release(self, owner: str) -> None:
        key = self.by_owner.pop(owner, None)
        if key is not None:
            self.used.pop(key, None)
            if key < self._hint:
                self._hint = key
