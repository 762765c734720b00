"""Acknowledgement rules and deadlines."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hotline_examples import T0, make_message
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.errors import ForbiddenError, InvalidInputError
from deconflict.hotline import (
    DEFAULT_ACK_DEADLINES,
    Ack,
    AckAnswer,
    AckConflictError,
    AckPolicy,
    FieldErrors,
    NotRecipientError,
    Precedence,
    acknowledge,
    deliver,
    first_ack_at,
    latest_answer,
    parse_precedence,
)

MIN = timedelta(minutes=1)


def test_default_deadlines_follow_precedence() -> None:
    assert DEFAULT_ACK_DEADLINES == {
        Precedence.FLASH: 5 * MIN,
        Precedence.IMMEDIATE: 15 * MIN,
        Precedence.PRIORITY: 60 * MIN,
        Precedence.ROUTINE: 360 * MIN,
    }
    for precedence, delay in DEFAULT_ACK_DEADLINES.items():
        msg = make_message(precedence=precedence)
        assert msg.ack_deadline == T0 + delay


def test_policy_is_configurable_and_validated() -> None:
    policy = AckPolicy(deadlines={Precedence.FLASH: 2 * MIN})
    assert policy.deadline(Precedence.FLASH, T0) == T0 + 2 * MIN
    assert policy.deadline(Precedence.ROUTINE, T0) == T0 + 360 * MIN  # default kept
    with pytest.raises(ValueError, match="more urgent"):
        AckPolicy(deadlines={Precedence.FLASH: 20 * MIN})
    with pytest.raises(ValueError, match="> 0"):
        AckPolicy(deadlines={Precedence.FLASH: timedelta(0)})
    with pytest.raises(ValueError, match="<="):
        AckPolicy(deadlines={Precedence.ROUTINE: timedelta(days=8)})


def test_deadline_runs_from_delivery_and_delivery_is_idempotent() -> None:
    queued = make_message(delivered=False)
    assert queued.ack_deadline is None
    later = T0 + timedelta(hours=3)
    delivered = deliver(queued, now=later, policy=AckPolicy())
    assert delivered.ack_deadline == later + 5 * MIN
    assert deliver(delivered, now=later + MIN, policy=AckPolicy()) == delivered


def test_parse_precedence() -> None:
    assert parse_precedence(" FLASH ") is Precedence.FLASH
    with pytest.raises(InvalidInputError) as info:
        parse_precedence("urgent")
    assert info.value.field == "precedence"
    assert [p.rank for p in Precedence] == [0, 1, 2, 3]


def test_only_the_recipient_acknowledges() -> None:
    msg = make_message()
    with pytest.raises(NotRecipientError, match="own message"):
        acknowledge(msg, [], party="blue", answer="received", now=T0)
    with pytest.raises(NotRecipientError, match="only the recipient"):
        acknowledge(msg, [], party="green", answer="received", now=T0)
    assert issubclass(NotRecipientError, ForbiddenError)


def test_acking_twice_with_the_same_answer_is_an_error() -> None:
    msg = make_message()
    first = acknowledge(msg, [], party="red", answer="received", now=T0 + MIN)
    assert first == Ack(msg.id, msg.recipient, AckAnswer.RECEIVED, T0 + MIN)
    with pytest.raises(AckConflictError, match="already acknowledged 'received'"):
        acknowledge(msg, [first], party="red", answer="received", now=T0 + 2 * MIN)


def test_progression_and_its_limits() -> None:
    msg = make_message()
    acks: list[Ack] = []
    for i, answer in enumerate(["received", "understood", "will_comply"], start=1):
        acks.append(acknowledge(msg, acks, party="red", answer=answer, now=T0 + i * MIN))
    assert latest_answer(acks) is AckAnswer.WILL_COMPLY
    assert first_ack_at(acks) == T0 + MIN
    with pytest.raises(AckConflictError, match="cannot follow"):
        acknowledge(msg, acks[2:], party="red", answer="understood", now=T0 + 5 * MIN)
    unable = acknowledge(msg, acks, party="red", answer="unable", now=T0 + 6 * MIN, reason="fuel")
    assert unable.reason == "fuel"
    with pytest.raises(AckConflictError, match="already acknowledged 'will_comply'"):
        acknowledge(msg, [*acks, unable], party="red", answer="will_comply", now=T0 + 7 * MIN)
    early_unable = acknowledge(
        msg, acks[:1], party="red", answer="unable", now=T0 + MIN, reason="x"
    )
    with pytest.raises(AckConflictError, match="answered 'unable'"):
        acknowledge(
            msg, [acks[0], early_unable], party="red", answer="will_comply", now=T0 + 7 * MIN
        )


def test_skipping_straight_to_will_comply_is_allowed() -> None:
    msg = make_message()
    wilco = acknowledge(msg, [], party="red", answer="will_comply", now=T0)
    with pytest.raises(AckConflictError):
        acknowledge(msg, [wilco], party="red", answer="received", now=T0)


def test_unable_needs_a_reason_and_others_take_none() -> None:
    msg = make_message()
    with pytest.raises(FieldErrors) as info:
        acknowledge(msg, [], party="red", answer="unable", now=T0)
    assert info.value.field == "reason"
    with pytest.raises(FieldErrors, match="only allowed"):
        acknowledge(msg, [], party="red", answer="received", now=T0, reason="why not")
    with pytest.raises(InvalidInputError) as too_long:
        acknowledge(msg, [], party="red", answer="unable", now=T0, reason="x" * 4001)
    assert too_long.value.field == "reason"


def test_bad_answer_undelivered_and_time_order() -> None:
    msg = make_message()
    with pytest.raises(InvalidInputError) as info:
        acknowledge(msg, [], party="red", answer="maybe", now=T0)
    assert info.value.field == "answer"
    with pytest.raises(InvalidInputError, match="not been delivered"):
        acknowledge(make_message(delivered=False), [], party="red", answer="received", now=T0)
    with pytest.raises(InvalidInputError, match="before the message was delivered"):
        acknowledge(msg, [], party="red", answer="received", now=T0 - MIN)
    first = acknowledge(msg, [], party="red", answer="received", now=T0 + 2 * MIN)
    with pytest.raises(InvalidInputError, match="previous acknowledgement"):
        acknowledge(msg, [first], party="red", answer="understood", now=T0 + MIN)


ANSWERS = st.lists(st.sampled_from(list(AckAnswer)), max_size=8)


@settings(max_examples=200, deadline=None)
@given(ANSWERS)
def test_any_accepted_sequence_is_strictly_progressing(answers: list[AckAnswer]) -> None:
    msg = make_message()
    acks: list[Ack] = []
    order = {AckAnswer.RECEIVED: 1, AckAnswer.UNDERSTOOD: 2, AckAnswer.WILL_COMPLY: 3}
    for i, answer in enumerate(answers):
        reason = "reason" if answer is AckAnswer.UNABLE else None
        with contextlib.suppress(AckConflictError):
            acks.append(
                acknowledge(msg, acks, party="red", answer=answer, now=T0 + i * MIN, reason=reason)
            )
    given_answers = [a.answer for a in acks]
    assert len(set(given_answers)) == len(given_answers)  # never the same answer twice
    if AckAnswer.UNABLE in given_answers:
        assert given_answers[-1] is AckAnswer.UNABLE  # nothing after unable
    ranks = [order[a] for a in given_answers if a in order]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    # the first answer offered is always accepted
    if answers:
        assert acks and acks[0].answer is answers[0]
