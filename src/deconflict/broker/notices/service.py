"""The notice service: create, amend and cancel notices, checked and recorded atomically.

Path of a notice (``POST /v1/notices``)::

    envelope validated (NoticeCreate) -> volumes parsed (422 naming the field) -> signature (if
    the party registered a key) -> probing defence (429) -> [strategic lock: threading lock +
    the single SQLite writer or a PostgreSQL advisory lock] -> idempotency replay -> catch up the
    index -> exact 4D check against other parties' live volumes and agreed lines (checks) ->
    policy per agreement (F3548: refuse the losing write, nothing stored but a probe event;
    advisory: accept, one conflict record per side, ``conflict`` events to both parties,
    recording) -> commit -> update the in-memory index -> [unlock]

Writes return a :class:`~deconflict.broker.notice_model.WriteResult` (outcome, the owner's view
or the typed refusal); other refusals are raised (:mod:`deconflict.errors`). No HTTP here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from deconflict.broker import disclosure, limits
from deconflict.broker.notice_model import (
    Draft,
    NoticeCancel,
    NoticeCreate,
    NoticeRules,
    NoticeUpdate,
    WriteResult,
    notice_public,
    parse_draft,
    request_hash,
    validate_submission,
)
from deconflict.broker.notices import checks, reads, recording
from deconflict.broker.notices.catalog import CatalogCache
from deconflict.broker.parties import new_id
from deconflict.broker.signing import verify_signature
from deconflict.broker.strategic_state import LiveNotice, StrategicState
from deconflict.errors import ConflictRejectedError, InvalidInputError, StaleVersionError
from deconflict.store.base import Database

Clock = Callable[[], datetime]
Submission = NoticeCreate | Mapping[str, Any]


def utc_now() -> datetime:
    """The wall clock, UTC."""
    return datetime.now(UTC)


class NoticeService:
    """Notice writes and reads for one database and one in-memory strategic state."""

    def __init__(
        self,
        db: Database,
        state: StrategicState,
        rules: NoticeRules,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.db = db
        self.state = state
        self.rules = rules
        self.clock = clock
        self.catalog = CatalogCache()

    # ----------------------------------------------------------------------------- start-up
    def load(self) -> int:
        """Rebuild the in-memory index from the database; returns volumes loaded."""
        with self.db.read() as session:
            session.connection()  # the pool first: never wait for a connection under a lock
            with self.db.strategic_lock:
                return self.state.load(session, now=self.clock())

    # ---------------------------------------------------------------------------- writes
    def create(
        self,
        party_id: str,
        submission: Submission,
        *,
        idempotency_key: str | None = None,
        signature_header: str | None = None,
        signed_body: Mapping[str, Any] | None = None,
        path: str = "/v1/notices",
    ) -> WriteResult:
        """Create a notice (see the module docstring).

        ``submission`` is the validated :class:`NoticeCreate` (or a JSON mapping, validated
        here); ``signed_body`` the request's JSON as received, over which the signature and the
        idempotency hash are computed (default: the mapping given).
        """
        if idempotency_key is not None and not (1 <= len(idempotency_key) <= 200):
            raise InvalidInputError(field="header.Idempotency-Key", reason="1-200 characters")
        model, raw = _submission(NoticeCreate, submission, signed_body)
        draft = parse_draft(model, now=self.clock(), rules=self.rules)
        digest = request_hash(raw)
        with self._locked_write() as session:
            if idempotency_key is not None:
                replay = self._replay(session, party_id, idempotency_key, digest)
                if replay is not None:
                    return replay
            signature = self._verified(session, party_id, signature_header, "POST", path, raw)
            now = self._checked_now(session, party_id)
            self._check_limits(session, party_id, draft, now)
            notice_id = new_id()
            found = checks.find_for_draft(
                session,
                self.catalog,
                self.state,
                party_id,
                notice_id,
                draft,
                now,
                modifying_active=False,
            )
            if checks.refused(found):
                refusal = recording.record_refusal(session, party_id, found, now)
                result = WriteResult("rejected", refusal=refusal)
                stored = recording.refusal_record(refusal)
            else:
                late = self._is_late(draft, now)
                seq = self._next_seq()
                values = {
                    "id": notice_id,
                    "party_id": party_id,
                    "version": 1,
                    "state": "notified",
                    **recording.content(draft, late=late, signature=signature, now=now, seq=seq),
                    "created_at": now,
                }
                session.execute(recording.INSERT_NOTICE, values)
                _remember_size(session, notice_id, party_id, draft, now)
                created = recording.record_conflicts(session, party_id, notice_id, found, late, now)
                row = SimpleNamespace(**values)
                result = _accepted(session, "notice.notified", "accepted", row, created, found, now)
                stored = result.notice or {}
            if idempotency_key is not None:
                recording.remember(
                    session, party_id, idempotency_key, digest, result.outcome, stored, now
                )
        # committed: now (and only now) the index may change
        if result.outcome == "accepted":
            with self.db.strategic_lock:
                self._index_put(notice_id, party_id, draft, now, seq)
        return result

    def amend(
        self,
        party_id: str,
        notice_id: str,
        submission: NoticeUpdate | Mapping[str, Any],
        *,
        signature_header: str | None = None,
        signed_body: Mapping[str, Any] | None = None,
        path: str = "",
    ) -> WriteResult:
        """Replace a notice's content; ``version`` must be the current version."""
        model, raw = _submission(NoticeUpdate, submission, signed_body)
        draft = parse_draft(model, now=self.clock(), rules=self.rules)
        with self._locked_write() as session:
            row = self._own_notified(
                session,
                party_id,
                notice_id,
                model.version,
                "a {state} notice cannot be amended",
            )
            signature = self._verified(session, party_id, signature_header, "PUT", path, raw)
            now = self._checked_now(session, party_id)
            self._check_limits(session, party_id, draft, now)
            meta = self.state.notices.get(notice_id)
            active = meta is not None and meta.start <= now <= meta.end
            found = checks.find_for_draft(
                session,
                self.catalog,
                self.state,
                party_id,
                notice_id,
                draft,
                now,
                modifying_active=active,
            )
            if checks.refused(found):
                refusal = recording.record_refusal(session, party_id, found, now)
                return WriteResult("rejected", refusal=refusal)
            late = self._is_late(draft, now)
            seq = self._next_seq()
            recording.resolve_conflicts_of(session, notice_id, now)
            content = recording.content(draft, late=late, signature=signature, now=now, seq=seq)
            recording.update_own(session, party_id, notice_id, version=row.version + 1, **content)
            _remember_size(session, notice_id, party_id, draft, now)
            created = recording.record_conflicts(session, party_id, notice_id, found, late, now)
            new_row = recording.reread(session, notice_id)
            result = _accepted(session, "notice.amended", "amended", new_row, created, found, now)
        with self.db.strategic_lock:
            self._index_put(notice_id, party_id, draft, now, seq, created_at=row.created_at)
        return result

    def cancel(
        self,
        party_id: str,
        notice_id: str,
        submission: NoticeCancel | Mapping[str, Any],
        *,
        signature_header: str | None = None,
        signed_body: Mapping[str, Any] | None = None,
        path: str = "",
    ) -> WriteResult:
        """Cancel a notice (``version`` = current version); resolves its conflicts."""
        model, raw = _submission(NoticeCancel, submission, signed_body)
        with self._locked_write() as session:
            row = self._own_notified(
                session, party_id, notice_id, model.version, "the notice is already {state}"
            )
            self._verified(session, party_id, signature_header, "POST", path, raw)
            now = self.state.monotonic_now(self.clock())
            self.state.catch_up(session)
            seq = self._next_seq()
            recording.resolve_conflicts_of(session, notice_id, now)
            recording.update_own(
                session,
                party_id,
                notice_id,
                version=row.version + 1,
                state="cancelled",
                updated_at=now,
                change_seq=seq,
            )
            recording.record_cancel_probe(session, party_id, now)
            recording.publish_notice(
                session, party_id, notice_id, row.version + 1, "cancelled", now
            )
            new_row = recording.reread(session, notice_id)
            recording.audit_notice(session, "notice.cancelled", new_row, now)
            result = WriteResult("cancelled", notice_public(new_row, now=now))
        with self.db.strategic_lock:
            self.state.drop(notice_id)
            self.state.seen_seq = max(self.state.seen_seq, seq)
        return result

    # ----------------------------------------------------------------------------- reads
    def list_own(
        self,
        session: Session,
        party_id: str,
        *,
        state: str = "live",
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The party's notices (filtered in the query), newest first."""
        return reads.list_own(
            session, party_id, self.clock(), state=state, limit=limit, offset=offset
        )

    def get_own(self, session: Session, party_id: str, notice_id: str) -> dict[str, Any]:
        """One of the party's notices; another party's or a missing one: the same 404."""
        return reads.get_own(session, party_id, notice_id, self.clock())

    list_conflicts = staticmethod(reads.list_conflicts)
    get_conflict = staticmethod(reads.get_conflict)

    # --------------------------------------------------------------------------- helpers
    @contextmanager
    def _locked_write(self) -> Iterator[Session]:
        """A write transaction holding, in this order, the database writer (the single SQLite
        writer connection, or a PostgreSQL connection and the advisory lock) and then
        ``db.strategic_lock``: a thread never waits for a pool connection while holding the
        lock (issue 11, the deadlock under load). It commits when the block ends (also by
        ``return``) and rolls back on an exception; the in-memory index is updated after the
        commit, under the lock again."""
        with self.db.write() as session:
            session.connection()
            self.db.lock_writes(session)
            with self.db.strategic_lock:
                yield session

    def _own_notified(
        self, session: Session, party_id: str, notice_id: str, version: int, refusal: str
    ) -> Any:
        """The party's notice, still at ``version`` and still ``notified`` (amend, cancel).

        Raises, in this order: 404 (missing or another party's), 409 stale version, 422 with
        ``refusal`` (a template naming ``{state}``) when the notice is no longer notified.
        """
        row = reads.own_notice_row(session, party_id, notice_id)
        if row.version != version:
            raise StaleVersionError(expected=version, actual=row.version)
        if row.state != "notified":
            raise InvalidInputError(field="state", reason=refusal.format(state=row.state))
        return row

    def _verified(
        self,
        session: Session,
        party_id: str,
        header: str | None,
        method: str,
        path: str,
        payload: Mapping[str, Any],
    ) -> dict[str, str] | None:
        """Check the write's signature against the party's registered key, if it has one.

        Returns the signature record to store with the notice (None for an unsigned party);
        raises when a registered party's signature is missing or wrong.
        """
        return verify_signature(
            self.catalog.catalog(session).signing.get(party_id),
            header,
            method=method,
            path=path,
            body=payload,
        )

    def _checked_now(self, session: Session, party_id: str) -> datetime:
        """The write's time (UTC, never behind the last write's), once the party is under its
        probing limit (429 otherwise) and the index has caught up with committed writes."""
        now = self.state.monotonic_now(self.clock())
        checks.check_probe_limit(session, self.rules, party_id, now)
        self.state.catch_up(session)
        return now

    def _check_limits(self, session: Session, party_id: str, draft: Draft, now: datetime) -> None:
        """Hold every volume to the strictest limits of the party's agreements (422 naming
        ``volumes[i].<field>`` and the limit; :mod:`deconflict.broker.limits`)."""
        pairings, _lines = self.catalog.pairings(session, party_id)
        ids = {p.agreement.id for p in pairings.values() if p.agreement is not None}
        lim = limits.limits_for(session, ids)
        for i, volume in enumerate(draft.volumes):
            limits.check_volume(volume, lim, now=now, where=f"volumes[{i}]")

    def _next_seq(self) -> int:
        """The next ``change_seq``: call under the strategic lock, after ``catch_up``, which
        leaves ``seen_seq`` equal to the highest committed value."""
        return self.state.seen_seq + 1

    def _is_late(self, draft: Draft, now: datetime) -> bool:
        lead_h = self.rules.lead_times_h.get(draft.category, 0.0)
        start = min(v.start for v in draft.volumes)
        return now > start - timedelta(hours=lead_h)

    def _index_put(
        self,
        notice_id: str,
        party_id: str,
        draft: Draft,
        now: datetime,
        seq: int,
        *,
        created_at: datetime | None = None,
    ) -> None:
        meta = LiveNotice(
            id=notice_id,
            party_id=party_id,
            priority=draft.priority,
            category=draft.category,
            created_at=created_at or now,
            start=min(v.start for v in draft.volumes),
            end=max(v.end for v in draft.volumes),
            volume_count=len(draft.volumes),
        )
        self.state.put(notice_id, party_id, draft.volumes, meta)
        self.state.seen_seq = max(self.state.seen_seq, seq)

    @staticmethod
    def _replay(session: Session, party_id: str, key: str, digest: str) -> WriteResult | None:
        found = recording.recalled(session, party_id, key)
        if found is None:
            return None
        stored_hash, outcome, body = found
        if stored_hash != digest:
            raise InvalidInputError(
                field="header.Idempotency-Key", reason="already used with a different request body"
            )
        if outcome == "rejected":
            refusal = ConflictRejectedError(
                str(body.get("detail", "")), overlaps=list(body.get("overlaps", []))
            )
            return WriteResult("rejected", refusal=refusal, replayed=True)
        return WriteResult("accepted", body, replayed=True)


def _remember_size(
    session: Session, notice_id: str, party_id: str, draft: Draft, now: datetime
) -> None:
    """What the notice notifies (area x time), the base of its owner's disclosure budget."""
    disclosure.record_notice_size(
        session,
        notice_id,
        party_id,
        [(limits.footprint_area_km2(v), v.start, v.end) for v in draft.volumes],
        now,
    )


def _submission(
    model: type[Any], submission: Any, signed_body: Mapping[str, Any] | None
) -> tuple[Any, Mapping[str, Any]]:
    """The validated submission and the JSON it came from (signature and idempotency hash)."""
    if isinstance(submission, model):
        raw = signed_body if signed_body is not None else submission.model_dump(mode="json")
        return submission, raw
    return validate_submission(model, submission), submission


def _accepted(
    session: Session,
    kind: str,
    outcome: str,
    row: Any,
    created: list[dict[str, Any]],
    found: list[checks.Found],
    now: datetime,
) -> WriteResult:
    """Ledger entry and owner event for an accepted create or amend; the owner's view.

    ``row`` is the notice as written (its ``version`` and ``state`` go into the event),
    ``created`` the submitter's copies of the conflicts just recorded.
    """
    recording.audit_notice(session, kind, row, now)
    recording.publish_notice(session, row.party_id, row.id, row.version, row.state, now)
    view = notice_public(row, now=now, conflicts_=created)
    return WriteResult(outcome, view, conflicts_by_policy=checks.by_policy(found))
