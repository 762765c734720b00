"""The hotline service: messages, acknowledgements, escalation, channels, incidents, review.

The tables live in :mod:`deconflict.store.hotline_sql` (migration ``0004_hotline``). Rules are
enforced twice: by the pure core
(:mod:`deconflict.hotline`) before anything is written, and by the schema where it can
(``UNIQUE(message_id, answer)`` on acknowledgements, primary key ``(message_id, level)`` on
escalations), so a race between two requests cannot record the same act twice.

Every function takes an open SQLAlchemy session and ``now``; the caller owns the transaction.
A message is persisted and its outbox event written in the same transaction, so the 201 the
sender receives means the message is durable and will reach the recipient's stream exactly once
(``Last-Event-ID`` replay). Every act is also appended to the tamper-evident log through
``deconflict.broker.audit.record``.

Need-to-know: every read filters on the caller's party in SQL (a message is visible to its sender
and recipient only; an incident to the parties named in it). Every response and event is rendered
for one viewing party (:class:`~deconflict.broker.hotline.common.ViewerNames`): other parties
appear under the name their shared agreement dictates (its pseudonym when the agreement uses
pseudonyms, never the real name or id behind it), and a party can address only parties it shares
an agreement with (anything else is the same 404 as a party that does not exist).

Modules: ``common`` (ids, naming, outbox and ledger hooks), ``rows`` (row <-> core adapters,
delivery), ``channels``, ``messages``, ``incidents``, ``conflict_threads`` (the thread an advisory
conflict opens), ``review``.
"""

from __future__ import annotations

from deconflict.broker.hotline.channels import (
    answer_comm_check,
    channel_json,
    channel_view,
    configure_channel,
    get_channel,
    list_channels,
    restore_channel,
    run_comm_checks,
    suspend_channel,
)
from deconflict.broker.hotline.common import (
    ViewerNames,
    new_id,
    party_names,
    record_audit,
    resolve_counterpart,
    resolve_party,
)
from deconflict.broker.hotline.incidents import (
    act_on_incident,
    file_incident,
    get_incident,
    incident_json,
    list_incidents,
    own_track_evidence,
)
from deconflict.broker.hotline.messages import (
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
from deconflict.broker.hotline.review import load_review_data
from deconflict.broker.hotline.rows import (
    ack_policy,
    channel_from_row,
    channel_row,
    ensure_channel,
    message_json,
)
from deconflict.broker.hotline.ticker import tick

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
    "channel_view",
    "configure_channel",
    "ensure_channel",
    "file_incident",
    "get_channel",
    "get_incident",
    "get_ladder",
    "get_message",
    "incident_json",
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
    "tick",
]
