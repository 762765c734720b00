"""``detect`` on a DataFrame: the fast column access and table build equal the public pandas path.

``frame._stored_values`` reads a column's stored array without building a Series and
``frame._table`` assembles the result without per-column inference (session 4: ``detect`` on a
20-row frame 0.8 ms -> see docs/benchmarks.md). Here both are switched off (monkeypatched to
the public path) and every answer and error must be the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deconflict.errors import InvalidInputError
from deconflict.tactical import detect, frame


def states(n: int, seed: int, *, int_alt: bool = False, object_ids: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = [f" AC{k:03d}" for k in rng.permutation(n)]
    out = pd.DataFrame(
        {
            "id": np.array(ids, dtype=object) if object_ids else ids,
            "lat": rng.uniform(46.0, 46.4, n),
            "lon": rng.uniform(7.0, 7.5, n),
            "alt_ft": rng.integers(300, 320, n) * 100 if int_alt else rng.uniform(3e4, 3.2e4, n),
            "gs_kt": rng.uniform(300.0, 500.0, n),
            "track_deg": rng.uniform(0.0, 360.0, n),
            "vs_fpm": np.zeros(n),
            "party": [f"P{k % 3}" for k in range(n)],
        }
    )
    if object_ids:
        out["id"] = out["id"].astype(object)
    return out


def public_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frame, "_stored_values", lambda _frame, _name: None)
    monkeypatch.setattr(frame, "_table", lambda columns, _rows: pd.DataFrame(columns))


@pytest.mark.parametrize(("n", "int_alt", "object_ids"), [(20, False, False), (60, True, True)])
def test_fast_detect_equals_public_pandas_path(
    monkeypatch: pytest.MonkeyPatch, n: int, int_alt: bool, object_ids: bool
) -> None:
    table = states(n, n, int_alt=int_alt, object_ids=object_ids)
    fast = detect(table)
    fast_no_party = detect(table.drop(columns="party"))
    assert len(fast) > 0  # the table build is exercised
    with monkeypatch.context() as m:
        public_path(m)
        pd.testing.assert_frame_equal(fast, detect(table))
        pd.testing.assert_frame_equal(fast_no_party, detect(table.drop(columns="party")))
        slow_columns = frame._validated_columns(table, 0)
    for name, values in frame._validated_columns(table, 0).items():
        assert np.array_equal(values, slow_columns[name]), name


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("lat", 91.0, "outside"),
        ("lon", float("nan"), "missing value"),
        ("gs_kt", -1.0, "negative"),
        ("alt_ft", float("inf"), "finite"),
        ("id", "  ", "missing value"),
    ],
)
def test_bad_values_fall_back_to_the_exact_errors(column: str, value: object, reason: str) -> None:
    table = states(20, 3)
    table[column] = table[column].astype(object) if column == "id" else table[column]
    table.loc[7, column] = value
    with pytest.raises(InvalidInputError) as err:
        detect(table)
    assert err.value.field == column and err.value.row == 8 and reason in err.value.reason


def test_result_frames_are_independent() -> None:
    table = states(20, 5)
    first = detect(table.iloc[:2])  # no conflict: a copy of the empty template
    first["extra"] = 1.0
    assert "extra" not in detect(table.iloc[:2]).columns
    found = detect(table)
    found.loc[0, "hmd_nm"] = -1.0
    assert (detect(table)["hmd_nm"] >= 0.0).all()
