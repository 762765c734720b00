"""Escalation along the receiving party's ladder: due steps, idempotence, stop on ack."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hotline_examples import T0, make_message
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.errors import InvalidInputError
from deconflict.hotline import (
    Ack,
    AckAnswer,
    EscalationLadder,
    EscalationTarget,
    LadderStep,
    default_ladder,
    escalation_due,
    next_escalation_at,
)

MIN = timedelta(minutes=1)


def test_nothing_before_the_deadline_then_steps_in_order() -> None:
    msg = make_message()  # FLASH, deadline T0 + 5 min
    ladder = default_ladder("red")
    assert escalation_due(msg, [], ladder, T0 + 4 * MIN) == []
    at_deadline = escalation_due(msg, [], ladder, T0 + 5 * MIN)
    assert [(s.level, s.target) for s in at_deadline] == [(0, EscalationTarget.DUTY_OFFICER)]
    step = at_deadline[0]
    assert step.party == "red" and step.notify_sender == "blue" and step.due_at == T0 + 5 * MIN
    late = escalation_due(msg, [], ladder, T0 + 15 * MIN)
    assert [s.target for s in late] == [
        EscalationTarget.DUTY_OFFICER,
        EscalationTarget.SENIOR_DUTY_OFFICER,
        EscalationTarget.ALARM_ALL_CLIENTS,
    ]


def test_done_steps_are_never_repeated() -> None:
    msg = make_message()
    ladder = default_ladder("red")
    first = escalation_due(msg, [], ladder, T0 + 5 * MIN)
    again = escalation_due(msg, [], ladder, T0 + 6 * MIN, done={s.level for s in first})
    assert again == []
    second = escalation_due(msg, [], ladder, T0 + 10 * MIN, done={0})
    assert [s.level for s in second] == [1]


def test_any_acknowledgement_stops_escalation() -> None:
    msg = make_message()
    ack = Ack(msg.id, msg.recipient, AckAnswer.RECEIVED, T0 + 7 * MIN)
    ladder = default_ladder("red")
    assert escalation_due(msg, [ack], ladder, T0 + 6 * MIN) != []  # ack not yet made
    assert escalation_due(msg, [ack], ladder, T0 + 30 * MIN) == []
    assert next_escalation_at(msg, [ack], ladder) is None


def test_undelivered_message_never_escalates_and_ladder_must_be_recipients() -> None:
    assert (
        escalation_due(make_message(delivered=False), [], default_ladder("red"), T0 + 1e3 * MIN)
        == []
    )
    with pytest.raises(InvalidInputError) as info:
        escalation_due(make_message(), [], default_ladder("blue"), T0)
    assert info.value.field == "ladder.party"


def test_next_escalation_time() -> None:
    msg = make_message()
    ladder = default_ladder("red")
    assert next_escalation_at(msg, [], ladder) == T0 + 5 * MIN
    assert next_escalation_at(msg, [], ladder, done={0}) == T0 + 10 * MIN
    assert next_escalation_at(msg, [], ladder, done={0, 1, 2}) is None


def test_ladder_validation() -> None:
    with pytest.raises(ValueError, match="must not decrease"):
        EscalationLadder(
            party="red",
            steps=(
                LadderStep(target=EscalationTarget.SENIOR_DUTY_OFFICER, after=10 * MIN),
                LadderStep(target=EscalationTarget.DUTY_OFFICER, after=5 * MIN),
            ),
        )
    with pytest.raises(ValueError):
        EscalationLadder(party="red", steps=())


@settings(max_examples=150, deadline=None)
@given(
    delays=st.lists(st.integers(0, 120), min_size=1, max_size=5).map(sorted),
    ticks=st.lists(st.integers(0, 200), min_size=1, max_size=30).map(sorted),
)
def test_polling_at_any_times_takes_each_due_step_exactly_once(
    delays: list[int], ticks: list[int]
) -> None:
    msg = make_message()
    assert msg.ack_deadline is not None
    ladder = EscalationLadder(
        party="red",
        steps=tuple(
            LadderStep(target=list(EscalationTarget)[i % 5], after=d * MIN)
            for i, d in enumerate(delays)
        ),
    )
    taken: list[int] = []
    for tick in ticks:
        now = T0 + tick * MIN
        for step in escalation_due(msg, [], ladder, now, done=set(taken)):
            assert step.due_at <= now
            taken.append(step.level)
        # calling twice at the same time never yields anything new
        assert escalation_due(msg, [], ladder, now, done=set(taken)) == []
    last = T0 + ticks[-1] * MIN
    expected = [i for i, d in enumerate(delays) if msg.ack_deadline + d * MIN <= last]
    assert sorted(taken) == expected
    assert len(taken) == len(set(taken))
