"""pyovn.ovsdb.reconnect: deterministic scenarios with explicit ``now`` values."""

from __future__ import annotations

import pytest

from pyovn.ovsdb.reconnect import Action, Reconnect, State


def fail_attempt(fsm: Reconnect, now: int) -> int:
    """Run until CONNECT, fail the attempt; return when the next CONNECT is due."""
    assert fsm.run(now) is Action.CONNECT
    fsm.connecting(now)
    fsm.connect_failed(now, "connection refused")
    return now + fsm.timeout(now)


def test_starts_void_and_idle():
    fsm = Reconnect()
    assert fsm.state is State.VOID
    assert not fsm.is_enabled
    assert fsm.run(0) is None
    assert fsm.timeout(0) is None
    assert fsm.deadline() is None


def test_enable_connects_at_once():
    fsm = Reconnect()
    fsm.enable(1000)
    assert fsm.state is State.BACKOFF
    assert fsm.timeout(1000) == 0
    assert fsm.run(1000) is Action.CONNECT
    assert fsm.run(1000) is Action.CONNECT  # repeated until connecting()
    fsm.connecting(1000)
    assert fsm.state is State.CONNECTING
    assert fsm.run(1000) is None
    fsm.connected(1200)
    assert fsm.state is State.ACTIVE
    assert fsm.is_connected
    assert (fsm.n_attempted, fsm.n_successful, fsm.last_connected) == (1, 1, 1200)
    fsm.enable(1300)  # already enabled: no effect
    assert fsm.state is State.ACTIVE


def test_backoff_doubles_up_to_the_cap():
    fsm = Reconnect(min_backoff=1000, max_backoff=8000)
    fsm.enable(0)
    now = 0
    waits = []
    for _ in range(6):
        nxt = fail_attempt(fsm, now)
        assert fsm.state is State.BACKOFF
        assert fsm.run(nxt - 1) is None
        waits.append(nxt - now)
        now = nxt
    assert waits == [1000, 2000, 4000, 8000, 8000, 8000]
    assert fsm.n_attempted == 6
    assert fsm.n_successful == 0
    assert fsm.last_error == "connection refused"


def test_backoff_cap_not_a_power_of_two():
    fsm = Reconnect(min_backoff=300, max_backoff=1000)
    fsm.enable(0)
    now, waits = 0, []
    for _ in range(4):
        nxt = fail_attempt(fsm, now)
        waits.append(nxt - now)
        now = nxt
    assert waits == [300, 600, 1000, 1000]


def test_connect_attempt_times_out():
    fsm = Reconnect(min_backoff=100, max_backoff=4000)
    fsm.enable(0)
    fsm.run(0)
    fsm.connecting(0)
    assert fsm.timeout(0) == 1000  # at least a second per attempt
    assert fsm.run(999) is None
    assert fsm.run(1000) is Action.DISCONNECT
    fsm.connect_failed(1000, "timed out")
    assert fsm.state is State.BACKOFF
    assert fsm.backoff == 100


def test_connect_timeout_grows_with_backoff():
    fsm = Reconnect(min_backoff=2000, max_backoff=8000)
    fsm.enable(0)
    now = fail_attempt(fsm, 0)
    now = fail_attempt(fsm, now)
    assert fsm.backoff == 4000
    fsm.run(now)
    fsm.connecting(now)
    assert fsm.timeout(now) == 4000


def test_probe_then_idle_then_disconnect():
    fsm = Reconnect(probe_interval=5000)
    fsm.enable(0)
    fsm.run(0)
    fsm.connecting(0)
    fsm.connected(100)
    assert fsm.timeout(100) == 5000
    assert fsm.run(5099) is None
    assert fsm.run(5100) is Action.PROBE
    assert fsm.state is State.IDLE
    assert fsm.is_connected
    assert fsm.run(5100) is None  # one probe per silence
    assert fsm.timeout(5100) == 5000
    assert fsm.run(10099) is None
    assert fsm.run(10100) is Action.DISCONNECT
    fsm.disconnected(10100, "no response to inactivity probe")
    assert fsm.state is State.BACKOFF
    assert fsm.last_disconnected == 10100
    assert not fsm.is_connected


def test_activity_postpones_probe_and_answers_idle():
    fsm = Reconnect(probe_interval=5000)
    fsm.enable(0)
    fsm.run(0)
    fsm.connected(0)
    fsm.activity(3000)
    assert fsm.timeout(3000) == 5000
    assert fsm.run(7999) is None
    assert fsm.run(8000) is Action.PROBE
    fsm.activity(9000)  # the echo reply
    assert fsm.state is State.ACTIVE
    assert fsm.timeout(9000) == 5000
    assert fsm.run(14000) is Action.PROBE
    assert fsm.n_successful == 1  # going IDLE and back is not a new connection


def test_probe_interval_zero_disables_probing():
    fsm = Reconnect(probe_interval=0)
    fsm.enable(0)
    fsm.run(0)
    fsm.connected(0)
    assert fsm.timeout(0) is None
    assert fsm.run(10**9) is None
    fsm.set_probe_interval(2000)
    assert fsm.run(10**9) is Action.PROBE


def test_backoff_resets_after_stable_connection():
    fsm = Reconnect(min_backoff=1000, max_backoff=8000)
    fsm.enable(0)
    now = 0
    for _ in range(4):
        now = fail_attempt(fsm, now)
    assert fsm.backoff == 8000
    fsm.run(now)
    fsm.connecting(now)
    fsm.connected(now)
    fsm.activity(now + 8000)  # useful for at least the current back-off
    fsm.disconnected(now + 9000, None)
    assert fsm.backoff == 1000
    assert fsm.timeout(now + 9000) == 1000


