"""Salted commitments, leaf records, signed notes, checkpoints and cosigning."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_fixtures import BROKER, ORIGIN, T0, WITNESS, build_ledger, make_event, salt_for

from deconflict.errors import InvalidInputError, NotFoundError
from deconflict.ledger import (
    Checkpoint,
    Event,
    LeafRecord,
    Opening,
    ProofError,
    SignedCheckpoint,
    Signer,
    Verifier,
    commit_event,
    cosign,
    leaf_hash,
    new_salt,
    open_event,
    render_view,
    sign_checkpoint,
)
from deconflict.ledger.notes import parse_note


def test_commitment_is_sha256_of_salt_and_canonical_json() -> None:
    """Version 2 leaf: one commitment per party view, each under an HMAC-derived view salt;
    computed here independently from the spec in ``deconflict.ledger.entries``."""
    event = make_event(7)  # two parties
    assert len(event.party_ids) == 2
    salt = salt_for(7)
    labels = {"bravo": {"charlie": "party-c0ffee"}, "charlie": {"bravo": "Party Bravo"}}
    leaf = commit_event(3, event, salt, labels)
    expected = []
    for viewer in event.party_ids:
        other = next(p for p in event.party_ids if p != viewer)
        view = {**event.to_json(), "parties": sorted([viewer, labels[viewer][other]])}
        vsalt = hmac.new(
            salt, b"deconflict-ledger-view/v1\x00" + viewer.encode(), hashlib.sha256
        ).digest()
        expected.append(hashlib.sha256(vsalt + rfc8785.dumps(view)).digest())
        opening = open_event(event, salt, viewer, labels)
        assert opening.salt == vsalt
        opening.check(leaf)
        assert opening.names(viewer, leaf) and not opening.names(other, leaf)
    assert leaf.commitments == tuple(sorted(expected))
    record: dict[str, Any] = {
        "v": 2,
        "index": 3,
        "kind": event.kind,
        "commitments": [base64.b64encode(c).decode() for c in sorted(expected)],
    }
    assert leaf.encode() == rfc8785.dumps(record)
    assert leaf.leaf_hash() == hashlib.sha256(b"\x00" + rfc8785.dumps(record)).digest()
    # The leaf reveals no content and no party.
    for secret in (b"event 7", b"bravo", b"charlie"):
        assert secret not in leaf.encode()


def test_views_replace_other_party_ids_everywhere() -> None:
    a, b = "a" * 32, "b" * 32
    event = Event(
        kind="channel.updated",
        party_ids=(a, b),
        payload={"by": b, "pair": [a, b], b: {"note": f"from {b} to {a}"}},
        received_at=T0,
    )
    view = render_view(event, a, {b: "party-123abc"})
    text = json.dumps(view.to_json())
    assert b not in text and a in text
    assert view.party_ids == tuple(sorted((a, "party-123abc")))
    assert view.payload == {
        "by": "party-123abc",
        "pair": [a, "party-123abc"],
        "party-123abc": {"note": f"from party-123abc to {a}"},
    }
    # No label: an opaque one, still no id.
    assert b not in json.dumps(render_view(event, a, {}).to_json())
    with pytest.raises(InvalidInputError):
        render_view(event, "c" * 32, {})
    with pytest.raises(InvalidInputError, match="distinct"):
        render_view(event, a, {b: a})


def test_legacy_v1_leaves_still_open() -> None:
    event = make_event(4)
    salt = new_salt()
    content = rfc8785.dumps(event.to_json())
    record: dict[str, Any] = {
        "v": 1,
        "index": 0,
        "kind": event.kind,
        "parties": list(event.party_ids),
        "commitment": base64.b64encode(hashlib.sha256(salt + content).digest()).decode(),
    }
    leaf = LeafRecord.from_json(record)
    assert leaf.to_json() == record and leaf.encode() == rfc8785.dumps(record)
    Opening(salt=salt, event=event).check(leaf)
    assert Opening(salt=salt, event=event).names(event.party_ids[0], leaf)
    with pytest.raises(ProofError, match="commitment"):
        Opening(salt=new_salt(), event=event).check(leaf)


def test_event_json_round_trip_and_normalisation() -> None:
    event = Event(
        kind="message.sent",
        party_ids=("bravo", "alpha", "bravo"),
        payload={"text": "привет", "n": 1.5},
        received_at=datetime(2026, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=3))),
    )
    assert event.party_ids == ("alpha", "bravo")
    as_json = event.to_json()
    assert as_json["received_at"] == "2026-01-01T10:00:00.000000Z"
    assert as_json["claimed_at"] is None
    assert Event.from_json(as_json) == event


def test_opening_checks_salt_content_kind_and_parties() -> None:
    event = make_event(4)
    salt = new_salt()
    leaf = commit_event(0, event, salt)
    viewer = event.party_ids[0]
    opening = open_event(event, salt, viewer)
    opening.check(leaf)
    with pytest.raises(ProofError, match="commitment"):
        Opening(salt=new_salt(), event=opening.event).check(leaf)
    with pytest.raises(ProofError, match="commitment"):
        Opening(salt=salt, event=opening.event).check(leaf)  # the entry salt is not a view salt
    with pytest.raises(ProofError, match="commitment"):
        Opening(salt=opening.salt, event=event).check(leaf)  # the full event is not committed
    changed = Event(
        kind=event.kind,
        party_ids=opening.event.party_ids,
        payload={**event.payload, "n": 5},
        received_at=event.received_at,
        claimed_at=event.claimed_at,
    )
    with pytest.raises(ProofError, match="commitment"):
        Opening(salt=opening.salt, event=changed).check(leaf)
    relabelled = LeafRecord(index=0, kind="other", commitments=leaf.commitments)
    with pytest.raises(ProofError, match="kind"):
        opening.check(relabelled)
    with pytest.raises(ProofError, match="salt"):
        Opening(salt=b"short", event=opening.event).check(leaf)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": ""}, "kind"),
        ({"party_ids": ()}, "party_ids"),
        ({"received_at": datetime(2026, 1, 1)}, "received_at"),
        ({"payload": {"x": float("nan")}}, "payload"),
    ],
)
def test_bad_events_name_the_field(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "kind": "k",
        "party_ids": ("a",),
        "payload": {},
        "received_at": T0,
    }
    base.update(kwargs)
    with pytest.raises(InvalidInputError) as info:
        Event(**base).content()  # type: ignore[arg-type]
    assert info.value.field == field


def test_leaf_record_parsing_rejects_malformed() -> None:
    good = commit_event(2, make_event(2), salt_for(2)).to_json()
    assert LeafRecord.from_json(good).to_json() == good
    two = good["commitments"] * 2 if len(good["commitments"]) == 1 else good["commitments"]
    changes: tuple[dict[str, Any], ...] = (
        {"v": 3},
        {"v": 1},
        {"index": -1},
        {"index": True},
        {"commitments": list(reversed(two)) if two[0] != two[-1] else two},
        {"commitments": []},
        {"commitments": ["AAAA"]},
        {"parties": ["a"]},
        {"extra": 1},
    )
    for change in changes:
        with pytest.raises(InvalidInputError):
            LeafRecord.from_json({**good, **change})


def test_key_ids_follow_signed_note_spec() -> None:
    verifier = BROKER.verifier
    expected = hashlib.sha256(BROKER.name.encode() + b"\n\x01" + verifier.public_key).digest()[:4]
    assert verifier.key_id == expected
    assert Verifier.from_vkey(verifier.vkey()) == verifier
    assert Signer.from_skey(BROKER.skey()) == BROKER
    witness = WITNESS["alpha"].verifier
    assert (
        witness.key_id
        == hashlib.sha256(witness.name.encode() + b"\n\x04" + witness.public_key).digest()[:4]
    )
    name, _hex_id, blob = verifier.vkey().split("+", 2)
    with pytest.raises(InvalidInputError, match="key id"):
        Verifier.from_vkey(f"{name}+00000000+{blob}")
    with pytest.raises(InvalidInputError):
        Verifier.from_vkey("nonsense")
    # base64 may contain '+': the parser splits at most twice (as Go's note package does).
    for seed in range(40):
        key = Signer(name="k", signature_type=0x01, seed=bytes([seed]) * 32)
        assert Verifier.from_vkey(key.verifier.vkey()) == key.verifier
        assert Signer.from_skey(key.skey()) == key
    with pytest.raises(InvalidInputError):
        Signer.from_skey("PRIVATE+KEY+x+00+AAAA")


def test_checkpoint_note_format_and_signatures() -> None:
    checkpoint = Checkpoint(origin=ORIGIN, size=5, root=bytes(32), timestamp_s=1_790_000_000)
    assert checkpoint.body() == (
        f"{ORIGIN}\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 1790000000\n"
    )
    signed = sign_checkpoint(checkpoint, BROKER)
    note = signed.note()
    body, signatures = parse_note(note)
    assert body == checkpoint.body()
    # Independent check of the Ed25519 signature over the note text (signed-note, type 0x01).
    raw = signatures[0].signature
    Ed25519PublicKey.from_public_bytes(BROKER.verifier.public_key).verify(raw, body.encode())
    assert note.splitlines()[-1].startswith("\u2014 deconflict.test/broker ")
    again = SignedCheckpoint.from_note(note)
    assert again.is_signed_by(BROKER.verifier)
    assert not again.is_signed_by(WITNESS["alpha"].verifier)
    forged = note.replace("\n5\n", "\n6\n")
    with pytest.raises(ProofError, match="signature invalid"):
        SignedCheckpoint.from_note(forged).is_signed_by(BROKER.verifier)
    for bad in ("no blank line\n", note.rstrip("\n"), note.replace("\u2014", "-"), "a\x07\n\n"):
        with pytest.raises(InvalidInputError):
            SignedCheckpoint.from_note(bad)
    with pytest.raises(InvalidInputError, match="canonical"):
        Checkpoint.from_body(f"{ORIGIN}\n5\n{'A' * 43}=\ntime 01\n")


def test_cosignature_matches_tlog_cosignature_v1() -> None:
    ledger = build_ledger([make_event(n) for n in range(5)], [salt_for(n) for n in range(5)])
    head = ledger.sign_head(now=T0)
    now = T0 + timedelta(seconds=3)
    cosigned = cosign(
        head,
        witness=WITNESS["alpha"],
        log_key=BROKER.verifier,
        last_cosigned=None,
        proof=[],
        now=now,
    )
    assert cosigned.is_signed_by(WITNESS["alpha"].verifier)
    line = cosigned.signatures[-1]
    timestamp = int(now.timestamp())
    assert struct.unpack(">Q", line.signature[:8]) == (timestamp,)
    message = f"cosignature/v1\ntime {timestamp}\n".encode() + head.checkpoint.body().encode()
    Ed25519PublicKey.from_public_bytes(WITNESS["alpha"].verifier.public_key).verify(
        line.signature[8:], message
    )


def test_witness_refuses_inconsistent_or_rolled_back_heads() -> None:
    events = [make_event(n) for n in range(12)]
    salts = [salt_for(n) for n in range(12)]
    ledger = build_ledger(events[:6], salts[:6])
    first = ledger.sign_head(now=T0)
    witness, log_key = WITNESS["bravo"], BROKER.verifier
    cosign(first, witness=witness, log_key=log_key, last_cosigned=None, proof=[], now=T0)
    for event, salt in zip(events[6:], salts[6:], strict=True):
        ledger.append(event, salt=salt)
    later = ledger.sign_head(now=T0 + timedelta(minutes=1))
    proof = ledger.consistency_proof(6, 12)
    cosign(
        later, witness=witness, log_key=log_key, last_cosigned=first.checkpoint, proof=proof, now=T0
    )
    # A rewritten log (entry 2 altered) re-signed by the broker: the witness refuses.
    rewritten_events = list(events)
    rewritten_events[2] = make_event(99)
    rewritten = build_ledger(rewritten_events, salts)
    forged = rewritten.sign_head(now=T0 + timedelta(minutes=2))
    with pytest.raises(ProofError, match="consistency"):
        cosign(
            forged,
            witness=witness,
            log_key=log_key,
            last_cosigned=first.checkpoint,
            proof=rewritten.consistency_proof(6, 12),
            now=T0,
        )
    # A roll-back to a smaller tree.
    small = build_ledger(events[:4], salts[:4]).sign_head(now=T0 + timedelta(minutes=3))
    with pytest.raises(ProofError, match="went back"):
        cosign(
            small,
            witness=witness,
            log_key=log_key,
            last_cosigned=first.checkpoint,
            proof=[],
            now=T0,
        )
    # A head not signed by the log.
    impostor = Signer(name=BROKER.name, signature_type=0x01, seed=b"\x09" * 32)
    unsigned = sign_checkpoint(later.checkpoint, impostor)
    with pytest.raises(ProofError, match="not signed"):
        cosign(unsigned, witness=witness, log_key=log_key, last_cosigned=None, proof=[], now=T0)


def test_ledger_leaf_hashes_are_the_leaf_records() -> None:
    ledger = build_ledger([make_event(n) for n in range(3)], [salt_for(n) for n in range(3)])
    for index, entry in enumerate(ledger.entries):
        assert entry.leaf.index == index
        assert ledger.storage.leaf_hash(index) == leaf_hash(entry.leaf.encode())
    assert datetime.fromtimestamp(0, UTC).year == 1970


def test_in_memory_ledger_opening_and_cosignature_merge() -> None:
    ledger = build_ledger([make_event(n) for n in range(6)], [salt_for(n) for n in range(6)])
    owner = ledger.entries[1].party_ids[0]
    opened = ledger.opening(1, owner)
    assert opened.event.payload == make_event(1).payload
    assert owner in opened.event.party_ids
    opened.check(ledger.entries[1].leaf)
    outsider = next(
        p for p in ("alpha", "bravo", "charlie") if p not in ledger.entries[1].party_ids
    )
    with pytest.raises(NotFoundError):
        ledger.opening(1, outsider)
    with pytest.raises(NotFoundError):
        ledger.opening(60, owner)
    with pytest.raises(InvalidInputError):
        ledger.export(owner)  # nothing signed yet
    head = ledger.sign_head(now=T0)
    cosigned = cosign(
        head,
        witness=WITNESS["alpha"],
        log_key=BROKER.verifier,
        last_cosigned=None,
        proof=[],
        now=T0,
    )
    merged = ledger.add_cosignature(cosigned)
    assert merged.is_signed_by(WITNESS["alpha"].verifier) and len(merged.signatures) == 2
    other = Checkpoint(origin=ORIGIN, size=6, root=bytes(32), timestamp_s=1)
    with pytest.raises(NotFoundError):
        ledger.add_cosignature(sign_checkpoint(other, BROKER))


_IDS = st.lists(
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32), min_size=1, max_size=4
).map(lambda ids: tuple(sorted(set(ids))))
_TEXT = st.text(max_size=12)


@settings(max_examples=40, deadline=None)
@given(ids=_IDS, data=st.data())
def test_every_party_opens_only_its_own_view_and_sees_no_other_id(
    ids: tuple[str, ...], data: st.DataObject
) -> None:
    """Property: for any parties, labels and payload (ids embedded anywhere), each party's
    opening checks against the leaf, names that party only, and its JSON holds no other id;
    the leaf holds no id at all."""
    payload = {
        "by": data.draw(st.sampled_from(ids)),
        "note": data.draw(_TEXT) + data.draw(st.sampled_from(ids)) + data.draw(_TEXT),
        "list": data.draw(st.lists(st.sampled_from(ids), max_size=3)),
    }
    event = Event(kind="k.x", party_ids=ids, payload=payload, received_at=T0)
    labels = {
        v: {o: f"label {v[:4]}>{o[:4]}" for o in ids if o != v and data.draw(st.booleans())}
        for v in ids
    }
    salt = new_salt()
    leaf = commit_event(5, event, salt, labels)
    assert len(leaf.commitments) == len(ids)
    leaf_text = leaf.encode().decode()
    for viewer in ids:
        assert viewer not in leaf_text
        opening = open_event(event, salt, viewer, labels)
        opening.check(leaf)
        view_text = json.dumps(opening.event.to_json())
        assert viewer in view_text
        for other in ids:
            if other != viewer:
                assert other not in view_text
                assert not opening.names(other, leaf)
        # Reference: the view is the event with each other id replaced by its label.
        shown = {o: labels[viewer].get(o) for o in ids if o != viewer}
        assert len(opening.event.party_ids) == len(ids)
        for other, label in shown.items():
            if label is not None:
                assert label in opening.event.party_ids
                if payload["by"] == other:
                    assert opening.event.payload["by"] == label
