"""``deconflict plan check``: exact conflicts between the parties' volumes in a GeoJSON plan.

Reads a FeatureCollection in the profile of :mod:`deconflict.formats.geojson`, validates the
whole file (a rejected file prints nothing on stdout and exits 2), then writes JSON lines:

* one per conflicting pair of volumes of different parties::

    {"a", "b", "parties": [pa, pb], "overlap": {"geometry", "alt_lower_ft", "alt_upper_ft",
     "alt_reference", "approximate", "start", "end", "margins"}, "outcome": {...}}

  ``outcome`` applies the policy: advisory accepts and notifies both; f3548 names the volume
  that is refused (lower priority, or at equal priority the later one in file order);
* one per volume crossing an agreed line: ``{"line", "volume", "party", "depth_nm", "geometry"}``.

A summary goes to stderr: ``checked N volumes of P parties: K conflicts, L line conflicts``.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from deconflict.errors import InvalidInputError
from deconflict.formats.geojson import PlanFile, PlannedVolume, read_plan
from deconflict.strategic.engine import find_all_conflicts
from deconflict.strategic.lines import line_conflicts
from deconflict.strategic.policy import policy_by_name

_ORDER_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _outcome(policy_name: str, a: PlannedVolume, b: PlannedVolume) -> dict[str, Any]:
    policy = policy_by_name(policy_name)
    if policy_name == "advisory":
        return {"policy": "advisory", "decision": "accept", "notify": [a.party, b.party]}
    # file order stands for submission order: the later feature is the "new" one
    new, old = (a, b) if a.order > b.order else (b, a)
    decision = policy.decide(
        new.priority,
        old.priority,
        _ORDER_EPOCH + timedelta(seconds=new.order),
        _ORDER_EPOCH + timedelta(seconds=old.order),
    )
    return {
        "policy": policy_name,
        "decision": decision,
        "rejected": new.key if decision == "reject" else None,
        "notify": [a.party, b.party],
    }


def check_plan(
    text: str, *, policy: str = "advisory", half_open_time: bool = False
) -> tuple[PlanFile, list[str]]:
    """Run the check on a plan text; returns the plan and the JSON lines (validated first)."""
    policy_by_name(policy)
    plan = read_plan(text)
    by_key = {p.key: p for p in plan.volumes}
    items = [(p.key, p.party, p.volume) for p in plan.volumes]
    conflicts = find_all_conflicts(items, half_open_time=half_open_time)
    out: list[str] = []
    for c in conflicts:
        record = c.to_json()
        record["outcome"] = _outcome(policy, by_key[c.a], by_key[c.b])
        out.append(json.dumps(record, separators=(",", ":")))
    if plan.lines:
        for p in plan.volumes:
            for lc in line_conflicts(p.volume, p.party, plan.lines, key=p.key):
                out.append(json.dumps(lc.to_json(), separators=(",", ":")))
    return plan, out


def register(app: typer.Typer) -> None:
    """Register ``plan`` (with ``check``) on ``app``."""
    plan_app = typer.Typer(help="Strategic plans: exact 4D conflicts between parties' volumes.")

    @plan_app.command("check")
    def check(
        file: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection of volumes")],
        policy: Annotated[
            str, typer.Option("--policy", help="advisory (accept, notify both) or f3548")
        ] = "advisory",
        half_open_time: Annotated[
            bool, typer.Option("--half-open-time", help="time windows are [start, end)")
        ] = False,
    ) -> None:
        """Print one JSON line per conflicting pair of volumes (and per line crossing)."""
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(field="FILE", reason=f"cannot read {file}: {exc}") from None
        plan, lines = check_plan(text, policy=policy, half_open_time=half_open_time)
        sys.stdout.write("".join(line + "\n" for line in lines))
        parties = {p.party for p in plan.volumes}
        n_pairs = sum(1 for line in lines if line.startswith('{"a"'))
        sys.stderr.write(
            f"checked {len(plan.volumes)} volumes of {len(parties)} parties: "
            f"{n_pairs} conflicts, {len(lines) - n_pairs} line conflicts\n"
        )

    app.add_typer(plan_app, name="plan")
