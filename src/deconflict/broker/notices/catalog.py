"""The notice service's view of the catalog: parties, signing keys, agreements and lines.

Re-read only when the catalog version moved (:func:`deconflict.store.tables.catalog_version`),
checked once per write transaction; :meth:`CatalogCache.pairings` derives, per submitting party,
the policy and the need-to-know labels toward every other party, and the agreed lines that
concern it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from deconflict.broker.agreements import Agreement, Line, list_agreements, list_lines
from deconflict.store.tables import catalog_version, parties
from deconflict.strategic import AdvisoryPolicy, F3548Policy

_CATALOG_INFO = "deconflict.notice_catalog"
"""``session.info`` key: the catalog already validated in this write transaction."""


@dataclass(frozen=True)
class Pairing:
    """How a submitting party relates to one other party: the governing policy and agreement,
    and the names each side knows the other by."""

    # strategic.PriorityPolicy declares a settable ``name`` that its frozen implementations do
    # not satisfy under mypy, so the concrete union is used here.
    policy: AdvisoryPolicy | F3548Policy
    policy_name: str
    agreement: Agreement | None
    label_of_other: str  # how the submitter sees the other party
    label_of_self: str  # how the other party sees the submitter


#: The pairing toward a party the submitter shares no agreement with.
UNKNOWN_PAIRING = Pairing(AdvisoryPolicy(), "advisory", None, "another party", "another party")

Pairings = tuple[dict[str, Pairing], list[tuple[Line, Agreement]]]


@dataclass
class Catalog:
    """Cached parties, signing keys, agreements and lines at one catalog version."""

    version: int
    names: dict[str, str]
    signing: dict[str, tuple[str, bytes]]
    agreements: list[Agreement]
    lines: dict[str, list[Line]]
    pairings: dict[str, Pairings]


class CatalogCache:
    """The catalog of the notice service, re-read only when its version moved."""

    def __init__(self) -> None:
        self._cached: Catalog | None = None

    def catalog(self, session: Session) -> Catalog:
        """Parties, signing keys, agreements and lines, re-read only when their version moved.

        Checked once per write transaction (the transaction holds the strategic lock; notice
        writes never change the catalog), then remembered in ``session.info``.
        """
        checked: Catalog | None = session.info.get(_CATALOG_INFO)
        if checked is not None:
            return checked
        version = catalog_version(session)
        cached = self._cached
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
        self._cached = Catalog(version, names, signing, list_agreements(session), lines, {})
        session.info[_CATALOG_INFO] = self._cached
        return self._cached

    def pairings(self, session: Session, party_id: str) -> Pairings:
        """Policy and labels toward every other party, and the lines relevant to ``party_id``."""
        catalog = self.catalog(session)
        memo = catalog.pairings.get(party_id)
        if memo is not None:
            return memo
        names = catalog.names
        mine = [a for a in catalog.agreements if party_id in a.members]
        out: dict[str, Pairing] = {}
        for other, other_name in names.items():
            if other == party_id:
                continue
            shared = [a for a in mine if other in a.members]
            strict = [a for a in shared if a.policy == "f3548"]
            agreement = strict[0] if strict else (shared[0] if shared else None)
            if agreement is None:
                out[other] = Pairing(
                    AdvisoryPolicy(), "advisory", None, other_name, names[party_id]
                )
                continue
            policy: AdvisoryPolicy | F3548Policy = (
                F3548Policy(allow_equal_priority_conflicts=agreement.equal_priority_allowed)
                if agreement.policy == "f3548"
                else AdvisoryPolicy()
            )
            out[other] = Pairing(
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
