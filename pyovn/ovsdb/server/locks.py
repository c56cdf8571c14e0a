"""OVSDB locks (RFC 7047 section 4.1.8-4.1.11): lock, steal, unlock, and notifications.

Each lock has a queue of sessions; the first is the owner. ``notify(session, method, name)``
is called with "locked" when a waiter becomes the owner and "stolen" when a lock is stolen.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from pyovn.ovsdb.errors import OvsdbError


class LockTable:
    def __init__(self, notify: Callable[[Any, str, str], None]) -> None:
        self._queues: dict[str, list[Hashable]] = {}
        self._notify = notify

    def owner(self, name: str) -> Hashable | None:
        queue = self._queues.get(name)
        return queue[0] if queue else None

    def held_by(self, session: Hashable) -> frozenset[str]:
        return frozenset(n for n, q in self._queues.items() if q and q[0] is session)

    def lock(self, session: Hashable, name: str) -> bool:
        """Queue ``session`` for ``name``; True if it owns the lock now."""
        queue = self._queues.setdefault(name, [])
        if session in queue:
            raise _must_unlock("lock", name)
        queue.append(session)
        return queue[0] is session

    def steal(self, session: Hashable, name: str) -> None:
        queue = self._queues.setdefault(name, [])
        if session in queue:  # owner or waiter: as in ovsdb-server, unlock first
            raise _must_unlock("steal", name)
        victim = queue[0] if queue else None
        queue.insert(0, session)
        if victim is not None:
            # the victim loses the lock and is told; it stays queued behind the thief
            self._notify(victim, "stolen", name)

    def unlock(self, session: Hashable, name: str) -> None:
        queue = self._queues.get(name)
        if not queue or session not in queue:
            raise OvsdbError("syntax error", 'unlock: "unlock" without "lock" or "steal"', [name])
        was_owner = queue[0] is session
        queue.remove(session)
        if not queue:
            del self._queues[name]
        elif was_owner:
            self._notify(queue[0], "locked", name)

    def release_all(self, session: Hashable) -> None:
        for name in [n for n, q in self._queues.items() if session in q]:
            self.unlock(session, name)


def _must_unlock(method: str, name: str) -> OvsdbError:
    """ovsdb-server's error for a second lock/steal of a lock the session already wants."""
    return OvsdbError("syntax error", f'must issue "unlock" before new "{method}"', [name])
