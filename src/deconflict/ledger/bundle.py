"""Export bundles and their offline verification.

A bundle is what one party takes away to check the log without trusting the broker::

    {"format": "deconflict-ledger-bundle/v1",
     "origin": "<log origin>",
     "party_id": "<the party the bundle was made for>",
     "log_key": "<the broker's vkey>",     informational: verifiers must bring their own copy
     "checkpoints": ["<signed checkpoint note>", ...],        ascending size; last = latest
     "consistency": [{"first": m, "second": n, "proof": ["<base64 hash>", ...]}, ...],
     "entries": [{"leaf": {leaf record}, "salt": "<base64>", "event": {event},
                  "proof": ["<base64 hash>", ...]}, ...]}      inclusion in the latest checkpoint

Each entry carries the party's *own* opening (its view salt and its view of the event, other
parties shown by label; :mod:`deconflict.ledger.entries`): a bundle holds no other party's id.

:func:`verify_bundle` checks every signature, every consistency proof (between consecutive
checkpoints and from any checkpoint the party already held), every opening and every inclusion
proof, and returns a :class:`VerificationReport` listing each check with its verdict and reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from deconflict.errors import DeconflictError, InvalidInputError
from deconflict.ledger.checkpoint import SignedCheckpoint
from deconflict.ledger.entries import Event, LeafRecord, Opening, b64decode, b64encode
from deconflict.ledger.hashing import HASH_SIZE
from deconflict.ledger.notes import Verifier
from deconflict.ledger.proofs import ProofError, verify_consistency, verify_inclusion
from deconflict.ledger.tree import SubtreeReader, consistency_proof, inclusion_proof

BUNDLE_FORMAT: Final = "deconflict-ledger-bundle/v1"
"""Value of the bundle's ``format`` field."""