def test_backoff_keeps_growing_after_short_connection():
    fsm = Reconnect(min_backoff=1000, max_backoff=8000)
    fsm.enable(0)
    now = fail_attempt(fsm, 0)
    now = fail_attempt(fsm, now)
    assert fsm.backoff == 2000
    fsm.run(now)
    fsm.connected(now)
    fsm.activity(now + 500)  # dropped before the back-off interval was over
    fsm.disconnected(now + 600, "reset by peer")
    assert fsm.backoff == 4000
    assert fsm.n_successful == 1


def test_max_tries_then_void():
    fsm = Reconnect(max_tries=3, min_backoff=10, max_backoff=10)
    fsm.enable(0)
    now = 0
    now = fail_attempt(fsm, now)
    now = fail_attempt(fsm, now)
    assert fsm.state is State.BACKOFF
    assert fsm.run(now) is Action.CONNECT
    fsm.connect_failed(now, "refused")
    assert fsm.state is State.VOID
    assert fsm.n_attempted == 3
    assert fsm.run(now + 10**6) is None
    fsm.enable(now)  # no tries left
    assert fsm.state is State.VOID
    fsm.set_max_tries(1)
    fsm.enable(now)
    assert fsm.run(now) is Action.CONNECT


def test_max_tries_zero_never_enables():
    fsm = Reconnect(max_tries=0)
    fsm.enable(0)
    assert fsm.state is State.VOID


def test_max_tries_counts_a_dropped_connection():
    fsm = Reconnect(max_tries=1)
    fsm.enable(0)
    fsm.run(0)
    fsm.connected(0)
    fsm.disconnected(50, None)
    assert fsm.state is State.VOID
    assert fsm.last_disconnected == 50


def test_force_reconnect():
    fsm = Reconnect(min_backoff=1000)
    fsm.enable(0)
    fsm.run(0)
    fsm.connected(0)
    fsm.activity(5000)
    fsm.force_reconnect(6000)
    assert fsm.state is State.RECONNECT
    assert not fsm.is_connected
    assert fsm.run(6000) is Action.DISCONNECT
    fsm.disconnected(6000, None)
    assert fsm.state is State.BACKOFF
    assert fsm.backoff == 1000  # the connection had been useful
    assert fsm.last_disconnected == 6000
    assert fsm.run(7000) is Action.CONNECT


def test_force_reconnect_ignored_when_not_connected():
    fsm = Reconnect()
    fsm.force_reconnect(0)
    assert fsm.state is State.VOID
    fsm.enable(0)
    fsm.force_reconnect(0)
    assert fsm.state is State.BACKOFF


def test_disable_stops_everything():
    fsm = Reconnect()
    fsm.enable(0)
    fsm.run(0)
    fsm.connected(0)
    fsm.disable(100)
    assert fsm.state is State.VOID
    assert fsm.run(10**6) is None
    fsm.disconnected(200, None)  # late news from the caller: ignored
    assert fsm.state is State.VOID


def test_passive_listens_without_timeout_and_relistens_at_once():
    fsm = Reconnect(passive=True, min_backoff=1000)
    fsm.enable(0)
    assert fsm.run(0) is Action.CONNECT
    fsm.connecting(0)  # listening
    assert fsm.timeout(0) is None
    assert fsm.run(10**6) is None
    fsm.connected(10**6)  # accepted a peer
    fsm.disconnected(10**6 + 1, None)
    assert fsm.backoff == 0
    assert fsm.run(10**6 + 1) is Action.CONNECT
    fsm.connect_failed(10**6 + 2, "address in use")
    assert fsm.backoff == 1000


def test_set_passive_while_connecting_backs_off():
    fsm = Reconnect()
    fsm.enable(0)
    fsm.run(0)
    fsm.connecting(0)
    fsm.set_passive(True, 10)
    assert fsm.passive
    assert fsm.state is State.BACKOFF


def test_stats_snapshot():
    fsm = Reconnect()
    fsm.enable(0)
    fsm.run(0)
    fsm.connecting(0)
    fsm.connected(100)
    fsm.activity(150)
    stats = fsm.stats(400)
    assert stats.state is State.ACTIVE
    assert stats.is_connected
    assert stats.state_elapsed == 300
    assert stats.current_connection_duration == 300
    assert stats.total_connected_duration == 300
    assert (stats.n_attempted, stats.n_successful) == (1, 1)
    assert (stats.last_connected, stats.last_disconnected, stats.last_activity) == (100, None, 150)
    seqno = stats.seqno
    fsm.disconnected(500, "eof")
    stats = fsm.stats(700)
    assert not stats.is_connected
    assert stats.current_connection_duration == 0
    assert stats.total_connected_duration == 400
    assert stats.last_error == "eof"
    assert stats.seqno == seqno + 1


def test_settings_are_validated():
    with pytest.raises(ValueError):
        Reconnect(min_backoff=2000, max_backoff=1000)
    with pytest.raises(ValueError):
        Reconnect(min_backoff=-1)
    with pytest.raises(ValueError):
        Reconnect(probe_interval=-5)
    with pytest.raises(ValueError):
        Reconnect(max_tries=-1)


def test_lowering_max_backoff_shortens_the_wait():
    fsm = Reconnect(min_backoff=1000, max_backoff=8000)
    fsm.enable(0)
    now = 0
    for _ in range(4):
        now = fail_attempt(fsm, now)
    assert fsm.backoff == 8000
    fsm.set_backoff(500, 2000)
    assert fsm.backoff == 2000
    assert (fsm.min_backoff, fsm.max_backoff) == (500, 2000)
