"""The party's private-mode client: ``push`` (blind and upload) and ``sync`` (answer, intersect,
reveal). Runs on the party's own machine; the secret state lives in a local directory.

Relay API used (``deconflict.web.routes.private``; every body JSON, bytes in base64)::

    PUT  /v1/private/keys                              {box_public, sign_public}
    GET  /v1/private/agreements                        {agreements: [{id, counterpart, grid,
                                                        own_epoch, counterpart_epoch}]}
    GET  /v1/private/agreements/{id}/keys              counterpart {box_public, sign_public}
    PUT  /v1/private/agreements/{id}/set               {epoch, count, blinded, digest, signature}
    GET  /v1/private/agreements/{id}/set               counterpart's latest set (+ ledger_index)
    PUT  /v1/private/agreements/{id}/sealed/{kind}     {epoch, blob}  kind: answer|reveal|verdict
    GET  /v1/private/agreements/{id}/sealed/{kind}     counterpart's latest {epoch, blob}

Integrity (the broker is not trusted): the counterpart's set must carry the counterpart's
signature over its digest, and that commitment must be the ledger entry the relay names; the
counterpart's sealed answer names the digest of *our* set it answered and of *its* current set,
so a substituted or replayed set on either side is detected (:class:`IntegrityError`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
import numpy as np

from deconflict.errors import DeconflictError, InvalidInputError
from deconflict.formats.geojson import PlannedVolume
from deconflict.ledger.checkpoint import SignedCheckpoint
from deconflict.ledger.entries import Event, LeafRecord, Opening, b64decode
from deconflict.ledger.proofs import ProofError, verify_inclusion
from deconflict.private import psi
from deconflict.private.cells import (
    DEFAULT_MAX_CELLS,
    Cells,
    Grid,
    cell_band_ft,
    cell_window,
    discretise,
)
from deconflict.private.protocol import (
    IntegrityError,
    PartyKeys,
    PublicKeys,
    seal,
    sign_statement,
    unseal,
    verify_statement,
)
from deconflict.private.reveal import (
    exact_overlaps,
    reveal_cell_slots,
    reveal_part,
    verdict_digest,
    window_json,
)
from deconflict.private.state import StateDir, safe_id
from deconflict.strategic.volume import Volume4D

MAX_REPORTED_CELLS: Final = 200
"""Cells listed per conflict line (the count is always exact)."""


class RelayError(DeconflictError):
    """The relay answered with an error (its problem detail is in the message)."""

    status = 502
    title = "Relay error"


class RelayClient:
    """Thin JSON client of the relay; ``http`` may be any ``httpx.Client`` (tests pass one)."""

    def __init__(
        self, base_url: str, key: str, *, http: httpx.Client | None = None, timeout_s: float = 60
    ) -> None:
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout_s)
        self.headers = {"Authorization": f"Bearer {key}"}

    def request(self, method: str, path: str, body: Any = None, *, missing_ok: bool = False) -> Any:
        """Send a request; returns the JSON body, or None on 404 when ``missing_ok``."""
        try:
            resp = self.http.request(method, path, json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            raise RelayError(f"cannot reach the relay: {exc}") from None
        if resp.status_code == 404 and missing_ok:
            return None
        if resp.status_code >= 400:
            detail = resp.text[:500]
            raise RelayError(f"{method} {path}: HTTP {resp.status_code}: {detail}")
        return resp.json() if resp.content else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise IntegrityError(f"the relay sent a malformed {field}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise IntegrityError(f"the relay sent a malformed {field}") from None


@dataclass
class SyncReport:
    """What one sync produced: conflict lines, reveal lines and status notes."""

    conflicts: list[dict[str, Any]] = field(default_factory=list)
    overlaps: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------ push
def _my_volumes(volumes: Sequence[PlannedVolume], party: str | None) -> list[PlannedVolume]:
    parties = sorted({v.party for v in volumes})
    if party is None:
        if len(parties) > 1:
            raise InvalidInputError(
                field="--party", reason=f"the file holds several parties {parties}; name yours"
            )
        return list(volumes)
    return [v for v in volumes if v.party == party]


def _agreements(relay: RelayClient) -> list[dict[str, Any]]:
    body = relay.request("GET", "/v1/private/agreements")
    items = body.get("agreements") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise IntegrityError("the relay sent a malformed agreement list")
    return [a for a in items if isinstance(a, dict)]


def push(
    volumes: Sequence[PlannedVolume],
    relay: RelayClient,
    state: StateDir,
    *,
    party: str | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    workers: int = 1,
) -> list[dict[str, Any]]:
    """Discretise, blind, pad and upload the party's volumes for every private agreement.

    Each push starts a new epoch with fresh secrets (an amendment or, with no volumes left, a
    cancellation); ``workers`` threads share the group operations. Returns one summary per
    agreement ``{agreement, epoch, volumes, cells, padded}``.
    """
    mine = _my_volumes(volumes, party)
    keys = state.keys()
    relay.request("PUT", "/v1/private/keys", keys.public_json())
    sign_hex = keys.public_json()["sign_public"]
    out: list[dict[str, Any]] = []
    for info in _agreements(relay):
        aid = safe_id(info.get("id"))
        grid = Grid.from_json(info.get("grid"))
        per_volume = [
            discretise(p.volume, grid, max_cells=max_cells, where=f"feature {p.key}") for p in mine
        ]
        total = sum(len(c) for c in per_volume)
        if total > psi.MAX_SET:
            raise InvalidInputError(
                field="PLANS",
                reason=f"{total} cells for agreement {aid} exceed {psi.MAX_SET}; coarser grid",
            )
        cells, member_cell, member_volume = _membership(per_volume)
        secret = psi.new_secret()  # fresh per agreement and epoch
        hashed = psi.hash_cells(aid, grid, cells, workers=workers)
        blinded = psi.blind(secret, hashed, workers=workers)
        blob, origin = psi.pad_and_sort(blinded, workers=workers)
        padded = psi.count(blob)
        own_epoch = info.get("own_epoch", 0)
        if not isinstance(own_epoch, int) or own_epoch < 0:
            raise IntegrityError("the relay sent a malformed epoch")
        previous = state.load_epoch(aid)[0]["epoch"] if aid in state.agreements() else 0
        epoch = max(own_epoch, int(previous)) + 1
        digest = psi.set_digest(aid, sign_hex, epoch, blob)
        statement = _set_statement(aid, epoch, padded, digest)
        relay.request(
            "PUT",
            f"/v1/private/agreements/{aid}/set",
            {
                "protocol": psi.PROTOCOL,
                "epoch": epoch,
                "count": padded,
                "blinded": _b64(blob),
                "digest": digest,
                "signature": sign_statement(keys, statement),
            },
        )
        meta = {
            "protocol": psi.PROTOCOL,
            "agreement": aid,
            "epoch": epoch,
            "secret": secret.hex(),
            "grid": grid.to_json(),
            "digest": digest,
            "counterpart": str(info.get("counterpart", "")),
            "keys": [p.key for p in mine],
        }
        state.save_epoch(
            aid,
            meta,
            cells,
            member_cell,
            member_volume,
            origin,
            blob,
            {p.key: p.volume.to_json() for p in mine},
        )
        out.append(
            {
                "agreement": aid,
                "epoch": epoch,
                "volumes": len(mine),
                "cells": len(cells),
                "padded": padded,
            }
        )
    return out


def _set_statement(aid: str, epoch: int, count: int, digest: str) -> dict[str, Any]:
    return {
        "kind": "set",
        "protocol": psi.PROTOCOL,
        "agreement": aid,
        "epoch": epoch,
        "count": count,
        "digest": digest,
    }


def _membership(
    per_volume: Sequence[Cells],
) -> tuple[Cells, np.ndarray, np.ndarray]:
    """Union of the volumes' cells and the (cell index, volume index) membership pairs."""
    if not any(len(c) for c in per_volume):
        return Cells.empty(), np.zeros(0, np.int64), np.zeros(0, np.int64)
    rec = np.concatenate([c.records() for c in per_volume])
    vol = np.concatenate([np.full(len(c), k, np.int64) for k, c in enumerate(per_volume)])
    uniq, inverse = np.unique(rec, return_inverse=True)
    cells = Cells(
        uniq["h3"].astype(np.uint64), uniq["slot"].astype(np.int64), uniq["layer"].astype(np.int64)
    )
    return cells, inverse.astype(np.int64).ravel(), vol


