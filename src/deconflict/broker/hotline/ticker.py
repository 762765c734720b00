"""The hotline's periodic work: due escalation steps and communications checks."""

from __future__ import annotations

from datetime import datetime

from deconflict.broker.hotline.channels import run_comm_checks
from deconflict.broker.hotline.messages import run_escalations
from deconflict.store.base import Database


def tick(db: Database, now: datetime) -> tuple[int, dict[str, int]]:
    """One pass at ``now``: take due escalation steps, issue and check communications checks.

    Returns (escalation steps taken, {"issued": n, "missed": n}). Idempotent per ``now``.
    """
    with db.write() as session:
        steps = run_escalations(session, now=now)
        checks = run_comm_checks(session, now=now)
    return len(steps), checks
