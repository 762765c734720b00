"""``deconflict warm-up``: compile the detection kernels into numba's on-disk cache.

The tactical kernel, the live cycle's density kernel and the DAA kernels (alert levels, bands,
coordinated guidance) are compiled with ``cache=True``. A process that finds them cached loads
them in well under a second; the first process after an install (or after the sources changed)
compiles them, which takes about a minute on two cores. ``deconflict serve`` and the detection
process always warm up before serving, so that no live cycle compiles anything; ``make demo``
and ``make test`` run this command first so that the demo's start and the tests do not pay for
the compilation (and two test workers do not compile the same kernels side by side).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import typer

from deconflict.daa.warmup import warm_up as warm_up_daa
from deconflict.live import _jit as live_jit
from deconflict.tactical import warm_up as warm_up_tactical

__all__ = ["KERNELS", "register", "warm_kernels"]

KERNELS: tuple[tuple[str, Callable[[], None]], ...] = (
    ("tactical conflict kernel", warm_up_tactical),
    ("live density kernel", live_jit.warm_up),
    ("DAA kernels (alert levels, bands, guidance)", warm_up_daa),
)
"""(what, warm-up function) of every compiled kernel family, in load order."""


def warm_kernels(report: Callable[[str, float], None] | None = None) -> float:
    """Compile or load every kernel family; ``report(what, seconds)`` after each. Returns the
    total wall time, s."""
    total = 0.0
    for what, warm in KERNELS:
        t0 = time.perf_counter()
        warm()
        took = time.perf_counter() - t0
        total += took
        if report is not None:
            report(what, took)
    return total


def register(app: typer.Typer) -> None:
    """Register ``warm-up`` on ``app``."""

    @app.command("warm-up")
    def warm_up() -> None:
        """Compile the detection kernels into numba's on-disk cache (first run after an install:
        about a minute on two cores; later runs load them in under a second)."""
        total = warm_kernels(lambda what, s: typer.echo(f"{what}: {s:.1f} s"))
        typer.echo(f"kernels ready in {total:.1f} s")
