"""Validation of columnar track batches (deconflict.live.batch)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.errors import DeconflictError, InvalidInputError
from deconflict.live.batch import BatchTooLargeError, parse_batch

NOW = 1_795_000_000.0


def body(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "time": NOW,
        "id": ["a", "b"],
        "lat": [34.0, 35.0],
        "lon": [33.0, 34.0],
        "alt_ft": [25000, 30000],
        "gs_kt": [450, 400],
        "track_deg": [90, 360],
        "vs_fpm": [0, -1000],
    }
    base.update(over)
    return base


def parse(payload: Any, max_rows: int = 100) -> Any:
    return parse_batch(payload, now_s=NOW, max_rows=max_rows, max_future_s=10, max_past_s=120)


def test_valid_batch_and_per_row_times() -> None:
    iso = datetime.fromtimestamp(NOW, tz=UTC).isoformat().replace("+00:00", "Z")
    batch = parse(body(time=[iso, NOW - 5], callsign=["X1", ""]))
    assert batch.ids == ["a", "b"] and batch.callsigns == ["X1", ""]
    assert batch.columns["track_deg"].tolist() == [90.0, 0.0]
    assert batch.columns["time_s"][1] == NOW - 5


@pytest.mark.parametrize(
    ("over", "field", "row"),
    [
        ({"lat": [34.0, float("nan")]}, "lat", 2),
        ({"lon": [33.0, 181.0]}, "lon", 2),
        ({"alt_ft": [True, 1000]}, "alt_ft", 1),
        ({"gs_kt": ["fast", 1]}, "gs_kt", 1),
        ({"vs_fpm": [0]}, "vs_fpm", None),
        ({"time": NOW + 60}, "time", 1),
        ({"time": NOW - 3600}, "time", 1),
        ({"time": "2026-11-18T10:13:20"}, "time", 1),
        ({"time": [NOW, 10**400]}, "time", 2),
        ({"lat": [34.0, 10**400]}, "lat", None),
        ({"id": ["a", ""]}, "id", 2),
        ({"extra": [1, 2]}, "extra", None),
    ],
)
def test_invalid_values_name_field_and_row(
    over: dict[str, Any], field: str, row: int | None
) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse(body(**over))
    assert info.value.field == field
    assert info.value.row == row


def test_oversize_batch_is_413() -> None:
    rows = 101
    with pytest.raises(BatchTooLargeError) as info:
        parse(body(id=[f"x{k}" for k in range(rows)]))
    assert info.value.status == 413


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["id", "time", "lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm", "callsign", "x"]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(),
            st.text(),
            st.lists(
                st.one_of(st.integers(), st.floats(), st.text(), st.booleans(), st.none()),
                max_size=4,
            ),
        ),
    )
)
def test_garbage_is_a_typed_error_never_a_crash(payload: dict[str, Any]) -> None:
    with contextlib.suppress(DeconflictError):
        parse(payload)
