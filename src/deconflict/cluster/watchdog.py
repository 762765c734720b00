"""Hung-leader watchdog: give the leader lease up when a detection cycle never finishes.

A leader whose cycle thread hangs (a deadlock, I/O that never returns) would keep its session
advisory lock (:class:`deconflict.cluster.lease.LeaderLease`) for ever: PostgreSQL frees the lock
only when the session ends, and the process is otherwise alive (it still answers ``/health``).
:class:`CycleWatchdog` runs in its own thread and, when the cycle in flight has been running for
longer than ``limit_s`` seconds, calls ``on_hung`` once for that cycle; the broker then closes
the lease connection (PostgreSQL frees the lock at once, another replica takes over within its
poll period) and demotes itself, so the stuck cycle's writes are refused by the fencing check
of its write transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("deconflict.live")

MIN_WATCHDOG_S = 30.0
"""Smallest default watchdog limit, s (a slow cycle on a loaded host is not a hung one)."""
WATCHDOG_CYCLES = 30
"""Default limit in detection intervals: ``max(MIN_WATCHDOG_S, WATCHDOG_CYCLES * interval_s)``."""


def default_watchdog_s(interval_s: float) -> float:
    """The default limit for a cycle, s: ``max(30 s, 30 x interval_s)`` (``interval_s`` in s)."""
    return max(MIN_WATCHDOG_S, WATCHDOG_CYCLES * float(interval_s))


class CycleWatchdog:
    """Calls ``on_hung(running_s)`` once per cycle that runs longer than ``limit_s`` seconds.

    Parameters
    ----------
    started:
        Returns the ``clock()`` time at which the cycle in flight started, or ``None`` when no
        cycle runs (the broker sets it around each cycle; reading it needs no lock).
    limit_s:
        Longest allowed cycle, s (> 0).
    on_hung:
        Called from the watchdog thread with the cycle's running time in s; must be thread-safe
        and must not wait for the cycle.
    clock:
        Monotonic clock in s (the same one ``started`` uses).
    """

    def __init__(
        self,
        started: Callable[[], float | None],
        limit_s: float,
        on_hung: Callable[[float], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not limit_s > 0:
            raise ValueError(f"limit_s must be > 0, got {limit_s!r}")
        self._started = started
        self.limit_s = float(limit_s)
        self._on_hung = on_hung
        self._clock = clock
        self._fired_for: float | None = None
        self.fired = 0
        """How many hung cycles were reported."""

    def check(self) -> bool:
        """One check; ``True`` when it reported a hung cycle (at most once per cycle)."""
        started = self._started()
        if started is None or started == self._fired_for:
            return False
        running = self._clock() - started
        if running <= self.limit_s:
            return False
        self._fired_for = started
        self.fired += 1
        try:
            self._on_hung(running)
        except Exception:  # the watchdog must keep watching
            log.exception("hung-cycle handler failed")
        return True

    def poll_s(self) -> float:
        """Time between checks, s: a tenth of the limit, between 0.05 and 1 s."""
        return min(1.0, max(0.05, self.limit_s / 10.0))

    def run(self, stop: threading.Event) -> None:
        """Check every :meth:`poll_s` until ``stop`` is set (blocking; run it in a thread)."""
        while not stop.wait(self.poll_s()):
            self.check()

    def start(self, stop: threading.Event) -> threading.Thread:
        """Run :meth:`run` in a daemon thread (stopped by setting ``stop``); returns it."""
        thread = threading.Thread(
            target=self.run, args=(stop,), name="deconflict-cycle-watchdog", daemon=True
        )
        thread.start()
        return thread
