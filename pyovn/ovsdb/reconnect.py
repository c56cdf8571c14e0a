"""Back-off and reconnect decisions for one connection, as a pure state machine.

Modelled on the behaviour Open vSwitch documents for its reconnect library.  Nothing
here reads a clock or touches a socket: every method takes ``now`` (milliseconds, any
monotonic origin) and the caller does the I/O.  A typical driver loop::

    fsm = Reconnect()
    fsm.enable(now)
    while True:
        action = fsm.run(now)
        if action is Action.CONNECT:      start connecting; fsm.connecting(now), then
                                          fsm.connected(now) or fsm.connect_failed(now, err)
        elif action is Action.DISCONNECT: close; fsm.disconnected(now, "why")
        elif action is Action.PROBE:      send an echo request
        # on every message received:     fsm.activity(now)
        # when the peer goes away:       fsm.disconnected(now, err)
        sleep until fsm.timeout(now) ms pass, or I/O happens

States:

* VOID: not enabled, nothing to do.
* BACKOFF: waiting ``backoff`` ms before the next attempt (0 right after enable).
* CONNECTING: an attempt is in progress; it times out after max(1000, backoff) ms.
  For a passive (listening) endpoint this means "listening" and never times out.
* ACTIVE: connected; after ``probe_interval`` ms without activity, run() says PROBE
  and the machine enters IDLE.
* IDLE: a probe is outstanding; activity returns to ACTIVE, another
  ``probe_interval`` ms of silence makes run() say DISCONNECT.
* RECONNECT: force_reconnect() was called; run() says DISCONNECT right away.

Back-off: each failed attempt (or connection that dropped before it was useful)
doubles the wait, from ``min_backoff`` up to ``max_backoff``.  A connection that saw
activity for at least the current back-off before dropping resets it to
``min_backoff`` (to 0 for a passive endpoint).  ``max_tries`` bounds the number of
attempts, the one made on enable() included; when they are used up the machine goes
back to VOID instead of BACKOFF.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Action", "Reconnect", "ReconnectStats", "State"]

CONNECT_TIMEOUT_MIN = 1000


class State(enum.Enum):
    VOID = "void"
    BACKOFF = "backoff"
    CONNECTING = "connecting"
    ACTIVE = "active"
    IDLE = "idle"
    RECONNECT = "reconnect"


class Action(enum.Enum):
    CONNECT = "connect"  # start a connection attempt (or start listening)
    DISCONNECT = "disconnect"  # drop the connection or abandon the attempt
    PROBE = "probe"  # send an inactivity probe (an echo request)


_CONNECTED = (State.ACTIVE, State.IDLE)


@dataclass(frozen=True)
class ReconnectStats:
    """A snapshot of a :class:`Reconnect`, for logs and status commands."""

    state: State
    state_elapsed: int
    backoff: int
    is_connected: bool
    n_attempted: int
    n_successful: int
    last_connected: int | None
    last_disconnected: int | None
    last_activity: int | None
    last_error: str | None
    current_connection_duration: int
    total_connected_duration: int
    seqno: int


class Reconnect:
    """The reconnect state machine for one (active or passive) connection."""

    def __init__(
        self,
        *,
        min_backoff: int = 1000,
        max_backoff: int = 8000,
        probe_interval: int = 5000,
        max_tries: int | None = None,
        passive: bool = False,
    ) -> None:
        self._state = State.VOID
        self._state_entered = 0
        self._backoff = 0
        self._reconnect_was_connected = False  # RECONNECT entered from ACTIVE/IDLE
        self._last_activity: int | None = None
        self._last_connected: int | None = None
        self._last_disconnected: int | None = None
        self._last_error: str | None = None
        self._n_attempted = 0
        self._n_successful = 0
        self._total_connected = 0
        self._seqno = 0

        self._min_backoff = self._max_backoff = self._probe_interval = 0
        self._max_tries: int | None = None
        self._passive = passive
        self.set_backoff(min_backoff, max_backoff)
        self.set_probe_interval(probe_interval)
        self.set_max_tries(max_tries)

    # ------------------------------------------------------------------ settings

    @property
    def min_backoff(self) -> int:
        return self._min_backoff

    @property
    def max_backoff(self) -> int:
        return self._max_backoff

    @property
    def probe_interval(self) -> int:
        return self._probe_interval

    @property
    def max_tries(self) -> int | None:
        """Connection attempts left (None: unlimited)."""
        return self._max_tries

    @property
    def passive(self) -> bool:
        return self._passive

    def set_backoff(self, min_backoff: int, max_backoff: int) -> None:
        """Set the back-off bounds in ms (0 <= min_backoff <= max_backoff)."""
        if min_backoff < 0 or max_backoff < min_backoff:
            raise ValueError(
                f"need 0 <= min_backoff <= max_backoff, got {min_backoff}, {max_backoff}"
            )
        self._min_backoff, self._max_backoff = min_backoff, max_backoff
        if self._state is State.BACKOFF:
            self._backoff = min(self._backoff, max_backoff)

    def set_probe_interval(self, probe_interval: int) -> None:
        """Inactivity probe interval in ms; 0 turns probing off."""
        if probe_interval < 0:
            raise ValueError(f"probe_interval must be >= 0, got {probe_interval}")
        self._probe_interval = probe_interval

    def set_max_tries(self, max_tries: int | None) -> None:
        """Allow this many more connection attempts (None: unlimited)."""
        if max_tries is not None and max_tries < 0:
            raise ValueError(f"max_tries must be >= 0 or None, got {max_tries}")
        self._max_tries = max_tries

    def set_passive(self, passive: bool, now: int) -> None:
        """Switch between connecting out (active) and listening (passive)."""
        if passive != self._passive:
            self._passive = passive
            if self._state is State.CONNECTING:
                self._transition(now, State.BACKOFF)

    # ------------------------------------------------------------------ queries

    @property
    def state(self) -> State:
        return self._state

    @property
    def backoff(self) -> int:
        """The current back-off interval in ms."""
        return self._backoff

    @property
    def is_enabled(self) -> bool:
        return self._state is not State.VOID

    @property
    def is_connected(self) -> bool:
        return self._state in _CONNECTED

    @property
    def n_attempted(self) -> int:
        """Connection attempts that finished, successfully or not."""
        return self._n_attempted

    @property
    def n_successful(self) -> int:
        return self._n_successful

    @property
    def last_connected(self) -> int | None:
        return self._last_connected

    @property
    def last_disconnected(self) -> int | None:
        return self._last_disconnected

    @property
    def last_activity(self) -> int | None:
        return self._last_activity

    @property
    def last_error(self) -> str | None:
        return self._last_error

    @property
    def seqno(self) -> int:
        """Changes every time the connection comes up or goes down."""
        return self._seqno

    def stats(self, now: int) -> ReconnectStats:
        current = 0
        if self.is_connected and self._last_connected is not None:
            current = now - self._last_connected
        return ReconnectStats(
            state=self._state,
            state_elapsed=now - self._state_entered,
            backoff=self._backoff,
            is_connected=self.is_connected,
            n_attempted=self._n_attempted,
            n_successful=self._n_successful,
            last_connected=self._last_connected,
            last_disconnected=self._last_disconnected,
            last_activity=self._last_activity,
            last_error=self._last_error,
            current_connection_duration=current,
            total_connected_duration=self._total_connected + current,
            seqno=self._seqno,
        )

    # ------------------------------------------------------------------ events

    def enable(self, now: int) -> None:
        """Start connecting: run() will say CONNECT at once."""
        if self._state is State.VOID and self._may_retry():
            self._transition(now, State.BACKOFF)
            self._backoff = 0

    def disable(self, now: int) -> None:
        """Stop; run() says nothing until enable().  The caller closes any connection."""
        if self._state is not State.VOID:
            self._transition(now, State.VOID)

    def force_reconnect(self, now: int) -> None:
        """Drop the connection (or attempt) and start over after the back-off."""
        if self._state in (State.CONNECTING, State.ACTIVE, State.IDLE):
            self._reconnect_was_connected = self.is_connected
            self._transition(now, State.RECONNECT)

    def connecting(self, now: int) -> None:
        """A connection attempt started (for a passive endpoint: listening started)."""
        if self._state is not State.CONNECTING:
            self._transition(now, State.CONNECTING)

    def connect_failed(self, now: int, error: str | None = None) -> None:
        """The attempt in progress failed (or listening failed)."""
        self.connecting(now)
        self.disconnected(now, error)

    def connected(self, now: int) -> None:
        """The connection is up (for a passive endpoint: a peer was accepted)."""
        if not self.is_connected:
            self.connecting(now)
            self._transition(now, State.ACTIVE)

    def activity(self, now: int) -> None:
        """Data arrived from the peer: it is alive."""
        if self._state is State.IDLE:
            self._transition(now, State.ACTIVE)
        self._last_activity = now

    def disconnected(self, now: int, error: str | None = None) -> None:
        """The connection or the attempt ended; ``error`` says why (None: clean EOF)."""
        if self._state in (State.VOID, State.BACKOFF):
            return
        was_up = self.is_connected or (
            self._state is State.RECONNECT and self._reconnect_was_connected
        )
        if was_up:
            self._last_disconnected = now
        self._last_error = error
        self._backoff = self._next_backoff(was_up)
        self._transition(now, State.BACKOFF if self._may_retry() else State.VOID)

    # ------------------------------------------------------------------ timing

    def deadline(self) -> int | None:
        """When run() will next have something to say (absolute ms), if ever."""
        state, entered = self._state, self._state_entered
        if state is State.BACKOFF:
            return entered + self._backoff
        if state is State.CONNECTING:
            if self._passive:
                return None
            return entered + max(CONNECT_TIMEOUT_MIN, self._backoff)
        if state is State.ACTIVE and self._probe_interval:
            base = entered
            if self._last_activity is not None:
                base = max(base, self._last_activity)
            return base + self._probe_interval
        if state is State.IDLE and self._probe_interval:
            return entered + self._probe_interval
        if state is State.RECONNECT:
            return entered
        return None

    def timeout(self, now: int) -> int | None:
        """Milliseconds until :meth:`deadline` (0 if passed), or None if there is none."""
        deadline = self.deadline()
        return None if deadline is None else max(0, deadline - now)

    def run(self, now: int) -> Action | None:
        """What the caller should do now, if anything.

        CONNECT keeps being returned from BACKOFF until connecting() is called, and
        DISCONNECT until disconnected() is; PROBE is returned once per silence, as the
        machine moves from ACTIVE to IDLE.
        """
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return None
        state = self._state
        if state is State.BACKOFF:
            return Action.CONNECT
        if state is State.ACTIVE:
            self._transition(now, State.IDLE)
            return Action.PROBE
        return Action.DISCONNECT  # CONNECTING timed out, IDLE unanswered, or RECONNECT

    # ------------------------------------------------------------------ internals

    def _may_retry(self) -> bool:
        if self._max_tries is None:
            return True
        if self._max_tries == 0:
            return False
        self._max_tries -= 1
        return True

    def _next_backoff(self, was_up: bool) -> int:
        if was_up and self._passive:
            return 0
        if (
            was_up
            and self._last_activity is not None
            and self._last_connected is not None
            and self._last_activity - self._last_connected >= self._backoff
        ):
            return self._min_backoff
        if self._backoff < self._min_backoff:
            return self._min_backoff
        return min(self._backoff * 2, self._max_backoff)

    def _transition(self, now: int, new: State) -> None:
        old = self._state
        if old is State.CONNECTING:
            self._n_attempted += 1
            if new is State.ACTIVE:
                self._n_successful += 1
                self._last_connected = now
                self._seqno += 1
        elif (old in _CONNECTED) != (new in _CONNECTED):
            if old in _CONNECTED and self._last_connected is not None:
                self._total_connected += now - self._last_connected
            self._seqno += 1
        self._state = new
        self._state_entered = now