# ------------------------------------------------------------------------------------ sync
def _counterpart_keys(relay: RelayClient, state: StateDir, aid: str) -> PublicKeys | None:
    body = relay.request("GET", f"/v1/private/agreements/{aid}/keys", missing_ok=True)
    if body is None:
        return None
    keys = PublicKeys.from_json(body)
    state.pin(aid, keys)
    return keys


def _check_ledger(relay: RelayClient, aid: str, body: dict[str, Any]) -> None:
    """The commitment the relay serves must be the ledger entry it names (leaf + content)."""
    index = body.get("ledger_index")
    if not isinstance(index, int):
        raise IntegrityError(f"agreement {aid}: the relay names no ledger entry for the set")
    proof = relay.request("GET", f"/v1/ledger/entries/{index}/proof")
    try:
        event = Event.from_json(proof["event"])
        leaf = LeafRecord.from_json(proof["leaf"])
        salt = b64decode(proof["salt"], field="salt", size=32)
        path = [b64decode(node, field="proof", size=32) for node in proof["proof"]]
        head = SignedCheckpoint.from_note(proof["checkpoint"]).checkpoint
    except (KeyError, TypeError, ValueError, DeconflictError):
        raise IntegrityError(f"agreement {aid}: malformed ledger entry {index}") from None
    expected = {
        "protocol": psi.PROTOCOL,
        "agreement_id": aid,
        "epoch": body.get("epoch"),
        "count": body.get("count"),
        "digest": body.get("digest"),
        "signature": body.get("signature"),
    }
    got = {k: event.payload.get(k) for k in expected}
    if event.kind != "private.set_committed" or got != expected:
        raise IntegrityError(
            f"agreement {aid}: the set the relay serves is not the one committed in ledger "
            f"entry {index}"
        )
    try:
        if leaf.index != index:
            raise ProofError(check="inclusion", reason="leaf does not commit to the event")
        Opening(salt=salt, event=event).check(leaf)  # the leaf commits to this party's view
        verify_inclusion(leaf.leaf_hash(), index, head.size, path, head.root)
    except ProofError as exc:
        raise IntegrityError(f"agreement {aid}: ledger entry {index}: {exc.message}") from None


