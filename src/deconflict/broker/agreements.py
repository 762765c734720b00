"""Agreements between parties: the policy (advisory or F3548), pseudonyms and agreed lines.

An agreement names its member parties. Two parties' notices are checked against each other
under the policy of an agreement they share (the strictest: F3548 wins over advisory); parties
with no common agreement are still checked, under the advisory policy, so that no overlap goes
unreported. Each member gets a per-agreement pseudonym; with ``use_pseudonyms`` the other side
sees only that pseudonym, never the party's name.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from deconflict.broker.parties import get_party, new_id
from deconflict.daa.profiles import PROFILES
from deconflict.errors import InvalidInputError, NotFoundError
from deconflict.store.tables import agreed_lines, agreement_members, agreements, bump_catalog
from deconflict.store.tables import parties as parties_table
from deconflict.strategic.lines import AgreedLine, Side
from deconflict.times import utc_iso

Policy = Literal["advisory", "f3548"]
POLICIES: tuple[Policy, ...] = ("advisory", "f3548")


@dataclass(frozen=True)
class Agreement:
    """An agreement: policy, members (party id -> pseudonym), flags and the DAA alerting
    profile the live picture uses between its members (``cylinder``, ``airprox``, ``do365b``)."""

    id: str
    name: str
    policy: Policy
    equal_priority_allowed: bool
    use_pseudonyms: bool
    created_at: datetime
    members: dict[str, str] = field(default_factory=dict)
    profile: str = "cylinder"

    def label_for(self, party_id: str, party_name: str) -> str:
        """How ``party_id`` is shown to the other members."""
        return self.members[party_id] if self.use_pseudonyms else party_name

    def to_json(self, *, viewer_party_id: str | None = None) -> dict[str, Any]:
        """JSON for the operator (viewer None: member ids) or a member (pseudonyms only)."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "policy": self.policy,
            "equal_priority_allowed": self.equal_priority_allowed,
            "use_pseudonyms": self.use_pseudonyms,
            "created_at": utc_iso(self.created_at),
        }
        if viewer_party_id is None:
            out["members"] = [{"party_id": p, "pseudonym": s} for p, s in self.members.items()]
        else:
            out["own_pseudonym"] = self.members.get(viewer_party_id)
        return out


@dataclass(frozen=True)
class Line:
    """An agreed line: a polyline and the side each party keeps to."""

    id: str
    agreement_id: str
    name: str
    coordinates: list[tuple[float, float]]
    sides: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (coordinates [lon, lat] in degrees)."""
        return {
            "id": self.id,
            "agreement_id": self.agreement_id,
            "name": self.name,
            "coordinates": [list(c) for c in self.coordinates],
            "sides": dict(self.sides),
        }

    def agreed_line(self) -> AgreedLine:
        """The line as the strategic and live checks use it (the one agreed-line type)."""
        sides = {party: cast(Side, side) for party, side in self.sides.items()}
        return AgreedLine(self.id, tuple(self.coordinates), sides)


def create_agreement(
    session: Session,
    name: str,
    *,
    policy: str,
    parties: Sequence[str],
    now: datetime,
    use_pseudonyms: bool = False,
    equal_priority_allowed: bool = False,
    profile: str = "cylinder",
) -> Agreement:
    """Create an agreement among ``parties`` (ids or names, at least two); ``profile`` is the
    DAA alerting profile of the live picture between its members."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInputError(field="name", reason="must be 1-200 characters")
    if policy not in POLICIES:
        raise InvalidInputError(field="policy", reason="must be 'advisory' or 'f3548'")
    _check_profile(profile)
    if session.execute(select(agreements.c.id).where(agreements.c.name == name)).first():
        raise InvalidInputError(field="name", reason=f"an agreement called {name!r} exists")
    ids: list[str] = []
    for i, ref in enumerate(parties):
        try:
            pid = get_party(session, ref).id
        except NotFoundError:
            raise InvalidInputError(field=f"parties[{i}]", reason=f"no party {ref!r}") from None
        if pid not in ids:
            ids.append(pid)
    if len(ids) < 2:
        raise InvalidInputError(field="parties", reason="an agreement needs two or more parties")
    aid = new_id()
    session.execute(
        insert(agreements).values(
            id=aid,
            name=name,
            policy=policy,
            equal_priority_allowed=equal_priority_allowed,
            use_pseudonyms=use_pseudonyms,
            created_at=now,
            profile=profile,
        )
    )
    members: dict[str, str] = {}
    for pid in ids:
        pseudonym = f"party-{secrets.token_hex(3)}"
        while pseudonym in members.values():  # pragma: no cover - 1 in 16 million
            pseudonym = f"party-{secrets.token_hex(3)}"
        members[pid] = pseudonym
        session.execute(
            insert(agreement_members).values(agreement_id=aid, party_id=pid, pseudonym=pseudonym)
        )
    bump_catalog(session)
    return Agreement(
        aid,
        name,
        policy,
        equal_priority_allowed,
        use_pseudonyms,
        now,
        members,
        profile,
    )