@dataclass(frozen=True)
class Check:
    """One verification step: what was checked, whether it passed, and why not."""

    name: str
    ok: bool
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class VerificationReport:
    """Every check :func:`verify_bundle` ran; ``ok`` iff there was at least one and all passed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [check for check in self.checks if not check.ok]

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        """Record a check (``detail`` says why it failed and is dropped when it passed)."""
        self.checks.append(Check(name=name, ok=ok, detail="" if ok else detail))
        return ok

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"ok": self.ok, "checks": [check.to_json() for check in self.checks]}


def _hashes(values: Sequence[bytes]) -> list[str]:
    return [b64encode(value) for value in values]


def build_bundle(
    *,
    origin: str,
    party_id: str,
    reader: SubtreeReader,
    stored_size: int,
    checkpoints: Sequence[SignedCheckpoint],
    entries: Iterable[tuple[LeafRecord, Opening]],
    since_sizes: Sequence[int] = (),
    log_key: str | None = None,
) -> dict[str, Any]:
    """Assemble a party's export bundle (pure: the caller supplies heads and entries).

    Parameters
    ----------
    origin:
        The log's origin line.
    party_id:
        The party the bundle is for; only entries naming it may be passed in ``entries``.
    reader, stored_size:
        The tree store and its size (proofs are made from it).
    checkpoints:
        Signed checkpoints to include (at least one); the largest is the reference head.
    entries:
        The party's own entries with the party's openings (its views).
    since_sizes:
        Sizes of heads the party already holds: a consistency proof from each to the latest
        checkpoint is added so that the party can check that the log did not fork or roll back.
    log_key:
        The broker's vkey, copied into the bundle for convenience (never trusted from there by
        a careful verifier).
    """
    if not checkpoints:
        raise InvalidInputError(field="checkpoints", reason="at least one signed checkpoint")
    ordered = sorted(checkpoints, key=lambda s: (s.checkpoint.size, s.checkpoint.timestamp_s))
    latest = ordered[-1].checkpoint
    if latest.size > stored_size:
        raise InvalidInputError(field="checkpoints", reason="checkpoint larger than the log")
    pairs: list[tuple[int, int]] = []
    for before, after in itertools.pairwise(ordered):
        pair = (before.checkpoint.size, after.checkpoint.size)
        if pair[0] < pair[1] and pair not in pairs:
            pairs.append(pair)
    for size in since_sizes:
        if 0 < size < latest.size and (size, latest.size) not in pairs:
            pairs.append((size, latest.size))
    bundle_entries: list[dict[str, Any]] = []
    for leaf, opening in entries:
        if not opening.names(party_id, leaf):
            raise InvalidInputError(
                field="entries", reason=f"entry {leaf.index} is not the party's"
            )
        if leaf.index >= latest.size:
            continue
        bundle_entries.append(
            {
                "leaf": leaf.to_json(),
                "salt": b64encode(opening.salt),
                "event": opening.event.to_json(),
                "proof": _hashes(inclusion_proof(reader, leaf.index, latest.size)),
            }
        )
    return {
        "format": BUNDLE_FORMAT,
        "origin": origin,
        "party_id": party_id,
        "log_key": log_key,
        "checkpoints": [signed.note() for signed in ordered],
        "consistency": [
            {"first": m, "second": n, "proof": _hashes(consistency_proof(reader, m, n))}
            for m, n in pairs
        ],
        "entries": bundle_entries,
    }


def _require(bundle: Mapping[str, Any], key: str, kind: type) -> Any:
    value = bundle.get(key)
    if not isinstance(value, kind):
        raise InvalidInputError(field=key, reason=f"missing or not a {kind.__name__}")
    return value


def _proof(value: object, where: str) -> list[bytes]:
    if not isinstance(value, list):
        raise InvalidInputError(field=where, reason="must be a list of base64 hashes")
    return [b64decode(v, field=f"{where}[{i}]", size=HASH_SIZE) for i, v in enumerate(value)]


def _check_signatures(
    report: VerificationReport,
    label: str,
    signed: SignedCheckpoint,
    log_keys: Sequence[Verifier],
    witness_keys: Sequence[Verifier],
    cosigned: dict[str, list[int]],
) -> bool:
    log_ok = False
    for key in log_keys:
        try:
            if signed.is_signed_by(key):
                log_ok = True
        except ProofError as exc:
            return report.add(f"{label}: log signature", False, exc.reason)
    if not report.add(
        f"{label}: log signature",
        log_ok,
        "" if log_ok else "no valid signature by a trusted log key",
    ):
        return False
    for key in witness_keys:
        try:
            if signed.is_signed_by(key):
                cosigned[key.name].append(signed.checkpoint.size)
        except ProofError as exc:
            report.add(f"{label}: cosignature {key.name}", False, exc.reason)
    return True


def verify_bundle(
    bundle: Mapping[str, Any],
    *,
    log_keys: Sequence[Verifier],
    witness_keys: Sequence[Verifier] = (),
    known_checkpoints: Sequence[str] = (),
) -> VerificationReport:
    """Verify an export bundle offline and report every check.

    Parameters
    ----------
    bundle:
        The parsed bundle JSON.
    log_keys:
        Trusted broker (log) keys; every checkpoint must carry a valid signature by one.
    witness_keys:
        Trusted witness keys; each must have validly cosigned at least one checkpoint.
    known_checkpoints:
        Signed checkpoint notes the party obtained earlier: the bundle's latest checkpoint must
        be provably consistent with each (this is what catches a rewrite or a roll-back).

    Raises
    ------
    InvalidInputError
        If ``bundle`` is not a bundle at all (wrong format or missing top-level fields).
    """
    if not isinstance(bundle, Mapping) or bundle.get("format") != BUNDLE_FORMAT:
        raise InvalidInputError(field="format", reason=f"not a {BUNDLE_FORMAT} bundle")
    origin = _require(bundle, "origin", str)
    notes = _require(bundle, "checkpoints", list)
    consistency = _require(bundle, "consistency", list)
    entries = _require(bundle, "entries", list)
    party_id = _require(bundle, "party_id", str)
    if not notes:
        raise InvalidInputError(field="checkpoints", reason="must not be empty")
    report = VerificationReport()
    cosigned: dict[str, list[int]] = {key.name: [] for key in witness_keys}

    # 1. Checkpoints: parse, origin, signatures, ordering, one root per size.
    heads: list[SignedCheckpoint] = []
    for position, note in enumerate(notes):
        label = f"checkpoint[{position}]"
        try:
            signed = SignedCheckpoint.from_note(note if isinstance(note, str) else "")
        except DeconflictError as exc:
            report.add(f"{label}: format", False, exc.message)
            continue
        label = f"checkpoint[{position}] size {signed.checkpoint.size}"
        if not report.add(f"{label}: origin", signed.checkpoint.origin == origin, "origin differs"):
            continue
        if _check_signatures(report, label, signed, log_keys, witness_keys, cosigned):
            heads.append(signed)
    for before, after in itertools.pairwise(heads):
        b, a = before.checkpoint, after.checkpoint
        if a.size < b.size:
            report.add(f"order {b.size} -> {a.size}", False, "checkpoints not in ascending size")
    roots_by_size: dict[int, set[bytes]] = {}
    for signed in heads:
        roots_by_size.setdefault(signed.checkpoint.size, set()).add(signed.checkpoint.root)
    for size, distinct in sorted(roots_by_size.items()):
        if len(distinct) > 1:
            report.add(f"split view at size {size}", False, "two signed roots for one size")
    if not heads:
        report.add("latest checkpoint", False, "no checkpoint verified")
        return report
    latest = max(heads, key=lambda s: (s.checkpoint.size, s.checkpoint.timestamp_s)).checkpoint
    roots = {s.checkpoint.size: s.checkpoint.root for s in heads}

    # 2. Consistency proofs offered by the bundle.
    proofs: dict[tuple[int, int], list[bytes]] = {}
    for position, item in enumerate(consistency):
        where = f"consistency[{position}]"
        try:
            if not isinstance(item, Mapping):
                raise InvalidInputError(field=where, reason="must be an object")
            first, second = item.get("first"), item.get("second")
            if not isinstance(first, int) or not isinstance(second, int):
                raise InvalidInputError(field=where, reason="first and second must be integers")
            proofs[(first, second)] = _proof(item.get("proof"), f"{where}.proof")
        except InvalidInputError as exc:
            report.add(where, False, exc.message)

    def check_pair(name: str, first: int, first_root: bytes) -> None:
        if first > latest.size:
            report.add(name, False, f"log rolled back from size {first} to {latest.size}")
            return
        proof = [] if first in (0, latest.size) else proofs.get((first, latest.size))
        if proof is None:
            report.add(name, False, f"no consistency proof from {first} to {latest.size}")
            return
        try:
            verify_consistency(first, latest.size, proof, first_root, latest.root)
        except ProofError as exc:
            report.add(name, False, exc.reason)
            return
        report.add(name, True)

    sizes = sorted(roots)
    for m, n in itertools.pairwise(sizes):
        name = f"consistency {m} -> {n}"
        proof = [] if m == 0 else proofs.get((m, n))
        if proof is None:
            report.add(name, False, "proof missing from the bundle")
            continue
        try:
            verify_consistency(m, n, proof, roots[m], roots[n])
            report.add(name, True)
        except ProofError as exc:
            report.add(name, False, exc.reason)

    # 3. Heads the party held before: the latest head must extend each.
    for position, note in enumerate(known_checkpoints):
        label = f"known checkpoint[{position}]"
        try:
            signed = SignedCheckpoint.from_note(note)
        except DeconflictError as exc:
            report.add(f"{label}: format", False, exc.message)
            continue
        held = signed.checkpoint
        label = f"known checkpoint size {held.size}"
        if not report.add(f"{label}: origin", held.origin == origin, "origin differs"):
            continue
        if _check_signatures(report, label, signed, log_keys, (), {}):
            check_pair(f"{label}: latest extends it", held.size, held.root)

    # 4. Witnesses.
    for name, covered in cosigned.items():
        report.add(
            f"witness {name}",
            bool(covered),
            "" if covered else "no checkpoint in the bundle carries its cosignature",
        )

    # 5. The party's own entries: opening, ownership, inclusion in the latest head.
    seen: set[int] = set()
    for position, item in enumerate(entries):
        where = f"entries[{position}]"
        try:
            if not isinstance(item, Mapping):
                raise InvalidInputError(field=where, reason="must be an object")
            leaf = LeafRecord.from_json(item.get("leaf"), where=f"{where}.leaf")
            where = f"entry {leaf.index}"
            opening = Opening(
                salt=b64decode(item.get("salt"), field=f"{where}.salt"),
                event=Event.from_json(item.get("event"), where=f"{where}.event"),
            )
            proof = _proof(item.get("proof"), f"{where}.proof")
        except InvalidInputError as exc:
            report.add(where, False, exc.message)
            continue
        if leaf.index in seen:
            report.add(f"{where}: unique", False, "entry appears twice in the bundle")
            continue
        seen.add(leaf.index)
        report.add(
            f"{where}: names party",
            opening.names(party_id, leaf),
            f"party {party_id} is not among the entry's parties",
        )
        try:
            opening.check(leaf)
            report.add(f"{where}: opens commitment", True)
        except ProofError as exc:
            report.add(f"{where}: opens commitment", False, exc.reason)
        except InvalidInputError as exc:  # content that cannot be canonicalised (e.g. NaN)
            report.add(f"{where}: opens commitment", False, exc.message)
        try:
            verify_inclusion(leaf.leaf_hash(), leaf.index, latest.size, proof, latest.root)
            report.add(f"{where}: included in size {latest.size}", True)
        except ProofError as exc:
            report.add(f"{where}: included in size {latest.size}", False, exc.reason)
    return report