def _fetch_counterpart_set(
    relay: RelayClient, state: StateDir, aid: str, keys: PublicKeys
) -> tuple[int, str, bytes] | None:
    body = relay.request("GET", f"/v1/private/agreements/{aid}/set", missing_ok=True)
    if body is None:
        return None
    if not isinstance(body, dict):
        raise IntegrityError("the relay sent a malformed set")
    psi.check_protocol(body.get("protocol"), field="counterpart set protocol")
    epoch, count, digest = body.get("epoch"), body.get("count"), body.get("digest")
    if not isinstance(epoch, int) or not isinstance(count, int) or not isinstance(digest, str):
        raise IntegrityError("the relay sent a malformed set")
    blob = _unb64(body.get("blinded"), "blinded set")
    verify_statement(keys, _set_statement(aid, epoch, count, digest), str(body.get("signature")))
    if (
        psi.set_digest(aid, keys.sign_public.hex(), epoch, blob) != digest
        or len(blob) != 32 * count
    ):
        raise IntegrityError(
            f"agreement {aid}: the counterpart's blinded set does not match its signed "
            "commitment: the relay substituted it"
        )
    if epoch < state.last_epoch(aid):
        raise IntegrityError(
            f"agreement {aid}: the relay served the counterpart's epoch {epoch} after epoch "
            f"{state.last_epoch(aid)} (replay)"
        )
    _check_ledger(relay, aid, body)
    state.see_epoch(aid, epoch)
    psi.count(blob, field="counterpart set")
    return epoch, digest, blob


def _sealed(
    relay: RelayClient, keys: PartyKeys, theirs: PublicKeys, aid: str, kind: str
) -> tuple[dict[str, Any], bytes] | None:
    body = relay.request("GET", f"/v1/private/agreements/{aid}/sealed/{kind}", missing_ok=True)
    if body is None:
        return None
    header, payload = unseal(keys, theirs, _unb64(body.get("blob"), f"sealed {kind}"))
    psi.check_protocol(header.get("protocol"), field=f"counterpart's sealed {kind}")
    if header.get("kind") != kind or header.get("agreement") != aid:
        raise IntegrityError(f"agreement {aid}: a sealed {kind} is for another context (replay)")
    return header, payload