def _load(session: Session, rows: Sequence[Any]) -> list[Agreement]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    members: dict[str, dict[str, str]] = {i: {} for i in ids}
    for m in session.execute(
        select(agreement_members).where(agreement_members.c.agreement_id.in_(ids))
    ):
        members[m.agreement_id][m.party_id] = m.pseudonym
    return [
        Agreement(
            id=r.id,
            name=r.name,
            policy=r.policy,
            equal_priority_allowed=bool(r.equal_priority_allowed),
            use_pseudonyms=bool(r.use_pseudonyms),
            created_at=r.created_at,
            members=members[r.id],
            profile=str(r.profile),
        )
        for r in rows
    ]


def list_agreements(session: Session, *, party_id: str | None = None) -> list[Agreement]:
    """Every agreement (operator, party_id None) or those ``party_id`` belongs to."""
    q = select(agreements).order_by(agreements.c.name)
    if party_id is not None:
        q = q.where(
            agreements.c.id.in_(
                select(agreement_members.c.agreement_id).where(
                    agreement_members.c.party_id == party_id
                )
            )
        )
    return _load(session, list(session.execute(q)))


def get_agreement(session: Session, agreement_id: str, *, party_id: str | None = None) -> Agreement:
    """One agreement; with ``party_id`` only if that party is a member (else 404)."""
    for a in list_agreements(session, party_id=party_id):
        if a.id == agreement_id:
            return a
    raise NotFoundError(f"no agreement {agreement_id!r}")


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise InvalidInputError(
            field="profile", reason=f"unknown profile {profile!r}; use {', '.join(PROFILES)}"
        )


def set_profile(session: Session, agreement_id: str, profile: str) -> str:
    """Set the agreement's DAA alerting profile; returns it. Raises ``NotFoundError``."""
    _check_profile(profile)
    result = session.execute(
        update(agreements).where(agreements.c.id == agreement_id).values(profile=profile)
    )
    if not getattr(result, "rowcount", 0):
        raise NotFoundError(f"no agreement {agreement_id!r}")
    bump_catalog(session)
    return profile


