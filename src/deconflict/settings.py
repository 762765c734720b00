"""The one validated settings object of the broker (pydantic-settings, env prefix ``DECONFLICT_``).

Nothing reads settings at import time: build ``Settings()`` (environment variables such as
``DECONFLICT_DB_URL`` override the defaults) and pass it to
:func:`deconflict.web.app.create_app` and to CLI commands.

The default store is an embedded SQLite file ``<data_dir>/deconflict.sqlite3``; ``data_dir``
defaults to ``./data`` relative to the working directory (``make demo`` runs from the repository
root, so the demo's database lives in ``<repo>/data``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Default lead times (hours) per activity category: a notice submitted later than this before
#: its first volume starts is accepted but flagged "late" to every party it conflicts with.
DEFAULT_LEAD_TIMES_H: dict[str, float] = {
    "air_operations": 1.0,
    "exercise": 72.0,
    "live_fire": 72.0,
    "uas": 1.0,
    "missile_launch": 72.0,
    "ew_laser": 24.0,
    "transit": 1.0,
    "other": 24.0,
}


class Settings(BaseSettings):
    """Broker settings; every field may be set by ``DECONFLICT_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="DECONFLICT_", extra="ignore", frozen=True)

    data_dir: Path = Field(Path("data"), description="Directory for the embedded database.")
    db_url: str = Field(
        "",
        description=(
            "SQLAlchemy URL; empty means sqlite:///<data_dir>/deconflict.sqlite3. "
            "postgresql://... is served through psycopg 3."
        ),
    )
    host: str = Field("127.0.0.1", description="Interface `deconflict serve` binds.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port `deconflict serve` binds.")
    stale_after_s: float = Field(30.0, gt=0, description="A track older than this is stale (s).")
    detection_interval_s: float = Field(
        1.0, gt=0, description="Period of the live conflict-detection background task (s)."
    )
    sse_heartbeat_s: float = Field(
        15.0, gt=0, description="Idle time after which the event stream sends a comment (s)."
    )
    sse_poll_s: float = Field(
        2.0,
        gt=0,
        description=(
            "The event stream re-reads the outbox at least this often (s), so events written by "
            "another process (CLI, second server) are delivered without an in-process wake-up."
        ),
    )
    live_detector: Literal["thread", "process"] = Field(
        "thread",
        description=(
            "Where the live detection cycle runs. thread (default): in the serving process. "
            "process (SQLite only): in a dedicated child process, so request handling and "
            "detection do not share one interpreter lock (docs/deployment.md, 'Dedicated "
            "detection process')."
        ),
    )
    live_no_lead: bool = Field(
        False,
        description=(
            "PostgreSQL replicas: never take the leader lease (this replica ingests and serves "
            "only; `deconflict serve --no-lead`; docs/deployment.md)."
        ),
    )
    live_watchdog_s: float | None = Field(
        None,
        gt=0,
        description=(
            "PostgreSQL replicas: a leader whose detection cycle runs longer than this (s) "
            "gives the lease up (hung-leader watchdog); empty: max(30, 30 x interval)."
        ),
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL",
        description=(
            "SQLite PRAGMA synchronous in WAL mode. NORMAL (default): a 2xx answer survives "
            "any crash of the server process (kill -9 is tested); FULL: it also survives a "
            "power loss or kernel crash, at one fsync per write (see docs/benchmarks.md). "
            "PostgreSQL keeps its own synchronous_commit setting."
        ),
    )
    sqlite_busy_timeout_ms: int = Field(
        10_000, ge=0, description="How long SQLite waits for another process's write lock (ms)."
    )
    probe_window_s: float = Field(
        600.0, gt=0, description="Sliding window of the probing defence (s)."
    )
    probe_max_refusals: int = Field(
        30,
        ge=1,
        description=(
            "Rejected plus cancelled notices a party may have in probe_window_s before further "
            "submissions get 429."
        ),
    )
    lead_times_h: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_LEAD_TIMES_H),
        description="Required notice lead time per activity category (hours).",
    )
    max_body_bytes: int = Field(
        2_000_000, ge=1024, description="Largest accepted request body (bytes)."
    )
    planning_horizon_days: float = Field(
        30.0, gt=0, description="Volumes may not start further than this in the future (days)."
    )

    @model_validator(mode="after")
    def _default_db_url(self) -> Settings:
        if not self.db_url:
            path = (self.data_dir / "deconflict.sqlite3").as_posix()
            object.__setattr__(self, "db_url", f"sqlite:///{path}")
        return self