@dataclass(frozen=True)
class SyncOptions:
    """How a sync runs: ``reveal`` (consent to reveal conflicting parts), ``workers`` (threads
    for the group operations), ``max_reveal_km2h`` (our own cap on one reveal, km^2 x h, on
    top of the relay's disclosure budget; None: the budget only), ``hotline`` (tell the relay
    that the sets meet, in how many cells, so that it opens the hotline thread)."""

    reveal: bool = False
    workers: int = 1
    max_reveal_km2h: float | None = None
    hotline: bool = True


def sync(
    relay: RelayClient,
    state: StateDir,
    *,
    reveal: bool = False,
    workers: int = 1,
    max_reveal_km2h: float | None = None,
    hotline: bool = True,
) -> SyncReport:
    """Answer the counterparts' sets, collect the intersections, optionally reveal.

    ``workers`` threads share the group operations; a reveal is withheld when it would take
    the counterpart past the disclosure budget the relay reports, or past ``max_reveal_km2h``;
    with ``hotline`` an intersection opens the hotline thread (the relay learns the count).
    """
    report = SyncReport()
    keys = state.keys()
    options = SyncOptions(reveal, workers, max_reveal_km2h, hotline)
    for aid in state.agreements():
        _sync_one(relay, state, keys, aid, options, report)
    return report


def _sync_one(
    relay: RelayClient,
    state: StateDir,
    keys: PartyKeys,
    aid: str,
    options: SyncOptions,
    report: SyncReport,
) -> None:
    workers = options.workers
    meta, arrays, volumes_json = state.load_epoch(aid)
    psi.check_protocol(meta.get("protocol"), field=f"--state (agreement {aid})")
    epoch, digest = int(meta["epoch"]), str(meta["digest"])
    secret = bytes.fromhex(meta["secret"])
    theirs = _counterpart_keys(relay, state, aid)
    if theirs is None:
        report.notes.append(f"agreement {aid}: the counterpart has not registered keys yet")
        return
    got = _fetch_counterpart_set(relay, state, aid, theirs)
    if got is None:
        report.notes.append(f"agreement {aid}: the counterpart has not pushed a set yet")
        return
    their_epoch, their_digest, their_values = got
    their_double = state.cached_answer(aid, epoch, their_digest)
    if their_double is None:
        their_double = psi.blind(secret, their_values, field="counterpart set", workers=workers)
        state.cache_answer(aid, epoch, their_digest, their_double)
    header = {
        "kind": "answer",
        "protocol": psi.PROTOCOL,
        "agreement": aid,
        "answered_epoch": their_epoch,
        "answered_digest": their_digest,
        "my_epoch": epoch,
        "my_digest": digest,
    }
    sealed = seal(keys, theirs, header, their_double)
    relay.request(
        "PUT", f"/v1/private/agreements/{aid}/sealed/answer", {"epoch": epoch, "blob": _b64(sealed)}
    )
    answer = _sealed(relay, keys, theirs, aid, "answer")
    if answer is None:
        report.notes.append(f"agreement {aid}: waiting for the counterpart's answer")
        return
    ans, payload = answer
    if ans.get("answered_digest") != digest:
        if isinstance(ans.get("answered_epoch"), int) and ans["answered_epoch"] < epoch:
            report.notes.append(f"agreement {aid}: the counterpart has not answered epoch {epoch}")
            return
        raise IntegrityError(
            f"agreement {aid}: the counterpart answered a different set for our epoch {epoch}: "
            "the relay substituted or replayed our blinded set"
        )
    if ans.get("my_digest") != their_digest:
        if isinstance(ans.get("my_epoch"), int) and ans["my_epoch"] > their_epoch:
            raise IntegrityError(
                f"agreement {aid}: the relay served the counterpart's epoch {their_epoch} but "
                f"the counterpart is at epoch {ans['my_epoch']} (replay)"
            )
        report.notes.append(f"agreement {aid}: the counterpart's answer predates its last push")
        return
    if len(payload) != arrays["values"].size:
        raise IntegrityError(f"agreement {aid}: the answer has the wrong length")
    origin = arrays["origin"]
    found = origin[psi.matches(payload, their_double)]
    hits = [int(i) for i in found[found >= 0]]
    conflicts = _conflicts(meta, arrays, hits)
    report.conflicts.extend(conflicts)
    if conflicts and options.hotline:
        found = relay.request(
            "PUT",
            f"/v1/private/agreements/{aid}/found",
            {"own_epoch": epoch, "counterpart_epoch": their_epoch, "cells": len(hits)},
        )
        if isinstance(found, dict) and found.get("message_id"):
            report.notes.append(
                f"agreement {aid}: hotline thread {found.get('thread_id')} "
                f"{'opened' if found.get('opened') else 'updated'} with the counterpart"
            )
    if options.reveal and conflicts:
        own, cell_slots = _own_parts(meta, arrays, volumes_json, hits)
        if _may_reveal(relay, state, aid, meta, cell_slots, options.max_reveal_km2h, report):
            _send_reveal(relay, keys, theirs, state, aid, meta, own, cell_slots, report)
        _receive_reveal(relay, keys, theirs, aid, meta, own, their_digest, report)


