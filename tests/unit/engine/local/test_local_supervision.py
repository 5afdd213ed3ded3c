import pytest

from engine.local.supervision import (
    DRAIN_MARGIN_S,
    DRAIN_MIN_S,
    BackoffPolicy,
    WorkerHealth,
    drained,
    is_idle,
    wait_for_restart,
)

POLICY = BackoffPolicy(base_s=0.1, factor=2.0, cap_s=30.0, stable_after_s=30.0)


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [POLICY.delay(n) for n in range(0, 12)]
    assert delays[:6] == pytest.approx([0.0, 0.1, 0.2, 0.4, 0.8, 1.6])
    assert max(delays) == 30.0
    assert delays[-1] == 30.0


def test_a_crash_loop_counts_failures_and_schedules_the_retry() -> None:
    status = WorkerHealth().starting().ready(now=10.0)
    status = status.failed(now=11.0, reason="exited with code 1", policy=POLICY)
    assert (status.state, status.failures, status.last_exit) == ("backoff", 1, "exited with code 1")
    assert status.retry_at == pytest.approx(11.1)
    status = status.starting().failed(now=12.0, reason="again", policy=POLICY)
    assert status.failures == 2
    assert status.retry_at == pytest.approx(12.2)


def test_a_worker_that_stayed_up_long_enough_starts_counting_again() -> None:
    status = WorkerHealth(failures=5).ready(now=0.0)
    status = status.failed(now=POLICY.stable_after_s + 1, reason="oom", policy=POLICY)
    assert status.failures == 1


def test_stopping_keeps_the_failure_count() -> None:
    status = WorkerHealth(state="backoff", failures=3, retry_at=5.0).stopped("idle")
    assert (status.state, status.failures, status.last_exit) == ("stopped", 3, "idle")


def test_idle_needs_quiet_and_nothing_in_flight() -> None:
    assert not is_idle(now=10.0, last_used=9.0, inflight=0, idle_timeout_s=5, timeout_ms=3000)
    assert is_idle(now=15.0, last_used=9.0, inflight=0, idle_timeout_s=5, timeout_ms=3000)
    # a request in flight keeps it up, until its timeout has certainly passed
    assert not is_idle(now=15.0, last_used=9.0, inflight=1, idle_timeout_s=5, timeout_ms=3000)
    assert is_idle(now=17.1, last_used=9.0, inflight=1, idle_timeout_s=5, timeout_ms=3000)


def test_drained_waits_a_minimum_then_for_requests_or_their_timeout() -> None:
    assert not drained(now=DRAIN_MIN_S / 2, detached_at=0.0, inflight=0, timeout_ms=1000)
    assert drained(now=DRAIN_MIN_S, detached_at=0.0, inflight=0, timeout_ms=1000)
    assert not drained(now=1.0, detached_at=0.0, inflight=2, timeout_ms=1000)
    assert drained(now=1.0 + DRAIN_MARGIN_S, detached_at=0.0, inflight=2, timeout_ms=1000)


def test_wait_for_restart() -> None:
    assert wait_for_restart(WorkerHealth(state="stopped"), now=0.0, max_wait_s=2) == 0.0
    soon = WorkerHealth(state="backoff", retry_at=10.5)
    assert wait_for_restart(soon, now=10.0, max_wait_s=2) == pytest.approx(0.5)
    assert wait_for_restart(soon, now=11.0, max_wait_s=2) == 0.0
    later = WorkerHealth(state="backoff", retry_at=30.0)
    assert wait_for_restart(later, now=0.0, max_wait_s=2) is None
