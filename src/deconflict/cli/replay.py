"""``deconflict replay``: a recording re-timed to now, through the live gateway (see
:mod:`deconflict.cli.feed`, which holds the implementation shared with ``deconflict feed``)."""

from __future__ import annotations

import typer

from deconflict.cli.feed import replay_command


def register(app: typer.Typer) -> None:
    """Register ``deconflict replay``."""
    app.command("replay", help="Re-time a recording to now and feed it to the broker.")(
        replay_command
    )