def _conflicts(
    meta: dict[str, Any], arrays: dict[str, Any], hits: Sequence[int]
) -> list[dict[str, Any]]:
    grid = Grid.from_json(meta["grid"])
    hit = np.zeros(len(arrays["h3"]), dtype=bool)
    hit[list(hits)] = True
    member_cell, member_volume = arrays["member_cell"], arrays["member_volume"]
    out: list[dict[str, Any]] = []
    for k, key in enumerate(meta["keys"]):
        idx = np.unique(member_cell[(member_volume == k) & hit[member_cell]])
        if len(idx) == 0:
            continue
        slots = arrays["slot"][idx].tolist()
        layers = arrays["layer"][idx].tolist()
        start, end = cell_window(grid, slots)
        lo, hi = cell_band_ft(grid, layers)
        listed = [
            {
                "h3": format(int(arrays["h3"][i]), "x"),
                "slot": int(arrays["slot"][i]),
                "layer": int(arrays["layer"][i]),
            }
            for i in idx[:MAX_REPORTED_CELLS]
        ]
        out.append(
            {
                "agreement": meta["agreement"],
                "epoch": meta["epoch"],
                "own_volume": key,
                "counterpart": meta["counterpart"],
                "cells": listed,
                "cell_count": len(idx),
                "window": window_json(start, end),
                "band_ft_amsl": {"lower": lo, "upper": hi},
            }
        )
    return out


def _own_parts(
    meta: dict[str, Any], arrays: dict[str, Any], volumes_json: dict[str, Any], hits: Sequence[int]
) -> tuple[list[tuple[str, Volume4D]], int]:
    """The clipped parts of our volumes in the intersecting cells, and their size in
    (H3 cell, slot) units (:func:`reveal_cell_slots`)."""
    grid = Grid.from_json(meta["grid"])
    hit = np.zeros(len(arrays["h3"]), dtype=bool)
    hit[list(hits)] = True
    parts: list[tuple[str, Volume4D]] = []
    shown: list[list[tuple[int, int, int]]] = []
    for k, key in enumerate(meta["keys"]):
        idx = np.unique(
            arrays["member_cell"][(arrays["member_volume"] == k) & hit[arrays["member_cell"]]]
        )
        if len(idx):
            volume = Volume4D.from_json(volumes_json[key])
            cells = list(
                zip(
                    arrays["h3"][idx].tolist(),
                    arrays["slot"][idx].tolist(),
                    arrays["layer"][idx].tolist(),
                    strict=True,
                )
            )
            shown.append(cells)
            parts.append((key, reveal_part(volume, grid, cells)))
    return parts, reveal_cell_slots(shown)


def _may_reveal(
    relay: RelayClient,
    state: StateDir,
    aid: str,
    meta: dict[str, Any],
    cell_slots: int,
    max_reveal_km2h: float | None,
    report: SyncReport,
) -> bool:
    """Our own check of the disclosure budget before revealing (the relay checks too)."""
    if state.revealed(aid) == {"epoch": meta["epoch"], "cell_slots": cell_slots}:
        return True  # the same reveal again: already charged, costs nothing
    info = next((a for a in _agreements(relay) if a.get("id") == aid), None)
    try:
        budget = float(info["reveal_budget_km2h"]) if info else 0.0
        revealed = float(info["revealed_km2h"]) if info else 0.0
        unit = float(info["cell_km2h"]) if info else 0.0
    except (KeyError, TypeError, ValueError):
        raise IntegrityError(f"agreement {aid}: the relay sent a malformed budget") from None
    charge = cell_slots * unit
    limit = budget if max_reveal_km2h is None else min(budget, max_reveal_km2h)
    if revealed + charge > limit + 1e-9:
        report.notes.append(
            f"agreement {aid}: reveal WITHHELD: it would show {cell_slots} cell-slots "
            f"({charge:.1f} km^2 x h) and take the counterpart to {revealed + charge:.1f} of "
            f"the {limit:.1f} km^2 x h disclosure budget of our plans"
        )
        return False
    return True


