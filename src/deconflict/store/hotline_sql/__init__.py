"""Hotline persistence (migration ``0004_hotline``) and the transactional service the API calls.

Tables (on :data:`deconflict.store.base.metadata`): threads, messages, acknowledgements,
escalations, channels and their events, communications checks, escalation ladders, incidents,
incident parties and incident acts. Rules are enforced twice: by the pure core
(:mod:`deconflict.hotline`) before anything is written, and by the schema where it can
(``UNIQUE(message_id, answer)`` on acknowledgements, primary key ``(message_id, level)`` on
escalations), so a race between two requests cannot record the same act twice.

Every function takes an open SQLAlchemy session and ``now``; the caller owns the transaction.
A message is persisted and its outbox event written in the same transaction, so the 201 the
sender receives means the message is durable and will reach the recipient's stream exactly once
(``Last-Event-ID`` replay). Every act is also appended to the tamper-evident log through
``deconflict.broker.audit.record`` when that module is installed.

Need-to-know: every read filters on the caller's party in SQL (a message is visible to its sender
and recipient only; an incident to the parties named in it). Every response and event is rendered
for one viewing party (:class:`~deconflict.store.hotline_sql.common.ViewerNames`): other parties
appear under the name their shared agreement dictates (its pseudonym when the agreement uses
pseudonyms, never the real name or id behind it), and a party can address only parties it shares
an agreement with (anything else is the same 404 as a party that does not exist).

Modules: ``tables``, ``common``, ``rows``, ``channels``, ``messages``, ``incidents``, ``review``.
"""

from __future__ import annotations

from deconflict.store.hotline_sql.channels import (
    answer_comm_check,
    channel_json,
    configure_channel,
    get_channel,
    list_channels,
    restore_channel,
    run_comm_checks,
    suspend_channel,
)
from deconflict.store.hotline_sql.common import (
    ViewerNames,
    iso,
    new_id,
    party_names,
    record_audit,
    resolve_counterpart,
    resolve_party,
)
from deconflict.store.hotline_sql.incidents import (
    act_on_incident,
    file_incident,
    get_incident,
    incident_json,
    list_incidents,
    own_track_evidence,
)
from deconflict.store.hotline_sql.messages import (
    MAX_LADDER_DELAY,
    ack_message,
    get_ladder,
    get_message,
    ladder_json,
    list_messages,
    list_threads,
    run_escalations,
    send_message,
    set_ladder,
)
from deconflict.store.hotline_sql.review import load_review_data
from deconflict.store.hotline_sql.rows import (
    ack_policy,
    channel_from_row,
    channel_row,
    ensure_channel,
    message_json,
)
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
    "MAX_LADDER_DELAY",
    "ViewerNames",
    "ack_message",
    "ack_policy",
    "act_on_incident",
    "answer_comm_check",
    "channel_from_row",
    "channel_json",
    "channel_row",
    "configure_channel",
    "ensure_channel",
    "file_incident",
    "get_channel",
    "get_incident",
    "get_ladder",
    "get_message",
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
    "incident_json",
    "iso",
    "ladder_json",
    "list_channels",
    "list_incidents",
    "list_messages",
    "list_threads",
    "load_review_data",
    "message_json",
    "new_id",
    "own_track_evidence",
    "party_names",
    "record_audit",
    "resolve_counterpart",
    "resolve_party",
    "restore_channel",
    "run_comm_checks",
    "run_escalations",
    "send_message",
    "set_ladder",
    "suspend_channel",
]
