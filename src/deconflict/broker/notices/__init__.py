"""The notice workflow (application service): ``service`` (create, amend, cancel, reads),
``catalog`` (parties, keys, agreements, lines and the pairings they imply), ``checks``
(probing defence, 4D checks and policy decisions), ``recording`` (conflict records, events,
ledger, idempotency) and ``reads`` (own notices and conflict records)."""

from __future__ import annotations

from deconflict.broker.notices.service import NoticeService

__all__ = ["NoticeService"]
