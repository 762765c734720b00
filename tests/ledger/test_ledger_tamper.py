"""Export bundles: honest bundles verify; every kind of tampering is caught and named.

The threat is the broker itself: it holds the signing key, so after tampering it can rebuild
the tree and sign fresh checkpoints. What it cannot do is make the new tree consistent with a
checkpoint a party already holds (and may have cosigned).
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_fixtures import BROKER, ORIGIN, PARTIES, T0, WITNESS, build_ledger, make_event, salt_for

from deconflict.errors import InvalidInputError
from deconflict.ledger import Event, Ledger, Signer, cosign, verify_bundle
from deconflict.ledger.entries import b64decode, b64encode

N_EARLY, N_TOTAL = 24, 40
EVENTS = [make_event(n) for n in range(N_TOTAL)]
SALTS = [salt_for(n) for n in range(N_TOTAL)]
LOG_KEYS = [BROKER.verifier]
WITNESS_KEYS = [w.verifier for w in WITNESS.values()]


def honest() -> tuple[Ledger, str]:
    """A log of N_TOTAL events; every party cosigned the head at N_EARLY (returned as note)."""
    ledger = build_ledger(EVENTS[:N_EARLY], SALTS[:N_EARLY])
    head = ledger.sign_head(now=T0 + timedelta(minutes=1))
    for witness in WITNESS.values():
        head = cosign(
            head, witness=witness, log_key=BROKER.verifier, last_cosigned=None, proof=[], now=T0
        )
    ledger.add_cosignature(head)
    for event, salt in zip(EVENTS[N_EARLY:], SALTS[N_EARLY:], strict=True):
        ledger.append(event, salt=salt)
    ledger.sign_head(now=T0 + timedelta(minutes=2))
    return ledger, head.note()


def rebuilt(events: list[Event], salts: list[bytes]) -> Ledger:
    """What a dishonest broker does after editing its store: rebuild and sign a new head."""
    ledger = build_ledger(events, salts)
    ledger.sign_head(now=T0 + timedelta(minutes=3))
    return ledger


def failures(bundle: dict[str, Any], known: list[str]) -> list[str]:
    report = verify_bundle(bundle, log_keys=LOG_KEYS, witness_keys=(), known_checkpoints=known)
    return [f"{c.name}: {c.detail}" for c in report.failures]


@pytest.mark.parametrize("party", PARTIES)
def test_honest_bundle_verifies_for_every_party(party: str) -> None:
    ledger, held = honest()
    bundle = ledger.export(party, since_sizes=[N_EARLY])
    bundle = json.loads(json.dumps(bundle))  # through JSON, as a file would be
    report = verify_bundle(
        bundle, log_keys=LOG_KEYS, witness_keys=WITNESS_KEYS, known_checkpoints=[held]
    )
    assert report.ok, report.failures
    own = [e for e in ledger.entries if party in e.party_ids]
    assert len(bundle["entries"]) == len(own) > 0
    # Need to know: the bundle carries no other party's content, and no other party's id
    # (leaves hold commitments only; the party's views show the others by label).
    for entry in bundle["entries"]:
        assert party in entry["event"]["parties"]
        assert "parties" not in entry["leaf"]
    text = json.dumps(bundle)
    for other in ledger.entries:
        if party not in other.party_ids:
            assert json.dumps(other.event.payload["note"]) not in text
    entries_text = json.dumps(bundle["entries"])  # (heads name the witnesses, not entries)
    for stranger in PARTIES:
        assert stranger == party or f'"{stranger}"' not in entries_text
    names = {c.name for c in report.checks}
    assert any("cosignature" in n or n.startswith("witness") for n in names)
    assert f"known checkpoint size {N_EARLY}: latest extends it" in names


def _tampered(kind: str, position: int) -> tuple[list[Event], list[bytes]]:
    events, salts = list(EVENTS), list(SALTS)
    if kind == "alter":
        original = events[position]
        events[position] = Event(
            kind=original.kind,
            party_ids=original.party_ids,
            payload={**original.payload, "alt_ft": 99999},
            received_at=original.received_at,
            claimed_at=original.claimed_at,
        )
    elif kind == "reorder":
        events[position], events[position + 1] = events[position + 1], events[position]
        salts[position], salts[position + 1] = salts[position + 1], salts[position]
    elif kind == "delete":
        del events[position], salts[position]
    elif kind == "insert":
        events.insert(position, make_event(500))
        salts.insert(position, salt_for(500))
    elif kind == "rollback":
        events, salts = events[:position], salts[:position]
    return events, salts


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["alter", "reorder", "delete", "insert", "rollback"]),
    position=st.integers(0, N_EARLY - 2),
    party=st.sampled_from(PARTIES),
)
def test_rewrites_before_a_held_head_are_detected(kind: str, position: int, party: str) -> None:
    _, held = honest()
    events, salts = _tampered(kind, position)
    dishonest = rebuilt(events, salts)
    bundle = dishonest.export(party, since_sizes=[N_EARLY])
    found = failures(bundle, [held])
    assert any(f.startswith(f"known checkpoint size {N_EARLY}") for f in found), found
    if kind == "rollback":
        assert any("rolled back" in f for f in found), found


@pytest.mark.parametrize("kind", ["alter", "reorder", "delete", "insert"])
def test_rewrites_of_recent_entries_are_caught_by_the_latest_held_head(kind: str) -> None:
    # A party that holds the latest head (from its last export) catches edits of any entry.
    ledger, _ = honest()
    position = N_EARLY + 5
    owner = sorted(ledger.entries[position].party_ids)[0]
    old_bundle = ledger.export(owner)
    events, salts = _tampered(kind, position)
    dishonest = rebuilt(events, salts)
    bundle = dishonest.export(owner)
    found = failures(bundle, [old_bundle["checkpoints"][-1]])
    assert any(f.startswith(f"known checkpoint size {N_TOTAL}") for f in found), found


def test_altered_stored_content_is_detected_by_its_owner() -> None:
    ledger, _ = honest()
    party = "alpha"
    bundle = ledger.export(party)
    victim = bundle["entries"][3]
    victim["event"]["payload"]["alt_ft"] = 1
    found = failures(bundle, [])
    assert any("opens commitment" in f for f in found), found


def test_altered_leaf_record_fails_inclusion() -> None:
    ledger, _ = honest()
    bundle = ledger.export("bravo")
    entry = bundle["entries"][0]
    entry["leaf"]["kind"] = "nothing.happened"
    entry["event"]["kind"] = "nothing.happened"
    # The content no longer opens the commitment, and the leaf no longer is in the tree.
    found = failures(bundle, [])
    assert any("opens commitment" in f for f in found)
    assert any(f.startswith(f"entry {entry['leaf']['index']}: included") for f in found)


def test_wrong_index_and_altered_proof_fail() -> None:
    ledger, _ = honest()
    bundle = ledger.export("charlie")
    moved = copy.deepcopy(bundle)
    moved["entries"][0]["leaf"]["index"] += 1
    assert failures(moved, [])
    bent = copy.deepcopy(bundle)
    node = bytearray(b64decode(bent["entries"][1]["proof"][0], field="x"))
    node[0] ^= 1
    bent["entries"][1]["proof"][0] = b64encode(bytes(node))
    found = failures(bent, [])
    assert len(found) == 1 and "included" in found[0], found


def test_split_view_is_evidence() -> None:
    # The broker shows alpha one history and bravo another, both signed, same size.
    events_b = list(EVENTS)
    events_b[1] = make_event(77)
    view_a, view_b = rebuilt(EVENTS, SALTS), rebuilt(events_b, SALTS)
    held_by_b = view_b.checkpoints[-1].note()
    found = failures(view_a.export("alpha"), [held_by_b])
    assert any("two different roots" in f for f in found), found
    merged = view_a.export("alpha")
    merged["checkpoints"].append(held_by_b)
    assert any("split view" in f for f in failures(merged, []))


def test_signature_problems_are_reported() -> None:
    ledger, _ = honest()
    bundle = ledger.export("alpha", since_sizes=[N_EARLY])
    impostor = Signer(name=BROKER.name, signature_type=0x01, seed=b"\x07" * 32)
    report = verify_bundle(bundle, log_keys=[impostor.verifier])
    assert not report.ok
    assert all("no valid signature" in c.detail for c in report.failures if "log" in c.name)
    # A witness that never cosigned is reported by name.
    stranger = Signer(name="deconflict.test/delta", signature_type=0x04, seed=b"\x05" * 32)
    report = verify_bundle(bundle, log_keys=LOG_KEYS, witness_keys=[stranger.verifier])
    assert [c.name for c in report.failures] == ["witness deconflict.test/delta"]
    # A corrupted cosignature on a checkpoint.
    lines = bundle["checkpoints"][0].split("\n")
    name, blob = lines[-2][2:].split(" ")
    raw = bytearray(b64decode(blob, field="sig"))
    raw[-1] ^= 1
    lines[-2] = f"\u2014 {name} {b64encode(bytes(raw))}"
    bundle["checkpoints"][0] = "\n".join(lines)
    report = verify_bundle(bundle, log_keys=LOG_KEYS, witness_keys=WITNESS_KEYS)
    assert any("signature invalid" in c.detail for c in report.failures), report.failures


def test_missing_consistency_proof_and_foreign_entry_are_reported() -> None:
    ledger, held = honest()
    bundle = ledger.export("alpha", since_sizes=[N_EARLY])
    bundle["consistency"] = []
    found = failures(bundle, [held])
    assert any("proof missing" in f for f in found)
    assert any("no consistency proof" in f for f in found)
    other = ledger.export("bravo")
    foreign = next(e for e in other["entries"] if "alpha" not in e["event"]["parties"])
    mixed = ledger.export("alpha")
    mixed["entries"].append(foreign)
    assert any("names party" in f for f in failures(mixed, []))
    mixed["entries"].append(mixed["entries"][0])
    assert any("appears twice" in f for f in failures(mixed, []))


def test_not_a_bundle_is_bad_input() -> None:
    bad_inputs: list[Any] = [{}, {"format": "other"}, {"format": "deconflict-ledger-bundle/v1"}, []]
    for bad in bad_inputs:
        with pytest.raises(InvalidInputError):
            verify_bundle(bad, log_keys=LOG_KEYS)
    ledger, _ = honest()
    bundle = ledger.export("alpha")
    bundle["checkpoints"] = []
    with pytest.raises(InvalidInputError):
        verify_bundle(bundle, log_keys=LOG_KEYS)
    bundle = ledger.export("alpha")
    bundle["entries"][0]["proof"] = ["not base64!"]
    bundle["checkpoints"][0] = "garbage"
    found = failures(bundle, [])
    assert any("invalid base64" in f for f in found)
    bundle = ledger.export("alpha")
    bundle["entries"][0]["event"]["payload"]["alt_ft"] = float("nan")
    assert any("opens commitment" in f and "canonicalisable" in f for f in failures(bundle, []))
    assert any("format" in f for f in found)
    assert ORIGIN in json.dumps(bundle)
