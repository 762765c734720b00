"""Hotline tables (migration ``0004_hotline``): threads, messages, acknowledgements,
escalations, channels and their events, communications checks, escalation ladders, incidents,
incident parties and incident acts. The workflow is :mod:`deconflict.broker.hotline`.
"""

from __future__ import annotations

from deconflict.store.hotline_sql.tables import (
    hotline_acks,
    hotline_channel_events,
    hotline_channels,
    hotline_comm_checks,
    hotline_escalations,
    hotline_incident_acts,
    hotline_incident_parties,
    hotline_incidents,
    hotline_ladders,
    hotline_messages,
    hotline_threads,
)

__all__ = [
    "hotline_acks",
    "hotline_channel_events",
    "hotline_channels",
    "hotline_comm_checks",
    "hotline_escalations",
    "hotline_incident_acts",
    "hotline_incident_parties",
    "hotline_incidents",
    "hotline_ladders",
    "hotline_messages",
    "hotline_threads",
]
