"""Shared builders for the ledger tests (imported by the test modules, not collected)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deconflict.ledger import Event, Ledger, Signer
from deconflict.ledger.notes import COSIGNATURE_V1

ORIGIN = "deconflict.test/ledger"
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
PARTIES = ("alpha", "bravo", "charlie")

BROKER = Signer(name="deconflict.test/broker", signature_type=0x01, seed=bytes(range(32)))
WITNESS = {
    party: Signer(
        name=f"deconflict.test/{party}",
        signature_type=COSIGNATURE_V1,
        seed=bytes([n + 1]) * 32,
    )
    for n, party in enumerate(PARTIES)
}


def salt_for(number: int) -> bytes:
    """Deterministic salts so that a rebuilt log reuses the honest one's salts."""
    return number.to_bytes(4, "big") * 8


def make_event(number: int) -> Event:
    """Event ``number``: rotates through party pairs and kinds."""
    first = PARTIES[number % 3]
    second = PARTIES[(number + 1) % 3]
    parties = (first,) if number % 5 == 0 else (first, second)
    return Event(
        kind=("notice.submitted", "message.sent", "alert.raised")[number % 3],
        party_ids=parties,
        payload={"n": number, "note": f"event {number}", "alt_ft": 10000 + number},
        received_at=T0 + timedelta(seconds=number),
        claimed_at=T0 + timedelta(seconds=number) - timedelta(milliseconds=250),
    )


def build_ledger(events: list[Event], salts: list[bytes]) -> Ledger:
    """A ledger with ``events`` appended in order (no checkpoint yet)."""
    ledger = Ledger(ORIGIN, BROKER)
    for event, salt in zip(events, salts, strict=True):
        ledger.append(event, salt=salt)
    return ledger
