"""Channel state machine, suspension queue and communications checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hotline_examples import T0, make_message
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.errors import ForbiddenError, InvalidInputError
from deconflict.hotline import (
    ChannelEventKind,
    ChannelState,
    CommCheckRecord,
    CommCheckSchedule,
    PartyId,
    Precedence,
    StateTransitionError,
    answer_comm_check,
    check_passed,
    due_comm_check,
    mark_degraded,
    missed_comm_checks,
    open_channel,
    restore,
    submit,
    suspend,
)

MIN = timedelta(minutes=1)


def test_new_channel_is_active_and_sorted() -> None:
    channel = open_channel("red", "blue")
    assert channel.parties == ("blue", "red")
    assert channel.state is ChannelState.ACTIVE
    with pytest.raises(InvalidInputError):
        open_channel("red", "red")


def test_suspension_is_unilateral_logged_and_queues_messages() -> None:
    channel = open_channel("blue", "red")
    channel, event = suspend(channel, party="red", reason="political decision", now=T0)
    assert channel.state is ChannelState.SUSPENDED
    assert (event.kind, event.party, event.from_state, event.to_state, event.reason) == (
        ChannelEventKind.SUSPENDED,
        "red",
        ChannelState.ACTIVE,
        ChannelState.SUSPENDED,
        "political decision",
    )
    routine = make_message("comm_check", message_id="a", precedence=Precedence.ROUTINE)
    flash = make_message("safety_of_flight_warning", message_id="b", precedence=Precedence.FLASH)
    channel, now_ok = submit(channel, routine)
    assert not now_ok
    channel, now_ok = submit(channel, flash)
    assert not now_ok
    channel, _ = submit(channel, flash)  # resubmission does not duplicate
    assert [m.id for m in channel.queue] == ["a", "b"]
    with pytest.raises(StateTransitionError, match="not suspended by blue"):
        restore(channel, party="blue", now=T0 + MIN)
    channel, event, released = restore(channel, party="red", now=T0 + MIN)
    assert event.kind is ChannelEventKind.RESTORED
    assert channel.state is ChannelState.RESTORED
    assert [m.id for m in released] == ["b", "a"]  # FLASH first
    assert channel.queue == ()
    assert submit(channel, routine) == (channel, True)
    channel, passed = check_passed(channel, now=T0 + 2 * MIN)
    assert passed is not None and channel.state is ChannelState.ACTIVE


def test_both_parties_suspend_both_must_lift() -> None:
    channel = open_channel("blue", "red")
    channel, _ = suspend(channel, party="red", reason="r", now=T0)
    channel, _ = suspend(channel, party="blue", reason="b", now=T0)
    with pytest.raises(StateTransitionError, match="already suspended"):
        suspend(channel, party="blue", reason="again", now=T0)
    channel, event, released = restore(channel, party="red", now=T0)
    assert event.kind is ChannelEventKind.SUSPENSION_LIFTED and released == []
    assert channel.state is ChannelState.SUSPENDED
    channel, event, _ = restore(channel, party="blue", now=T0)
    assert channel.state is ChannelState.RESTORED


def test_suspension_needs_a_member_and_a_reason() -> None:
    channel = open_channel("blue", "red")
    with pytest.raises(ForbiddenError):
        suspend(channel, party="green", reason="x", now=T0)
    with pytest.raises(InvalidInputError) as info:
        suspend(channel, party="red", reason="  ", now=T0)
    assert info.value.field == "reason"
    with pytest.raises(InvalidInputError):
        submit(channel, make_message(sender="blue", recipient="green"))


def test_degraded_and_recovery() -> None:
    channel = open_channel("blue", "red")
    channel, event = mark_degraded(channel, now=T0, reason="missed check 3")
    assert channel.state is ChannelState.DEGRADED and event is not None
    assert mark_degraded(channel, now=T0, reason="again")[1] is None
    channel, susp = suspend(channel, party="blue", reason="x", now=T0)
    assert susp.from_state is ChannelState.DEGRADED
    channel, _, _ = restore(channel, party="blue", now=T0)
    assert channel.state is ChannelState.DEGRADED  # still degraded until a check passes
    channel, _ = check_passed(channel, now=T0)
    assert channel.state is ChannelState.ACTIVE
    assert check_passed(channel, now=T0)[1] is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(Precedence)), st.integers(0, 50)), max_size=20))
def test_release_order_is_by_precedence_then_age(items: list[tuple[Precedence, int]]) -> None:
    channel = open_channel("blue", "red")
    channel, _ = suspend(channel, party="blue", reason="x", now=T0)
    for i, (precedence, age) in enumerate(items):
        msg = make_message("comm_check", message_id=f"m{i:03d}", precedence=precedence)
        msg = replace(msg, created_at=T0 + age * MIN)
        channel, queued = submit(channel, msg)
        assert not queued
    _, _, released = restore(channel, party="blue", now=T0)
    assert len(released) == len(items)
    keys = [(m.precedence.rank, m.created_at, m.id) for m in released]
    assert keys == sorted(keys)


SCHEDULE = CommCheckSchedule(anchor=T0, interval=60 * MIN, answer_within=5 * MIN)


def test_schedule_slots_and_due_checks() -> None:
    assert SCHEDULE.slot(1) == T0 and SCHEDULE.slot(3) == T0 + 120 * MIN
    assert due_comm_check(SCHEDULE, [], T0 - MIN) is None
    assert due_comm_check(SCHEDULE, [], T0) == 1
    history = [CommCheckRecord(1, PartyId("blue"), T0), CommCheckRecord(1, PartyId("red"), T0)]
    assert due_comm_check(SCHEDULE, history, T0 + 59 * MIN) is None
    assert due_comm_check(SCHEDULE, history, T0 + 60 * MIN) == 2
    # after an outage of the broker only the latest slot is issued
    assert due_comm_check(SCHEDULE, history, T0 + 250 * MIN) == 5
    with pytest.raises(ValueError, match="shorter than the interval"):
        CommCheckSchedule(anchor=T0, interval=5 * MIN, answer_within=5 * MIN)


def test_missed_checks_and_answers() -> None:
    history = [CommCheckRecord(1, PartyId("blue"), T0), CommCheckRecord(1, PartyId("red"), T0)]
    red = answer_comm_check(history, sequence=1, party="red", now=T0 + 2 * MIN)
    history = [history[0], red]
    assert missed_comm_checks(SCHEDULE, history, T0 + 4 * MIN) == []
    missed = missed_comm_checks(SCHEDULE, history, T0 + 5 * MIN)
    assert [(r.sequence, r.party) for r in missed] == [(1, "blue")]
    assert missed_comm_checks(SCHEDULE, history, T0 + 9 * MIN, already_reported={(1, "blue")}) == []
    late = answer_comm_check(history, sequence=1, party="blue", now=T0 + 7 * MIN)
    assert missed_comm_checks(SCHEDULE, [late, red], T0 + 9 * MIN) == [late]  # late = missed
    with pytest.raises(InvalidInputError, match="already answered"):
        answer_comm_check([red], sequence=1, party="red", now=T0 + 3 * MIN)
    with pytest.raises(InvalidInputError, match="no check 2"):
        answer_comm_check(history, sequence=2, party="red", now=T0)
