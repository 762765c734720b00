"""``deconflict private push|sync``: private deconfliction, run by each party on its own machine.

``push PLANS.geojson --broker URL --key KEY --state DIR [--party NAME]`` discretises the party's
volumes (the ``plan check`` GeoJSON profile) into 4D cells for every private agreement, blinds
them with fresh secrets (a new epoch) and uploads the padded blinded sets. One JSON line per
agreement: ``{"agreement", "epoch", "volumes", "cells", "padded"}``.

``sync --broker URL --key KEY --state DIR [--reveal]`` answers the counterparts' blinded sets,
collects the intersections and prints one JSON line per own volume in conflict::

    {"agreement", "epoch", "own_volume", "counterpart", "cells": [{"h3", "slot", "layer"}],
     "cell_count", "window": {"start", "end"}, "band_ft_amsl": {"lower", "upper"}}

With ``--reveal`` (the party's consent) it also sends the counterpart, end-to-end encrypted, its
conflicting volumes clipped to the intersecting time slots, and prints the exact overlaps once
the counterpart has revealed too: ``{"agreement", "own_volume", "counterpart",
"counterpart_volume", "overlap", "agreed"}`` (``agreed``: both clients computed the same
overlaps; null until the counterpart's verdict arrives). A reveal is withheld past the
counterpart's disclosure budget of the party's plans (``--max-reveal-km2h`` sets a tighter own
cap); an intersection opens a hotline thread with the counterpart through the broker, which is
told the cell count only (``--no-hotline``: not even that). ``--workers N`` spreads the group
operations over N threads (0: one per core). Status notes go to stderr. Evidence of a
misbehaving relay (substituted or replayed sets) is an error: exit code 2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from deconflict.errors import InvalidInputError
from deconflict.formats.geojson import read_plan
from deconflict.private.cells import DEFAULT_MAX_CELLS
from deconflict.private.client import RelayClient, push, sync
from deconflict.private.state import StateDir

BrokerOption = Annotated[str, typer.Option("--broker", help="Broker base URL (https://...)")]
KeyOption = Annotated[str, typer.Option("--key", help="The party's API key")]
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        min=0,
        help="Threads for the group operations (0: one per CPU core; 1: a single core)",
    ),
]
StateOption = Annotated[
    Path, typer.Option("--state", help="Local secret state directory (created; keep it private)")
]


def _line(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":")) + "\n"


def _workers(n: int) -> int:
    return n or max(1, min(os.cpu_count() or 1, 16))


def register(app: typer.Typer) -> None:
    """Register ``private`` (``push``, ``sync``) on ``app``."""
    private_app = typer.Typer(
        help="Private mode: find plan conflicts without the broker seeing the plans."
    )

    @private_app.command("push")
    def push_command(
        plans: Annotated[Path, typer.Argument(help="GeoJSON plan file (plan check profile)")],
        broker: BrokerOption,
        key: KeyOption,
        state: StateOption,
        party: Annotated[
            str | None, typer.Option("--party", help="Use only this party's features")
        ] = None,
        max_cells: Annotated[
            int, typer.Option("--max-cells", help="Cap on the 4D cells of one volume", min=1)
        ] = DEFAULT_MAX_CELLS,
        workers: WorkersOption = 0,
    ) -> None:
        """Blind and upload the party's cells for each private agreement (a new epoch)."""
        try:
            text = plans.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(field="PLANS", reason=f"cannot read {plans}: {exc}") from None
        plan = read_plan(text)
        relay = RelayClient(broker, key)
        out = push(
            plan.volumes,
            relay,
            StateDir(state),
            party=party,
            max_cells=max_cells,
            workers=_workers(workers),
        )
        sys.stdout.write("".join(_line(o) for o in out))
        if not out:
            sys.stderr.write("no private agreement for this party\n")

    @private_app.command("sync")
    def sync_command(
        broker: BrokerOption,
        key: KeyOption,
        state: StateOption,
        reveal: Annotated[
            bool,
            typer.Option("--reveal", help="Consent: reveal conflicting volume parts (E2E)"),
        ] = False,
        workers: WorkersOption = 0,
        max_reveal_km2h: Annotated[
            float | None,
            typer.Option(
                "--max-reveal-km2h",
                min=0.0,
                help="Own cap on one reveal (km^2 x h), on top of the disclosure budget",
            ),
        ] = None,
        hotline: Annotated[
            bool,
            typer.Option(
                "--hotline/--no-hotline",
                help="Tell the broker the sets meet (cell count only) so it opens a hotline "
                "thread with the counterpart",
            ),
        ] = True,
    ) -> None:
        """Answer the counterparts, print conflicts as cells (and exact overlaps with --reveal)."""
        relay = RelayClient(broker, key)
        report = sync(
            relay,
            StateDir(state),
            reveal=reveal,
            workers=_workers(workers),
            max_reveal_km2h=max_reveal_km2h,
            hotline=hotline,
        )
        sys.stdout.write("".join(_line(c) for c in report.conflicts))
        sys.stdout.write("".join(_line(o) for o in report.overlaps))
        for note in report.notes:
            sys.stderr.write(note + "\n")
        sys.stderr.write(
            f"{len(report.conflicts)} conflicting volumes, {len(report.overlaps)} exact overlaps\n"
        )

    app.add_typer(private_app, name="private")