def profile_of(session: Session, agreement_id: str) -> str:
    """The agreement's DAA alerting profile. Raises ``NotFoundError``."""
    row = session.execute(
        select(agreements.c.profile).where(agreements.c.id == agreement_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no agreement {agreement_id!r}")
    return str(row.profile)


def agreement_profiles(session: Session) -> list[tuple[frozenset[str], str]]:
    """``(member party ids, profile)`` of every agreement, for the live picture."""
    return [(frozenset(a.members), a.profile) for a in list_agreements(session)]


def _check_coordinates(coords: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(coords, list) or len(coords) < 2 or len(coords) > 10_000:
        raise InvalidInputError(field=where, reason="must be a list of 2 to 10000 [lon, lat]")
    out: list[tuple[float, float]] = []
    for i, c in enumerate(coords):
        ok = (
            isinstance(c, list | tuple)
            and len(c) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in c)
        )
        if not ok:
            raise InvalidInputError(field=f"{where}[{i}]", reason="must be [lon, lat] numbers")
        lon, lat = float(c[0]), float(c[1])
        if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
            raise InvalidInputError(field=f"{where}[{i}][0]", reason="longitude in [-180, 180]")
        if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
            raise InvalidInputError(field=f"{where}[{i}][1]", reason="latitude in [-90, 90]")
        out.append((lon, lat))
    return out


def add_line(
    session: Session,
    agreement_id: str,
    *,
    name: str,
    coordinates: Any,
    sides: Mapping[str, str],
    now: datetime,
) -> Line:
    """Add an agreed line to an agreement; ``sides`` maps party id or name to left/right."""
    agreement = get_agreement(session, agreement_id)
    if not 1 <= len(name.strip()) <= 200:
        raise InvalidInputError(field="name", reason="must be 1-200 characters")
    coords = _check_coordinates(coordinates, "coordinates")
    resolved: dict[str, str] = {}
    for ref, side in sides.items():
        try:
            pid = get_party(session, ref).id
        except NotFoundError:
            raise InvalidInputError(field=f"sides.{ref}", reason="no such party") from None
        if pid not in agreement.members:
            raise InvalidInputError(field=f"sides.{ref}", reason="not a member of the agreement")
        if side not in ("left", "right"):
            raise InvalidInputError(field=f"sides.{ref}", reason="must be 'left' or 'right'")
        resolved[pid] = side
    if not resolved:
        raise InvalidInputError(field="sides", reason="give the side of at least one party")
    lid = new_id()
    session.execute(
        insert(agreed_lines).values(
            id=lid,
            agreement_id=agreement_id,
            name=name.strip(),
            coordinates=[list(c) for c in coords],
            sides=resolved,
            created_at=now,
        )
    )
    bump_catalog(session)
    return Line(lid, agreement_id, name.strip(), coords, resolved)


def list_lines(session: Session, agreement_id: str | None = None) -> list[Line]:
    """Lines of one agreement, or of every agreement."""
    q = select(agreed_lines).order_by(agreed_lines.c.created_at, agreed_lines.c.id)
    if agreement_id is not None:
        q = q.where(agreed_lines.c.agreement_id == agreement_id)
    return [
        Line(
            r.id,
            r.agreement_id,
            r.name,
            [(float(c[0]), float(c[1])) for c in r.coordinates],
            dict(r.sides),
        )
        for r in session.execute(q)
    ]


# --------------------------------------------------------------------------- display names
# One resolver for every place a party is shown to another (conflict records, hotline, live
# alerts): the governing shared agreement is chosen as the strategic check chooses it (an F3548
# agreement first, else the first by name); its ``use_pseudonyms`` decides pseudonym or name.


@dataclass(frozen=True)
class Counterpart:
    """How one party (``party_id``) is shown to a viewer.

    ``label`` is the name the viewer sees and addresses it by; ``handle`` the identifier shown in
    id fields (the pseudonym under a pseudonymous agreement, else the party id); ``shared`` says
    whether the two parties share an agreement.
    """

    party_id: str
    label: str
    handle: str
    pseudonymous: bool
    shared: bool


def _governing(candidates: Sequence[Agreement], viewer: str, other: str) -> Agreement | None:
    shared = [a for a in candidates if viewer in a.members and other in a.members]
    strict = [a for a in shared if a.policy == "f3548"]
    return strict[0] if strict else (shared[0] if shared else None)


def _counterparts_of(
    every: Sequence[Agreement], names: Mapping[str, str], viewer: str
) -> dict[str, Counterpart]:
    mine = [a for a in every if viewer in a.members]
    out: dict[str, Counterpart] = {}
    for pid, name in names.items():
        if pid == viewer:
            continue
        agreement = _governing(mine, viewer, pid)
        if agreement is not None and agreement.use_pseudonyms:
            pseudonym = agreement.members[pid]
            out[pid] = Counterpart(pid, pseudonym, pseudonym, True, True)
        else:
            out[pid] = Counterpart(pid, name, pid, False, agreement is not None)
    return out


def _party_names(session: Session) -> dict[str, str]:
    rows = session.execute(select(parties_table.c.id, parties_table.c.name))
    return {str(r.id): str(r.name) for r in rows}


def counterparts(session: Session, viewer_party_id: str) -> dict[str, Counterpart]:
    """How every other party is shown to ``viewer_party_id`` (party id -> :class:`Counterpart`).

    Parties with no shared agreement are shown by name (as conflict records show them) but
    marked ``shared=False``: they cannot be addressed on the hotline.
    """
    return _counterparts_of(
        list_agreements(session, party_id=viewer_party_id), _party_names(session), viewer_party_id
    )


def display_table(session: Session) -> dict[str, dict[str, str]]:
    """``{viewer id: {party id: name shown to the viewer}}`` for every party (own: its name)."""
    names = _party_names(session)
    every = list_agreements(session)
    out: dict[str, dict[str, str]] = {}
    for viewer, own in names.items():
        labels = {pid: c.label for pid, c in _counterparts_of(every, names, viewer).items()}
        labels[viewer] = own
        out[viewer] = labels
    return out


def display_name(session: Session, viewer_party_id: str, other_party_id: str) -> str:
    """The name ``viewer_party_id`` sees ``other_party_id`` by (its own name for itself).

    The pseudonym of the governing shared agreement when that agreement uses pseudonyms, else
    the party's name. Raises ``NotFoundError`` for an unknown party.
    """
    if other_party_id == viewer_party_id:
        return get_party(session, viewer_party_id).name
    known = counterparts(session, viewer_party_id).get(other_party_id)
    if known is None:
        raise NotFoundError(f"no party {other_party_id!r}")
    return known.label


def resolve_counterpart(session: Session, viewer_party_id: str, ref: str) -> str:
    """The id of the party ``viewer_party_id`` addresses as ``ref`` (shared agreement required).

    ``ref`` is the label the viewer sees (pseudonym or name) or, when the party is not
    pseudonymous to the viewer, its id. Anything else (unknown, no shared agreement, the real
    name or id behind a pseudonym) raises the same ``NotFoundError``: existence is not revealed.
    """
    for c in counterparts(session, viewer_party_id).values():
        if not c.shared:
            continue
        if ref == c.label or (not c.pseudonymous and ref == c.party_id):
            return c.party_id
    raise NotFoundError(f"no party {ref!r}")
