"""End to end on a real broker (uvicorn, loopback): two parties push and sync with the CLI,
find their conflict as cells, reveal, agree on the exact overlap (== open mode), and the broker's
whole database and logs hold none of their coordinates, cell ids or plan times."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from private_kit import LiveBroker, dump_database, seed_private, split_example
from shapely.geometry import shape

from deconflict.cli import main
from deconflict.cli.plan import check_plan
from deconflict.private.cells import Grid

GRID = Grid(resolution=5, slot_s=900, layer_ft=2000)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


def _coords(obj: Any) -> list[float]:
    if isinstance(obj, int | float) and not isinstance(obj, bool):
        return [float(obj)]
    if isinstance(obj, list):
        return [c for item in obj for c in _coords(item)]
    return []


def _decimal_forms(x: float) -> set[str]:
    forms = {repr(x), f"{x:.7f}", f"{x:.6f}", f"{x:.5f}", f"{x:.4f}"}
    return {f for f in forms if len(f.replace("-", "").replace(".", "")) >= 5}


def test_two_parties_find_their_conflict_privately(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = seed_private(tmp_path, GRID)
    plans_a, plans_b, doc = split_example(tmp_path)
    sa, sb = str(tmp_path / "state_a"), str(tmp_path / "state_b")
    with LiveBroker(env) as broker:
        ka = ["--broker", broker.url, "--key", env.keys["A.duty_officer"]]
        kb = ["--broker", broker.url, "--key", env.keys["B.duty_officer"]]
        code, pushed_a, _ = _run(capsys, "private", "push", str(plans_a), *ka, "--state", sa)
        assert code == 0 and pushed_a[0]["epoch"] == 1 and pushed_a[0]["padded"] >= 1024
        code, pushed_b, _ = _run(capsys, "private", "push", str(plans_b), *kb, "--state", sb)
        assert code == 0 and 0 < pushed_b[0]["cells"] <= pushed_b[0]["padded"]
        code, first, err = _run(capsys, "private", "sync", *ka, "--state", sa)
        assert code == 0 and first == [] and "waiting" in err  # B has not answered yet
        code, conflicts_b, _ = _run(capsys, "private", "sync", *kb, "--state", sb, "--reveal")
        assert code == 0
        code, conflicts_a, _ = _run(capsys, "private", "sync", *ka, "--state", sa, "--reveal")
        assert code == 0
        code, conflicts_b2, _ = _run(capsys, "private", "sync", *kb, "--state", sb, "--reveal")
        assert code == 0
        code, conflicts_a2, _ = _run(capsys, "private", "sync", *ka, "--state", sa, "--reveal")
        assert code == 0

    # open mode on the combined file: the reference
    _, open_lines = check_plan(json.dumps(doc))
    open_pairs = [json.loads(line) for line in open_lines if line.startswith('{"a"')]
    assert open_pairs
    cells_a = [c for c in conflicts_a if "cells" in c]
    cells_b = [c for c in conflicts_b if "cells" in c]
    # completeness: every open-mode conflict shows up on both sides as cells
    for pair in open_pairs:
        blue, red = (
            (pair["a"], pair["b"]) if pair["parties"][0] == "blue" else (pair["b"], pair["a"])
        )
        assert blue in {c["own_volume"] for c in cells_a}
        assert red in {c["own_volume"] for c in cells_b}
    for c in cells_a + cells_b:
        assert c["counterpart"] and c["cell_count"] >= len(c["cells"]) > 0
        assert c["window"]["start"] < c["window"]["end"]
    # the cells one side lists are cells the other side also holds
    listed_a = {(x["h3"], x["slot"], x["layer"]) for c in cells_a for x in c["cells"]}
    listed_b = {(x["h3"], x["slot"], x["layer"]) for c in cells_b for x in c["cells"]}
    if all(c["cell_count"] == len(c["cells"]) for c in cells_a + cells_b):
        assert listed_a == listed_b
    # soundness of reveal: exact overlaps == open mode, and both clients agree
    assert [o["agreed"] for o in conflicts_a if "overlap" in o] == [None] * len(open_pairs)
    overlaps_a = [o for o in conflicts_a2 if "overlap" in o]
    overlaps_b = [o for o in conflicts_b2 if "overlap" in o]
    assert len(overlaps_a) == len(overlaps_b) == len(open_pairs)
    assert all(o["agreed"] is True for o in overlaps_a + overlaps_b)
    for pair in open_pairs:
        mine = [
            o
            for o in overlaps_a
            if {o["own_volume"], o["counterpart_volume"]} == {pair["a"], pair["b"]}
        ]
        assert len(mine) == 1
        got, want = mine[0]["overlap"], pair["overlap"]
        for k in ("start", "end", "alt_lower_ft", "alt_upper_ft", "alt_reference", "approximate"):
            assert got[k] == want[k], k
        g, w = shape(got["geometry"]), shape(want["geometry"])
        assert g.symmetric_difference(w).area <= 2e-3 * w.area  # outlines within ~1.5 m

    # leak test: the broker's whole database and logs
    text, blobs = dump_database(env.db_file)
    logs = "\n".join(env.logs)
    assert logs  # the logs were captured
    haystacks = (text, logs)
    plan_text = json.dumps(doc)
    probed = found = 0
    for feature in doc["features"]:
        geometry = feature["geometry"]
        for x in _coords(geometry["coordinates"]):
            probed += 1
            found += any(form in plan_text for form in _decimal_forms(x))
            for form in _decimal_forms(x):
                assert all(form not in h for h in haystacks), form
        props = feature["properties"]
        for key in ("start", "end"):
            stamp = props[key]
            for form in (
                stamp,
                stamp[:16],
                stamp.replace("Z", "+00:00"),
                stamp.replace("T", " ")[:16],
            ):
                assert all(form not in h for h in haystacks), form
    assert found == probed > 0  # the probe finds the coordinates where they are
    for state in (sa, sb):
        with np.load(Path(state) / "agreements" / env.agreement_id / "cells.npz") as data:
            h3_ids = data["h3"]
            slots = data["slot"]
        assert len(h3_ids) > 0
        for cell in np.unique(h3_ids):
            hexid = format(int(cell), "x")
            assert all(hexid not in h for h in haystacks), hexid
            assert int(cell).to_bytes(8, "big") not in blobs
            assert int(cell).to_bytes(8, "little") not in blobs
        for slot in np.unique(slots):
            seconds = str(int(slot) * GRID.slot_s)
            assert all(seconds not in h for h in haystacks)
