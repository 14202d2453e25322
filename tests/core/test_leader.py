"""Leader election decisions: examples of each step, then properties over any read sequence."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor.core.leader import (
    Instant,
    LeaderTimings,
    LeaseRecord,
    Observation,
    Step,
    decide,
    released,
    renew_overdue,
)

TIMINGS = LeaderTimings(lease_duration=4.0, renew_deadline=2.5, retry_period=0.5)
START = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
ME, OTHER = "pod-a_7", "pod-b_7"


def at(seconds):
    return Instant(wall=START + timedelta(seconds=seconds), monotonic=1000.0 + seconds)


def held_by(holder, *, transitions=3, duration=4):
    return LeaseRecord(
        holder=holder,
        duration_seconds=duration,
        acquire_time=START - timedelta(minutes=5),
        renew_time=START - timedelta(seconds=1),
        transitions=transitions,
    )


def step(lease, seconds, *, leading=False, previous=None, identity=ME):
    return decide(
        lease,
        now=at(seconds),
        identity=identity,
        timings=TIMINGS,
        leading=leading,
        previous=previous,
    )


def test_no_lease_is_created_with_us_as_holder_and_no_transitions():
    decision = step(None, 0)
    assert decision.step is Step.ACQUIRE
    assert decision.write == LeaseRecord(
        holder=ME,
        duration_seconds=4,
        acquire_time=at(0).wall,
        renew_time=at(0).wall,
        transitions=0,
    )


def test_a_live_lease_of_another_is_waited_for_then_taken_over_once_seen_unchanged_long_enough():
    lease = held_by(OTHER)
    first = step(lease, 0)
    assert (first.step, first.holder, first.write) == (Step.WAIT, OTHER, None)
    later = step(lease, 3.9, previous=first.observation)
    assert later.step is Step.WAIT
    expired = step(lease, 4.0, previous=later.observation)
    assert expired.step is Step.ACQUIRE
    assert expired.write is not None
    assert (expired.write.holder, expired.write.transitions) == (ME, 4)
    assert expired.write.acquire_time == at(4.0).wall


def test_a_renewed_lease_restarts_the_wait():
    first = step(held_by(OTHER), 0)
    renewed = replace(held_by(OTHER), renew_time=START + timedelta(seconds=3))
    second = step(renewed, 3, previous=first.observation)
    assert second.observation.seen_at == at(3).monotonic
    assert step(renewed, 6, previous=second.observation).step is Step.WAIT
    assert step(renewed, 7, previous=second.observation).step is Step.ACQUIRE


def test_expiry_is_judged_by_our_observation_not_by_the_renew_time_in_the_lease():
    # The holder's clock is an hour behind ours: its renewTime looks stale, the lease is live.
    skewed = LeaseRecord(
        holder=OTHER, duration_seconds=4, renew_time=START - timedelta(hours=1), transitions=1
    )
    assert step(skewed, 0).step is Step.WAIT


def test_our_own_lease_is_renewed_keeping_its_acquire_time_and_transitions():
    lease = held_by(ME, transitions=5)
    decision = step(lease, 2, leading=True)
    assert decision.step is Step.RENEW
    assert decision.write == LeaseRecord(
        holder=ME,
        duration_seconds=4,
        acquire_time=lease.acquire_time,
        renew_time=at(2).wall,
        transitions=5,
    )


def test_a_leader_that_finds_another_holder_has_lost():
    decision = step(held_by(OTHER), 0, leading=True)
    assert (decision.step, decision.holder, decision.write) == (Step.LOST, OTHER, None)


def test_a_released_lease_is_taken_at_once_and_counts_a_transition():
    free = released(held_by(OTHER, transitions=2), now=START)
    assert (free.holder, free.duration_seconds, free.transitions) == ("", 1, 2)
    decision = step(free, 0)
    assert decision.step is Step.ACQUIRE
    assert decision.write is not None
    assert decision.write.transitions == 3


def test_renewal_is_overdue_from_the_renew_deadline_on():
    assert not renew_overdue(10.0, now=12.4, timings=TIMINGS)
    assert renew_overdue(10.0, now=12.5, timings=TIMINGS)


@pytest.mark.parametrize(
    ("lease", "renew", "retry"),
    [(4.0, 4.0, 0.5), (4.0, 0.6, 0.5), (4.0, 2.0, 0.0), (2.0, 3.0, 0.5)],
)
def test_timings_that_could_hand_the_lease_over_while_a_leader_works_are_refused(
    lease, renew, retry
):
    with pytest.raises(ValueError, match="must be more than"):
        LeaderTimings(lease_duration=lease, renew_deadline=renew, retry_period=retry)


def test_the_lease_stores_whole_seconds_rounded_up():
    assert LeaderTimings(lease_duration=4.2, renew_deadline=3.0).duration_seconds == 5


# -- properties ---------------------------------------------------------------------------

_identities = st.sampled_from(["", ME, OTHER, "pod-c_1"])
_records = st.builds(
    LeaseRecord,
    holder=_identities,
    duration_seconds=st.integers(1, 30),
    acquire_time=st.none() | st.just(START),
    renew_time=st.none() | st.just(START),
    transitions=st.integers(0, 50),
)
_leases = st.none() | _records
_offsets = st.floats(0, 120, allow_nan=False)


@given(lease=_leases, seconds=_offsets, leading=st.booleans(), seen=_offsets)
def test_any_write_names_us_renews_now_and_never_loses_a_transition(lease, seconds, leading, seen):
    previous = Observation(lease or LeaseRecord(), seen_at=1000.0 + min(seen, seconds))
    decision = step(lease, seconds, leading=leading, previous=previous)
    if decision.write is None:
        assert decision.step in (Step.WAIT, Step.LOST)
        return
    assert decision.step in (Step.ACQUIRE, Step.RENEW)
    assert decision.write.holder == ME
    assert decision.write.renew_time == at(seconds).wall
    assert decision.write.duration_seconds == TIMINGS.duration_seconds
    before = lease.transitions if lease is not None else 0
    changed_hands = lease is not None and lease.holder != ME
    assert decision.write.transitions == before + (1 if changed_hands else 0)


@given(lease=_records, seconds=_offsets, leading=st.booleans(), seen=_offsets)
def test_a_live_lease_of_another_is_never_taken(lease, seconds, leading, seen):
    seen_at = min(seen, seconds)
    previous = Observation(lease, seen_at=1000.0 + seen_at)
    decision = step(lease, seconds, leading=leading, previous=previous)
    live = lease.holder not in ("", ME) and seconds < seen_at + lease.duration_seconds
    if live:
        assert decision.step is (Step.LOST if leading else Step.WAIT)
        assert decision.holder == lease.holder
    else:
        assert decision.step in (Step.ACQUIRE, Step.RENEW)


@given(lease=_records, times=st.lists(_offsets, min_size=1, max_size=12))
def test_rereading_an_unchanged_lease_waits_until_expiry_and_then_always_acquires(lease, times):
    """Reads of one unchanged record: the decision moves from wait to acquire at most once."""
    previous = None
    steps = []
    times = sorted(times)
    for seconds in times:
        decision = step(lease, seconds, previous=previous)
        previous = decision.observation
        assert decision.observation.seen_at == at(times[0]).monotonic
        steps.append(decision.step)
    if lease.holder == ME:
        assert set(steps) == {Step.RENEW}
    else:
        assert Step.LOST not in steps
        waits = steps.count(Step.WAIT)
        assert steps == [Step.WAIT] * waits + [Step.ACQUIRE] * (len(steps) - waits)


@given(seconds=_offsets, holder=_identities)
def test_two_contenders_reading_the_same_record_never_both_renew(seconds, holder):
    lease = held_by(holder) if holder else None
    a = step(lease, seconds, identity=ME)
    b = step(lease, seconds, identity=OTHER)
    assert not (a.step is Step.RENEW and b.step is Step.RENEW)