def _send_reveal(
    relay: RelayClient,
    keys: PartyKeys,
    theirs: PublicKeys,
    state: StateDir,
    aid: str,
    meta: dict[str, Any],
    own: Sequence[tuple[str, Volume4D]],
    cell_slots: int,
    report: SyncReport,
) -> None:
    header = {
        "kind": "reveal",
        "protocol": psi.PROTOCOL,
        "agreement": aid,
        "my_epoch": meta["epoch"],
        "my_digest": meta["digest"],
        "volumes": [{"key": key, "volume": v.to_json()} for key, v in own],
    }
    try:
        relay.request(
            "PUT",
            f"/v1/private/agreements/{aid}/sealed/reveal",
            {
                "epoch": meta["epoch"],
                "blob": _b64(seal(keys, theirs, header)),
                "cell_slots": cell_slots,
            },
        )
    except RelayError as exc:
        if " 429:" not in exc.message:
            raise
        report.notes.append(f"agreement {aid}: reveal REFUSED by the relay: {exc.message}")
        return
    state.mark_revealed(aid, int(meta["epoch"]), cell_slots)


def _receive_reveal(
    relay: RelayClient,
    keys: PartyKeys,
    theirs: PublicKeys,
    aid: str,
    meta: dict[str, Any],
    own: Sequence[tuple[str, Volume4D]],
    their_digest: str,
    report: SyncReport,
) -> None:
    got = _sealed(relay, keys, theirs, aid, "reveal")
    if got is None or got[0].get("my_digest") != their_digest:
        report.notes.append(f"agreement {aid}: waiting for the counterpart's reveal")
        return
    their_parts: list[tuple[str, Volume4D]] = []
    items = got[0].get("volumes")
    if not isinstance(items, list):
        raise IntegrityError(f"agreement {aid}: malformed reveal")
    for n, item in enumerate(items):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("key"), str)
            or not isinstance(item.get("volume"), dict)
        ):
            raise IntegrityError(f"agreement {aid}: malformed reveal")
        try:
            volume = Volume4D.from_json(item["volume"], where=f"reveal.volumes[{n}]")
        except InvalidInputError as exc:
            raise IntegrityError(f"agreement {aid}: malformed reveal: {exc.message}") from None
        their_parts.append((item["key"], volume))
    records = exact_overlaps(list(own), their_parts)
    own_first = keys.public_json()["sign_public"] < theirs.sign_public.hex()
    digest = verdict_digest(records, own_first=own_first)
    verdict = {
        "kind": "verdict",
        "protocol": psi.PROTOCOL,
        "agreement": aid,
        "my_digest": meta["digest"],
        "their_digest": their_digest,
        "overlaps": digest,
    }
    relay.request(
        "PUT",
        f"/v1/private/agreements/{aid}/sealed/verdict",
        {"epoch": meta["epoch"], "blob": _b64(seal(keys, theirs, verdict))},
    )
    other = _sealed(relay, keys, theirs, aid, "verdict")
    agreed: bool | None = None
    if (
        other is not None
        and other[0].get("my_digest") == their_digest
        and other[0].get("their_digest") == meta["digest"]
    ):
        agreed = other[0].get("overlaps") == digest
        if not agreed:
            report.notes.append(
                f"agreement {aid}: MISMATCH: the counterpart computed different overlaps"
            )
    else:
        report.notes.append(f"agreement {aid}: waiting for the counterpart's verdict")
    for r in records:
        report.overlaps.append(
            {
                "agreement": aid,
                "own_volume": r["own_volume"],
                "counterpart": meta["counterpart"],
                "counterpart_volume": r["counterpart_volume"],
                "overlap": r["overlap"],
                "agreed": agreed,
            }
        )
