"""The strategic workflow: create, amend and cancel notices, checked and recorded atomically.

Path of a notice (``POST /v1/notices``)::

    validate (422 naming the field) -> signature (if the party registered a key)
    -> probing defence (429) -> [strategic lock: threading lock + the single SQLite writer or a
       PostgreSQL advisory lock] -> idempotency replay -> catch up the index -> exact 4D check
       against other parties' live volumes and agreed lines -> policy per agreement
       (F3548: refuse the losing write with 409 + overlap, nothing stored but a probe event;
       advisory: accept, one conflict record per side, ``conflict`` events to both parties)
    -> commit -> update the in-memory index -> [unlock]

Each conflict record is written *per viewer*: it holds the viewer's own notice id, the other
side's name or pseudonym, and the overlap (footprint, band, window) only; never the other
side's volumes, category, priority or notice id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from deconflict.broker import audit
from deconflict.broker.agreements import Agreement, Line, list_agreements, list_lines
from deconflict.broker.notice_model import (
    Draft,
    NoticeRules,
    WriteResult,
    conflict_public,
    disclosed_overlap,
    notice_public,
    parse_draft,
    request_hash,
)
from deconflict.broker.outbox import publish
from deconflict.broker.parties import new_id
from deconflict.broker.signing import verify_signature
from deconflict.broker.strategic_state import LiveNotice, StrategicState
from deconflict.errors import (
    ConflictRejectedError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    StaleVersionError,
)
from deconflict.store.base import Database
from deconflict.store.hotline_sql.conflict_threads import open_conflict_thread
from deconflict.store.tables import (
    catalog_version,
    conflicts,
    idempotency,
    notices,
    parties,
    probe_events,
)
from deconflict.strategic import (
    AdvisoryPolicy,
    AgreedLine,
    F3548Policy,
    find_conflicts,
    format_utc,
    line_conflicts,
)

log = logging.getLogger("deconflict.broker")
#: Hot-path statements, built once (SQLAlchemy reuses their compiled form); the INSERTs are
#: executed with a parameter dict, so they are compiled and cache-keyed once, not per call.
_INSERT_NOTICE = insert(notices)
_INSERT_CONFLICT = insert(conflicts)
_CATALOG_INFO = "deconflict.notice_catalog"
"""``session.info`` key: the catalog already validated in this write transaction."""
_PROBE_COUNT = select(func.count(), func.min(probe_events.c.at)).where(
    probe_events.c.party_id == bindparam("party_id"), probe_events.c.at > bindparam("since")
)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Pairing:
    # strategic.PriorityPolicy declares a settable ``name`` that its frozen implementations do
    # not satisfy under mypy, so the concrete union is used here.
    policy: AdvisoryPolicy | F3548Policy
    policy_name: str
    agreement: Agreement | None
    label_of_other: str  # how the submitter sees the other party
    label_of_self: str  # how the other party sees the submitter


@dataclass
class _Catalog:
    """Cached parties, signing keys, agreements and lines at one catalog version."""

    version: int
    names: dict[str, str]
    signing: dict[str, tuple[str, bytes]]
    agreements: list[Agreement]
    lines: dict[str, list[Line]]
    pairings: dict[str, tuple[dict[str, _Pairing], list[tuple[Line, Agreement]]]]


@dataclass
class _Found:
    """One conflict to record: the other side's notice and party, and the disclosed overlap."""

    kind: str
    other_notice_id: str | None  # None for lines with no counterpart notice
    other_party_id: str
    pairing: _Pairing
    overlap: dict[str, Any]
    decision: str


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
        self._catalog_cache: _Catalog | None = None

    # ----------------------------------------------------------------------------- start-up
    def load(self) -> int:
        """Rebuild the in-memory index from the database; returns volumes loaded."""
        with self.db.strategic_lock, self.db.read() as session:
            return self.state.load(session, now=self.clock())

    # --------------------------------------------------------------------------- probing
    def check_probe_limit(self, session: Session, party_id: str, now: datetime) -> None:
        """429 when the party had too many refused or cancelled notices in the window."""
        since = now - timedelta(seconds=self.rules.probe_window_s)
        count, oldest = session.execute(_PROBE_COUNT, {"party_id": party_id, "since": since}).one()
        if count >= self.rules.probe_max_refusals:
            retry = (oldest + timedelta(seconds=self.rules.probe_window_s) - now).total_seconds()
            log.warning("probe limit reached by party %s (%d refusals)", party_id, count)
            raise RateLimitedError(
                f"too many refused or cancelled notices ({count} in "
                f"{self.rules.probe_window_s:g} s); try again later",
                retry_after_s=max(1.0, retry),
            )

    # ---------------------------------------------------------------------------- writes
    def create(
        self,
        party_id: str,
        payload: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        signature_header: str | None = None,
        path: str = "/v1/notices",
    ) -> WriteResult:
        """Create a notice (see module docstring). ``payload`` is the parsed JSON body."""
        if idempotency_key is not None and not (1 <= len(idempotency_key) <= 200):
            raise InvalidInputError(field="header.Idempotency-Key", reason="1-200 characters")
        draft = parse_draft(payload, now=self.clock(), rules=self.rules)
        digest = request_hash(payload)
        with self.db.strategic_lock:
            with self._locked_write() as session:
                if idempotency_key is not None:
                    replay = self._replay(session, party_id, idempotency_key, digest)
                    if replay is not None:
                        return replay
                signature = self._verified(
                    session, party_id, signature_header, "POST", path, payload
                )
                now = self._checked_now(session, party_id)
                notice_id = new_id()
                found = self._check(
                    session, party_id, notice_id, draft, now, modifying_active=False
                )
                if _refused(found):
                    result = self._rejected(session, party_id, found, now)
                else:
                    late = self._is_late(draft, now)
                    seq = self._next_seq(session)
                    values = {
                        "id": notice_id,
                        "party_id": party_id,
                        "version": 1,
                        "state": "notified",
                        **_content(draft, late=late, signature=signature, now=now, seq=seq),
                        "created_at": now,
                    }
                    session.execute(_INSERT_NOTICE, values)
                    created = self._record(session, party_id, notice_id, found, late, now)
                    row = SimpleNamespace(**values)
                    result = _accepted(
                        session, "notice.notified", row, created, found, now, 201, "accepted"
                    )
                if idempotency_key is not None:
                    _remember(session, party_id, idempotency_key, digest, result, now)
            # committed: now (and only now) the index may change
            if result.status == 201:
                self._index_put(notice_id, party_id, draft, now, seq)
        return result

    def amend(
        self,
        party_id: str,
        notice_id: str,
        payload: Mapping[str, Any],
        *,
        signature_header: str | None = None,
        path: str = "",
    ) -> WriteResult:
        """Replace a notice's content; ``payload["version"]`` must be the current version."""
        version = _version_of(payload)
        draft = parse_draft(
            {k: v for k, v in payload.items() if k != "version"}, now=self.clock(), rules=self.rules
        )
        with self.db.strategic_lock:
            with self._locked_write() as session:
                row = self._own_notified(
                    session, party_id, notice_id, version, "a {state} notice cannot be amended"
                )
                signature = self._verified(
                    session, party_id, signature_header, "PUT", path, payload
                )
                now = self._checked_now(session, party_id)
                meta = self.state.notices.get(notice_id)
                active = meta is not None and meta.start <= now <= meta.end
                found = self._check(
                    session, party_id, notice_id, draft, now, modifying_active=active
                )
                if _refused(found):
                    return self._rejected(session, party_id, found, now)
                late = self._is_late(draft, now)
                seq = self._next_seq(session)
                self._resolve_for(session, notice_id, now)
                content = _content(draft, late=late, signature=signature, now=now, seq=seq)
                _update_own(session, party_id, notice_id, version=row.version + 1, **content)
                created = self._record(session, party_id, notice_id, found, late, now)
                new_row = _reread(session, notice_id)
                result = _accepted(
                    session, "notice.amended", new_row, created, found, now, 200, "amended"
                )
            self._index_put(notice_id, party_id, draft, now, seq, created_at=row.created_at)
        return result

    def cancel(
        self,
        party_id: str,
        notice_id: str,
        payload: Mapping[str, Any],
        *,
        signature_header: str | None = None,
        path: str = "",
    ) -> WriteResult:
        """Cancel a notice (``payload["version"]`` = current version); resolves its conflicts."""
        version = _version_of(payload)
        with self.db.strategic_lock:
            with self._locked_write() as session:
                row = self._own_notified(
                    session, party_id, notice_id, version, "the notice is already {state}"
                )
                self._verified(session, party_id, signature_header, "POST", path, payload)
                now = self.state.monotonic_now(self.clock())
                self.state.catch_up(session)
                seq = self._next_seq(session)
                self._resolve_for(session, notice_id, now)
                _update_own(
                    session,
                    party_id,
                    notice_id,
                    version=row.version + 1,
                    state="cancelled",
                    updated_at=now,
                    change_seq=seq,
                )
                session.execute(
                    insert(probe_events).values(party_id=party_id, kind="cancelled", at=now)
                )
                _publish_notice(session, party_id, notice_id, row.version + 1, "cancelled", now)
                new_row = _reread(session, notice_id)
                _audit_notice(session, "notice.cancelled", new_row, now)
                result = WriteResult(200, notice_public(new_row, now=now), "cancelled")
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
        now = self.clock()
        q = select(notices).where(notices.c.party_id == party_id)
        if state == "live":
            q = q.where(notices.c.state == "notified", notices.c.end_at >= now)
        elif state != "all":
            q = q.where(notices.c.state == state)
        q = q.order_by(notices.c.created_at.desc(), notices.c.id).limit(limit).offset(offset)
        return [notice_public(r, now=now) for r in session.execute(q)]

    def get_own(self, session: Session, party_id: str, notice_id: str) -> dict[str, Any]:
        """One of the party's notices; another party's or a missing one: the same 404."""
        return notice_public(self._own(session, party_id, notice_id), now=self.clock())

    @staticmethod
    def list_conflicts(
        session: Session,
        party_id: str,
        *,
        status: str = "active",
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The party's own copies of conflict records (filtered in the query)."""
        q = select(conflicts).where(conflicts.c.party_id == party_id)
        if status != "all":
            q = q.where(conflicts.c.status == status)
        q = q.order_by(conflicts.c.created_at.desc(), conflicts.c.id).limit(limit).offset(offset)
        return [conflict_public(r) for r in session.execute(q)]

    @staticmethod
    def get_conflict(session: Session, party_id: str, conflict_id: str) -> dict[str, Any]:
        """One conflict record of the party (404 otherwise)."""
        row = session.execute(
            select(conflicts).where(conflicts.c.id == conflict_id, conflicts.c.party_id == party_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no conflict {conflict_id!r}")
        return conflict_public(row)

    # --------------------------------------------------------------------------- helpers
    @contextmanager
    def _locked_write(self) -> Iterator[Session]:
        """A write transaction holding the database writer lock (the single SQLite writer or
        the PostgreSQL advisory lock). Enter it under ``db.strategic_lock``; it commits when
        the block ends (also by ``return``) and rolls back on an exception."""
        with self.db.write() as session:
            self.db.lock_writes(session)
            yield session

    @staticmethod
    def _own(session: Session, party_id: str, notice_id: str) -> Any:
        row = session.execute(
            select(notices).where(notices.c.id == notice_id, notices.c.party_id == party_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no notice {notice_id!r}")
        return row

    def _own_notified(
        self, session: Session, party_id: str, notice_id: str, version: int, refusal: str
    ) -> Any:
        """The party's notice, still at ``version`` and still ``notified`` (amend, cancel).

        Raises, in this order: 404 (missing or another party's), 409 stale version, 422 with
        ``refusal`` (a template naming ``{state}``) when the notice is no longer notified.
        """
        row = self._own(session, party_id, notice_id)
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
            self._catalog(session).signing.get(party_id),
            header,
            method=method,
            path=path,
            body=payload,
        )

    def _checked_now(self, session: Session, party_id: str) -> datetime:
        """The write's time (UTC, never behind the last write's), once the party is under its
        probing limit (429 otherwise) and the index has caught up with committed writes."""
        now = self.state.monotonic_now(self.clock())
        self.check_probe_limit(session, party_id, now)
        self.state.catch_up(session)
        return now

    def _next_seq(self, session: Session) -> int:
        """The next ``change_seq``: call under the strategic lock, after ``catch_up``, which
        leaves ``seen_seq`` equal to the highest committed value."""
        return self.state.seen_seq + 1

    @staticmethod
    def _max_seq(session: Session) -> int:
        return (
            int(
                session.execute(
                    select(func.coalesce(func.max(notices.c.change_seq), 0))
                ).scalar_one()
            )
            + 1
        )

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

    def _replay(self, session: Session, party_id: str, key: str, digest: str) -> WriteResult | None:
        row = session.execute(
            select(idempotency).where(idempotency.c.party_id == party_id, idempotency.c.key == key)
        ).first()
        if row is None:
            return None
        if row.request_hash != digest:
            raise InvalidInputError(
                field="header.Idempotency-Key", reason="already used with a different request body"
            )
        return WriteResult(int(row.status), dict(row.response), "replay", replayed=True)

    def _catalog(self, session: Session) -> _Catalog:
        """Parties, signing keys, agreements and lines, re-read only when their version moved.

        Checked once per write transaction (the transaction holds the strategic lock; notice
        writes never change the catalog), then remembered in ``session.info``.
        """
        checked: _Catalog | None = session.info.get(_CATALOG_INFO)
        if checked is not None:
            return checked
        version = catalog_version(session)
        cached = self._catalog_cache
        if cached is not None and cached.version == version:
            session.info[_CATALOG_INFO] = cached
            return cached
        names: dict[str, str] = {}
        signing: dict[str, tuple[str, bytes]] = {}
        for r in session.execute(
            select(
                parties.c.id, parties.c.name, parties.c.signing_key_id, parties.c.signing_public_key
            )
        ):
            names[r.id] = r.name
            if r.signing_public_key is not None:
                signing[r.id] = (str(r.signing_key_id), bytes(r.signing_public_key))
        lines: dict[str, list[Line]] = {}
        for ln in list_lines(session):
            lines.setdefault(ln.agreement_id, []).append(ln)
        self._catalog_cache = _Catalog(version, names, signing, list_agreements(session), lines, {})
        session.info[_CATALOG_INFO] = self._catalog_cache
        return self._catalog_cache

    def _pairings(
        self, session: Session, party_id: str
    ) -> tuple[dict[str, _Pairing], list[tuple[Line, Agreement]]]:
        """Policy and labels toward every other party, and the lines relevant to ``party_id``."""
        catalog = self._catalog(session)
        memo = catalog.pairings.get(party_id)
        if memo is not None:
            return memo
        names = catalog.names
        mine = [a for a in catalog.agreements if party_id in a.members]
        out: dict[str, _Pairing] = {}
        for other, other_name in names.items():
            if other == party_id:
                continue
            shared = [a for a in mine if other in a.members]
            strict = [a for a in shared if a.policy == "f3548"]
            agreement = strict[0] if strict else (shared[0] if shared else None)
            if agreement is None:
                out[other] = _Pairing(
                    AdvisoryPolicy(), "advisory", None, other_name, names[party_id]
                )
                continue
            policy: AdvisoryPolicy | F3548Policy = (
                F3548Policy(allow_equal_priority_conflicts=agreement.equal_priority_allowed)
                if agreement.policy == "f3548"
                else AdvisoryPolicy()
            )
            out[other] = _Pairing(
                policy,
                agreement.policy,
                agreement,
                agreement.label_for(other, other_name),
                agreement.label_for(party_id, names[party_id]),
            )
        lines: list[tuple[Line, Agreement]] = []
        for a in mine:
            lines.extend((ln, a) for ln in catalog.lines.get(a.id, []) if party_id in ln.sides)
        catalog.pairings[party_id] = (out, lines)
        return out, lines

    def _check(
        self,
        session: Session,
        party_id: str,
        notice_id: str,
        draft: Draft,
        now: datetime,
        *,
        modifying_active: bool,
    ) -> list[_Found]:
        pairings, lines = self._pairings(session, party_id)
        items = [(f"{notice_id}/{i}", party_id, v) for i, v in enumerate(draft.volumes)]
        found: list[_Found] = []
        for c in find_conflicts(items, self.state.index, within_new=False):
            other_notice = c.b.split("/", 1)[0]
            if other_notice == notice_id:
                continue
            meta = self.state.notices[other_notice]
            pairing = pairings.get(meta.party_id) or _Pairing(
                AdvisoryPolicy(), "advisory", None, "another party", "another party"
            )
            decision = pairing.policy.decide(
                draft.priority,
                meta.priority,
                now,
                meta.created_at,
                new_is_active_modification=modifying_active,
            )
            found.append(
                _Found(
                    "volume",
                    other_notice,
                    meta.party_id,
                    pairing,
                    disclosed_overlap(c.overlap.to_json()),
                    decision,
                )
            )
        for line, agreement in lines:
            strategic_line = AgreedLine(line.id, tuple(line.coordinates), dict(line.sides))  # type: ignore[arg-type]
            for i, vol in enumerate(draft.volumes):
                for lc in line_conflicts(vol, party_id, [strategic_line], key=str(i)):
                    lo, hi = vol.altitude.native_ft()
                    overlap = {
                        "geometry": lc.geometry,
                        "alt_lower_ft": lo,
                        "alt_upper_ft": hi,
                        "alt_reference": vol.altitude.reference.value,
                        "approximate": False,
                        "start": format_utc(vol.start),
                        "end": format_utc(vol.end),
                        "line_id": line.id,
                        "line_name": line.name,
                        "depth_nm": round(lc.depth_nm, 3),
                    }
                    others = [p for p in line.sides if p != party_id]  # told as well
                    decision = (
                        "reject"
                        if agreement.policy == "f3548" and not modifying_active
                        else "accept"
                    )
                    for other in others or [party_id]:
                        known = pairings.get(other)
                        pairing = _Pairing(
                            AdvisoryPolicy(),
                            agreement.policy,
                            agreement,
                            known.label_of_other if known else f"line {line.name}",
                            known.label_of_self if known else "another party",
                        )
                        found.append(_Found("line", None, other, pairing, overlap, decision))
        return found

    def _rejected(
        self, session: Session, party_id: str, found: list[_Found], now: datetime
    ) -> WriteResult:
        session.execute(insert(probe_events).values(party_id=party_id, kind="rejected", at=now))
        overlaps = [f.overlap for f in found if f.decision == "reject"]
        audit.record(
            session,
            "notice.refused",
            [party_id],
            {"policy": "f3548", "overlaps_sha256": request_hash(overlaps)},
            now=now,
        )
        err = ConflictRejectedError(
            f"refused under the F3548 policy: conflicts with {len(overlaps)} higher-priority or "
            "earlier plan(s) of another party",
            overlaps=overlaps,
        )
        body = {
            "type": "https://deconflict.invalid/problems/conflict-with-another-partys-plan",
            "title": err.title,
            "status": err.status,
            "detail": err.message,
            "errors": [],
            "overlaps": overlaps,
        }
        return WriteResult(409, body, "rejected")

    def _record(
        self,
        session: Session,
        party_id: str,
        notice_id: str,
        found: list[_Found],
        late: bool,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Write both sides of every conflict, publish them; return the submitter's copies."""
        own_copies: list[dict[str, Any]] = []
        for f in found:
            pair_id = new_id()
            audit.record(
                session,
                "conflict.recorded",
                sorted({party_id, f.other_party_id}),
                {
                    "pair_id": pair_id,
                    "kind": f.kind,
                    "policy": f.pairing.policy_name,
                    "late": late,
                    "overlap_sha256": request_hash(f.overlap),
                },
                now=now,
            )
            agreement_id = f.pairing.agreement.id if f.pairing.agreement else None
            # (viewer, the viewer's own notice, how the viewer sees the other side)
            sides: list[tuple[str, str | None, str]] = [
                (party_id, notice_id, f.pairing.label_of_other)
            ]
            if f.other_notice_id is not None:
                sides.append((f.other_party_id, f.other_notice_id, f.pairing.label_of_self))
            elif f.other_party_id != party_id:  # a line: the other side has no notice here
                sides.append((f.other_party_id, None, f.pairing.label_of_self))
            own_cid = ""
            for viewer, own_notice, counterpart in sides:
                cid = new_id()
                values = {
                    "id": cid,
                    "party_id": viewer,
                    "pair_id": pair_id,
                    "kind": f.kind,
                    "own_notice_id": own_notice,
                    "counterpart": counterpart,
                    "agreement_id": agreement_id,
                    "policy": f.pairing.policy_name,
                    "outcome": "recorded",
                    "late": late,
                    "overlap": f.overlap,
                    "alt_lower_ft": float(f.overlap["alt_lower_ft"]),
                    "alt_upper_ft": float(f.overlap["alt_upper_ft"]),
                    "start_at": datetime.fromisoformat(f.overlap["start"].replace("Z", "+00:00")),
                    "end_at": datetime.fromisoformat(f.overlap["end"].replace("Z", "+00:00")),
                    "status": "active",
                    "created_at": now,
                }
                session.execute(_INSERT_CONFLICT, values)
                row = SimpleNamespace(**values)
                public = conflict_public(row)
                publish(session, viewer, "conflict", public, now=now)
                if viewer == party_id:
                    own_cid = cid
                    own_copies.append(public)
            if _opens_thread(f, party_id):
                assert f.other_notice_id is not None
                open_conflict_thread(
                    session,
                    sender=party_id,
                    recipient=f.other_party_id,
                    conflict_id=own_cid,
                    own_notice_id=notice_id,
                    other_notice_id=f.other_notice_id,
                    overlap=f.overlap,
                    now=now,
                )
        return own_copies

    def _resolve_for(self, session: Session, notice_id: str, now: datetime) -> None:
        """Mark every active conflict involving ``notice_id`` resolved, telling both sides."""
        pair_ids = select(conflicts.c.pair_id).where(
            conflicts.c.own_notice_id == notice_id, conflicts.c.status == "active"
        )
        rows = list(
            session.execute(
                select(conflicts).where(
                    conflicts.c.pair_id.in_(pair_ids), conflicts.c.status == "active"
                )
            )
        )
        if not rows:
            return
        session.execute(
            update(conflicts)
            .where(conflicts.c.id.in_([r.id for r in rows]))
            .values(status="resolved")
        )
        for pair_id in sorted({r.pair_id for r in rows}):
            audit.record(
                session,
                "conflict.resolved",
                sorted({r.party_id for r in rows if r.pair_id == pair_id}),
                {"pair_id": pair_id},
                now=now,
            )
        for r in rows:
            public = conflict_public(r)
            public["status"] = "resolved"
            publish(session, r.party_id, "conflict", public, now=now)


def _opens_thread(f: _Found, party_id: str) -> bool:
    """An advisory agreement's plan-plan conflict opens a hotline thread (DOMAIN.md section 6)."""
    return (
        f.kind == "volume"
        and f.pairing.policy_name == "advisory"
        and f.pairing.agreement is not None
        and f.other_notice_id is not None
        and f.other_party_id != party_id
    )


def _refused(found: list[_Found]) -> bool:
    """Whether any conflict is refused under its policy (the write is then rejected whole)."""
    return any(f.decision == "reject" for f in found)


def _content(
    draft: Draft, *, late: bool, signature: dict[str, str] | None, now: datetime, seq: int
) -> dict[str, Any]:
    """The ``notices`` columns a create and an amend both (re)write from the draft."""
    return {
        "category": draft.category,
        "priority": draft.priority,
        "title": draft.title,
        "body": draft.body,
        "late": late,
        "signature": signature,
        "updated_at": now,
        "end_at": max(v.end for v in draft.volumes),
        "change_seq": seq,
    }


def _update_own(session: Session, party_id: str, notice_id: str, **values: Any) -> None:
    """Set ``values`` on the party's own notice row (the caller checked it exists)."""
    session.execute(
        update(notices)
        .where(notices.c.id == notice_id, notices.c.party_id == party_id)
        .values(**values)
    )


def _reread(session: Session, notice_id: str) -> Any:
    """The notice's row as just written in this transaction."""
    return session.execute(select(notices).where(notices.c.id == notice_id)).one()


def _accepted(
    session: Session,
    kind: str,
    row: Any,
    created: list[dict[str, Any]],
    found: list[_Found],
    now: datetime,
    status: int,
    outcome: str,
) -> WriteResult:
    """Ledger entry and owner event for an accepted create or amend; the response to send.

    ``row`` is the notice as written (its ``version`` and ``state`` go into the event),
    ``created`` the submitter's copies of the conflicts just recorded.
    """
    _audit_notice(session, kind, row, now)
    _publish_notice(session, row.party_id, row.id, row.version, row.state, now)
    body = notice_public(row, now=now, conflicts_=created)
    return WriteResult(status, body, outcome, _by_policy(found))


def _publish_notice(
    session: Session, party_id: str, notice_id: str, version: int, state: str, now: datetime
) -> None:
    """Tell the owning party (event stream) that its notice moved to ``version``/``state``."""
    publish(
        session, party_id, "notice", {"id": notice_id, "version": version, "state": state}, now=now
    )


def _remember(
    session: Session, party_id: str, key: str, digest: str, result: WriteResult, now: datetime
) -> None:
    """Store a create's result under its ``Idempotency-Key`` so a retry replays it."""
    session.execute(
        insert(idempotency).values(
            party_id=party_id,
            key=key,
            request_hash=digest,
            status=result.status,
            response=result.body,
            created_at=now,
        )
    )


def _audit_notice(session: Session, kind: str, row: Any, now: datetime) -> None:
    """Ledger entry for a notice write, openable by the owning party only."""
    audit.record(
        session,
        kind,
        [row.party_id],
        {
            "notice_id": row.id,
            "version": row.version,
            "state": row.state,
            "body_sha256": request_hash(row.body),
            "signature": row.signature,
        },
        now=now,
    )


def _version_of(payload: Mapping[str, Any]) -> int:
    version = payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidInputError(field="version", reason="the version you last saw (integer >= 1)")
    return version


def _by_policy(found: list[_Found]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in found:
        out[f.pairing.policy_name] = out.get(f.pairing.policy_name, 0) + 1
    return out
