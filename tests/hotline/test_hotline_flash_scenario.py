"""Issue 6, section 3, in the pure core: a FLASH safety-of-flight warning goes unanswered,
escalates at its deadline, then the receiver answers "will comply"; both sides render it."""

from __future__ import annotations

from datetime import timedelta

from hotline_examples import T0, make_message

from deconflict.hotline import (
    Ack,
    AckAnswer,
    AckPolicy,
    EscalationTarget,
    Precedence,
    acknowledge,
    default_ladder,
    escalation_due,
    render_ack,
    render_escalation,
    render_message,
)

MIN = timedelta(minutes=1)


def test_flash_warning_escalates_then_will_comply() -> None:
    message = make_message("safety_of_flight_warning", precedence=Precedence.FLASH)
    assert message.ack_deadline == AckPolicy().deadline(Precedence.FLASH, T0) == T0 + 5 * MIN
    ladder = default_ladder("red")
    log: list[tuple[str, object]] = [("sent", message.id)]
    acks: list[Ack] = []
    done: set[int] = set()
    for minute in range(0, 13):  # the broker polls every minute
        now = T0 + minute * MIN
        if minute == 12:
            acks.append(acknowledge(message, acks, party="red", answer="will_comply", now=now))
            log.append(("ack", acks[-1].answer))
        for step in escalation_due(message, acks, ladder, now, done=done):
            done.add(step.level)
            log.append(("escalated", step.target))
    assert log == [
        ("sent", "m1"),
        ("escalated", EscalationTarget.DUTY_OFFICER),
        ("escalated", EscalationTarget.SENIOR_DUTY_OFFICER),
        ("ack", AckAnswer.WILL_COMPLY),
    ]
    assert escalation_due(message, acks, ladder, T0 + 60 * MIN, done=done) == []
    # the sender (blue, English) and the receiver (red, Russian) see the same facts
    sender_view = render_message(message, lang="en").as_text()
    receiver_view = render_message(message, lang="ru").as_text()
    assert "FLASH — Safety-of-flight warning" in sender_view
    assert "МОЛНИЯ — Предупреждение о безопасности полётов" in receiver_view
    for view in (sender_view, receiver_view):
        assert "2026-11-26 10:05 UTC" in view
    assert render_ack(acks[0], lang="en") == (
        "red answered: Will comply (wilco) at 2026-11-26 10:12 UTC"
    )
    assert render_ack(acks[0], lang="ru") == "red: ответ «Будет выполнено», 2026-11-26 10:12 UTC"
    steps = escalation_due(message, [], ladder, T0 + 5 * MIN)
    assert "escalated to Duty officer" in render_escalation(steps[0], lang="en")
