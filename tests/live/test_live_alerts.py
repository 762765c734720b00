"""Alert lifecycle and hysteresis (deconflict.live.alerts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.errors import NotFoundError
from deconflict.live.alerts import AlertTracker, HysteresisPolicy, Observation, Subject

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def obs(t_in_s: float = 200.0, hmd_nm: float = 2.0, a: str = "b1", b: str = "r1") -> Observation:
    return Observation(
        kind="conflict",
        key=("conflict", a, b),
        parties=("BLUE", "RED"),
        subjects=(Subject("aircraft", "BLUE", a), Subject("aircraft", "RED", b)),
        t_in_s=t_in_s,
        metrics={"hmd_nm": hmd_nm, "vmd_ft": 300.0},
    )


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_raise_update_ack_resolve_sequence() -> None:
    tracker = AlertTracker(HysteresisPolicy(clear_cycles=3, clear_s=3.0))
    events = tracker.observe([obs(200.0)], at(0))
    assert [e.kind for e in events] == ["raised"]
    alert = events[0].alert
    assert alert.severity == "caution"
    # Small changes within the update interval: no event.
    assert tracker.observe([obs(199.0)], at(1)) == []
    # Crossing the warning threshold is an update, whatever the interval.
    events = tracker.observe([obs(119.0)], at(2))
    assert [(e.kind, e.alert.severity) for e in events] == [("updated", "warning")]
    ack = tracker.acknowledge(alert.id, "BLUE", at(3))
    assert ack is not None and ack.party == "BLUE"
    assert set(ack.alert.acked) == {"BLUE"}
    assert tracker.acknowledge(alert.id, "BLUE", at(3)) is None
    with pytest.raises(NotFoundError):
        tracker.acknowledge(alert.id, "CIVIL", at(3))
    # Absent for 2 cycles: still open; the third resolves.
    assert tracker.observe([], at(4)) == []
    assert tracker.observe([], at(5)) == []
    events = tracker.observe([], at(6))
    assert [e.kind for e in events] == ["resolved"]
    assert events[0].alert.id == alert.id
    assert tracker.open_alerts() == []


def test_reraise_within_hold_reuses_id_after_hold_new_id() -> None:
    policy = HysteresisPolicy(clear_cycles=2, clear_s=2.0, reraise_hold_s=30.0)
    tracker = AlertTracker(policy)
    first = tracker.observe([obs()], at(0))[0].alert
    tracker.observe([], at(1))
    assert tracker.observe([], at(2))[0].kind == "resolved"
    again = tracker.observe([obs()], at(10))
    assert again[0].kind == "raised" and again[0].reopened and again[0].alert.id == first.id
    tracker.observe([], at(11))
    tracker.observe([], at(12))
    later = tracker.observe([obs()], at(100))
    assert later[0].kind == "raised" and not later[0].reopened
    assert later[0].alert.id != first.id


def test_escalation_clears_acknowledgement() -> None:
    tracker = AlertTracker()
    alert = tracker.observe([obs(250.0)], at(0))[0].alert
    tracker.acknowledge(alert.id, "RED", at(1))
    assert "RED" in tracker.get(alert.id).acked
    tracker.observe([obs(100.0)], at(2))
    assert tracker.get(alert.id).acked == {}


def test_ack_is_per_party() -> None:
    tracker = AlertTracker()
    alert = tracker.observe([obs()], at(0))[0].alert
    tracker.acknowledge(alert.id, "BLUE", at(1))
    current = tracker.get(alert.id)
    assert "BLUE" in current.acked and "RED" not in current.acked


@settings(max_examples=150, deadline=None)
@given(
    pattern=st.lists(st.booleans(), min_size=1, max_size=200),
    clear_cycles=st.integers(min_value=1, max_value=6),
    hold_s=st.floats(min_value=0.0, max_value=60.0),
)
def test_flicker_produces_bounded_raises(
    pattern: list[bool], clear_cycles: int, hold_s: float
) -> None:
    """Random on/off sequences at 1 s cycles raise at most 1 + n // (clear_cycles + 1) times."""
    policy = HysteresisPolicy(clear_cycles=clear_cycles, clear_s=0.0, reraise_hold_s=hold_s)
    tracker = AlertTracker(policy)
    raises = 0
    ids: set[str] = set()
    open_now = False
    for k, on in enumerate(pattern):
        events = tracker.observe([obs()] if on else [], at(k))
        for event in events:
            if event.kind == "raised":
                assert not open_now, "raised while already open"
                raises += 1
                ids.add(event.alert.id)
                open_now = True
            elif event.kind == "resolved":
                assert open_now
                open_now = False
        if on:
            assert open_now, "an observed situation must have an open alert"
    n = len(pattern)
    assert raises <= 1 + n // (clear_cycles + 1)
    assert len(ids) <= 1 + n / (hold_s + clear_cycles)


def test_alternating_flicker_raises_once() -> None:
    tracker = AlertTracker(HysteresisPolicy(clear_cycles=2, clear_s=0.0))
    kinds = []
    for k in range(100):
        kinds += [e.kind for e in tracker.observe([obs()] if k % 2 == 0 else [], at(k))]
    assert kinds.count("raised") == 1


def test_figure_refreshes_are_capped_per_cycle_most_urgent_first() -> None:
    """A flood of drifting alerts (e.g. all raised in one cycle) publishes at most
    ``max_refreshes_per_cycle`` figure updates per cycle, smallest time to LoS first; the others
    follow in the next cycles, and a severity change is never held back."""
    tracker = AlertTracker(HysteresisPolicy(max_refreshes_per_cycle=3))
    names = [f"b{k}" for k in range(8)]
    first = tracker.observe([obs(300.0 - 5 * k, a=a) for k, a in enumerate(names)], at(0))
    assert [e.kind for e in first] == ["raised"] * 8
    # 10 s later every figure drifted by 20 s (a refresh each); b7 also became a warning
    drifted = [obs(280.0 - 5 * k, a=a) for k, a in enumerate(names[:7])] + [obs(100.0, a="b7")]
    events = tracker.observe(drifted, at(10))
    refs = [e.alert.subjects[0].ref for e in events]
    assert all(e.kind == "updated" for e in events)
    assert refs == ["b4", "b5", "b6", "b7"]  # cycle order kept; b7 is urgent, not counted
    events = tracker.observe(drifted, at(11))
    assert [e.alert.subjects[0].ref for e in events] == ["b1", "b2", "b3"]
    events = tracker.observe(drifted, at(12))
    assert [e.alert.subjects[0].ref for e in events] == ["b0"]
    assert tracker.observe(drifted, at(13)) == []
    # every published alert carries its latest figures
    assert {a.subjects[0].ref: a.t_in_s for a in tracker.open_alerts()}["b0"] == 280.0


def test_refresh_cap_must_be_positive() -> None:
    with pytest.raises(Exception, match="max_refreshes_per_cycle"):
        HysteresisPolicy(max_refreshes_per_cycle=0)
