"""Live wiring: the picture grades conflicts by the profile's levels and each party's alert
view carries only its own aircraft's guidance plus the flag that the other side got one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deconflict.broker.events import AlertView
from deconflict.broker.guidance import BandsView, own_bands
from deconflict.errors import NotFoundError
from deconflict.live.batch import parse_batch
from deconflict.live.engine import LiveConfig, LiveCore, alert_from_row, alert_record
from deconflict.live.picture import alert_view

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def batch(ident: str, lon: float, track: float, t: datetime) -> Any:
    payload = {
        "time": t.timestamp(),
        "id": [ident],
        "lat": [0.0],
        "lon": [lon],
        "alt_ft": [10000],
        "gs_kt": [300],
        "track_deg": [track],
        "vs_fpm": [0],
    }
    return parse_batch(payload, now_s=t.timestamp(), max_rows=10, max_future_s=10, max_past_s=120)


def run(profile: str, range_nm: float) -> tuple[LiveCore, list[Any]]:
    core = LiveCore(LiveConfig(profile=profile), new_alert_id=lambda: "LA1")
    events = []
    for k in range(3):
        t = T0 + timedelta(seconds=k)
        closing = 600 * k / 3600 / 60  # degrees of longitude flown towards each other
        core.ingest("blue", batch("B1", closing / 2, 90, t))
        core.ingest("red", batch("R1", range_nm / 60 - closing / 2, 270, t))
        events += core.cycle(t).events
    return core, events


@pytest.mark.parametrize(
    ("profile", "level", "severity"), [("do365b", 3, "warning"), ("cylinder", 1, "warning")]
)
def test_graded_alert_with_guidance_per_party(profile: str, level: int, severity: str) -> None:
    core, events = run(profile, 8.0)
    (alert,) = core.open_alerts()
    assert alert.profile == profile
    assert int(alert.metrics["level"]) == level
    assert alert.severity == severity
    assert set(alert.guidance) == {"B1", "R1"}
    blue = AlertView.model_validate(alert_view(alert, "blue"))
    red = AlertView.model_validate(alert_view(alert, "red"))
    assert blue.level == level and blue.profile == profile
    assert [g.aircraft for g in blue.guidance] == ["B1"]
    assert [g.aircraft for g in red.guidance] == ["R1"]
    assert blue.counterpart_guided and red.counterpart_guided
    # one side holds or both manoeuvre, never both turning towards each other
    sides = {blue.guidance[0].side, red.guidance[0].side}
    assert sides != {"left"} or blue.guidance[0].dimension != red.guidance[0].dimension
    # the red view never carries blue's manoeuvre text
    assert (
        blue.guidance[0].text not in str(red.model_dump())
        or blue.guidance[0].text == red.guidance[0].text
    )
    assert events[0].kind == "raised"
    # persisted and reloaded with its guidance
    row = alert_record(alert)
    again = alert_from_row(type("Row", (), {**row, "data": row["data"]})(), {})
    assert again.guidance == alert.guidance and again.profile == profile


def test_do365b_preventive_level_is_a_caution() -> None:
    """At 17 NM head-on, 600 kt closure, the pair is outside every alerting time: no alert;
    at 12 NM it is corrective (level 2): caution, not warning."""
    core, _ = run("do365b", 17.0)
    assert core.open_alerts() == []
    core, _ = run("do365b", 12.0)
    (alert,) = core.open_alerts()
    assert int(alert.metrics["level"]) == 2 and alert.severity == "caution"


def test_own_bands_for_the_dashboard_and_need_to_know() -> None:
    core, _ = run("do365b", 8.0)
    now = T0 + timedelta(seconds=2)
    view = own_bands(core, "blue", "B1", now)
    assert isinstance(view, BandsView) and view.profile == "do365b"
    assert {i.region for i in view.track_deg.intervals} >= {"NONE", "NEAR"}
    assert view.gs_kt.resolution == {"up": "+inf", "down": "-inf"}
    BandsView.model_validate(view.model_dump())
    with pytest.raises(NotFoundError):
        own_bands(core, "blue", "R1", now)  # red's aircraft: not found for blue
    with pytest.raises(NotFoundError):
        own_bands(core, "blue", "nope", now)
