"""``deconflict ledger``: offline verification of ledger export bundles, and key generation.

``deconflict ledger verify BUNDLE.json --broker-key KEY [--witness-key KEY ...] [--known-head
FILE ...]`` prints one line per check (``PASS``/``FAIL`` and the reason) and exits 0 when every
check passed, 1 when one failed and 2 for input that is not a bundle or not a key. ``KEY`` is a
C2SP vkey string (``name+keyid+base64``) or the path of a file holding one.

``deconflict ledger keygen NAME --out PREFIX [--witness]`` writes ``PREFIX.key`` (private, mode
0600) and ``PREFIX.pub`` (the vkey to give to verifiers).

``deconflict ledger cosign HEAD --key WITNESS.key --broker-key KEY [--previous OLD.note --proof
PROOF.json]`` acts as a witness: it checks the broker's signature and the consistency proof from
the head it cosigned last, then prints the checkpoint with its cosignature added (exit 1 and
``REFUSED: <reason>`` when a check fails: do not cosign).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from deconflict.errors import InvalidInputError
from deconflict.ledger import (
    BUNDLE_FORMAT,
    COSIGNATURE_V1,
    ED25519,
    ProofError,
    SignedCheckpoint,
    Signer,
    Verifier,
    cosign,
    verify_bundle,
)
from deconflict.ledger.entries import b64decode

ledger_app = typer.Typer(
    name="ledger",
    help="Tamper-evident ledger: verify export bundles offline, create keys, cosign heads.",
    no_args_is_help=True,
)


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(field=what, reason=f"cannot read {path}: {exc}") from exc


def load_verifier(text: str, *, what: str, signature_type: int) -> Verifier:
    """A vkey given inline or as a file path; checks its signature type."""
    candidate = Path(text)
    value = _read_text(candidate, what).strip() if candidate.is_file() else text.strip()
    try:
        verifier = Verifier.from_vkey(value)
    except InvalidInputError as exc:
        raise InvalidInputError(field=what, reason=exc.reason) from exc
    if verifier.signature_type != signature_type:
        kind = "an Ed25519 log key (type 0x01)" if signature_type == ED25519 else "a witness key"
        raise InvalidInputError(field=what, reason=f"{verifier.name} is not {kind}")
    return verifier


def _load_bundle(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(_read_text(path, "bundle"))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(field="bundle", reason=f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidInputError(field="bundle", reason="must be a JSON object")
    if value.get("format") != BUNDLE_FORMAT:
        raise InvalidInputError(field="format", reason=f"not a {BUNDLE_FORMAT} bundle")
    return value


@ledger_app.command("verify")
def verify_command(
    bundle_path: Annotated[Path, typer.Argument(metavar="BUNDLE.json", help="Export bundle.")],
    broker_key: Annotated[
        str | None,
        typer.Option("--broker-key", help="Broker's vkey (or file). Default: the bundle's own."),
    ] = None,
    witness_keys: Annotated[
        list[str] | None,
        typer.Option("--witness-key", help="A witness vkey (or file) that must have cosigned."),
    ] = None,
    known_heads: Annotated[
        list[Path] | None,
        typer.Option("--known-head", help="A signed checkpoint you held before (file)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Verify an export bundle offline: signatures, consistency, openings, inclusion."""
    bundle = _load_bundle(bundle_path)
    if broker_key is None:
        embedded = bundle.get("log_key")
        if not isinstance(embedded, str):
            raise InvalidInputError(field="--broker-key", reason="required: bundle names no key")
        sys.stderr.write(
            "warning: broker key taken from the bundle itself; pass --broker-key with a key "
            "you obtained independently to detect a forged log\n"
        )
        broker_key = embedded
    log_key = load_verifier(broker_key, what="--broker-key", signature_type=ED25519)
    witnesses = [
        load_verifier(key, what="--witness-key", signature_type=COSIGNATURE_V1)
        for key in witness_keys or []
    ]
    known = [_read_text(path, "--known-head") for path in known_heads or []]
    report = verify_bundle(
        bundle, log_keys=[log_key], witness_keys=witnesses, known_checkpoints=known
    )
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        for check in report.checks:
            verdict = "PASS" if check.ok else "FAIL"
            typer.echo(f"{verdict}  {check.name}" + (f": {check.detail}" if check.detail else ""))
        failed = len(report.failures)
        total = len(report.checks)
        if report.ok:
            typer.echo(f"OK: all {total} checks passed")
        else:
            typer.echo(f"FAILED: {failed} of {total} checks failed")
    if not report.ok:
        raise typer.Exit(code=1)


@ledger_app.command("keygen")
def keygen_command(
    name: Annotated[
        str, typer.Argument(help="Key name, e.g. example.org/ledger (no spaces, '+').")
    ],
    out: Annotated[Path, typer.Option("--out", help="Writes OUT.key (0600) and OUT.pub.")],
    witness: Annotated[
        bool, typer.Option("--witness", help="A witness cosigning key (type 0x04).")
    ] = False,
) -> None:
    """Create an Ed25519 key pair for the broker's log or for a witness."""
    signer = Signer.generate(name, signature_type=COSIGNATURE_V1 if witness else ED25519)
    private_path = out.with_name(out.name + ".key")
    public_path = out.with_name(out.name + ".pub")
    if private_path.exists():
        raise InvalidInputError(field="--out", reason=f"{private_path} exists; not overwriting")
    try:
        descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(signer.skey() + "\n")
        public_path.write_text(signer.verifier.vkey() + "\n", encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(field="--out", reason=f"cannot write: {exc}") from exc
    typer.echo(signer.verifier.vkey())


def _load_note(path: Path, what: str) -> SignedCheckpoint:
    """A signed checkpoint from a note file or from a ``GET /v1/ledger/head`` JSON answer."""
    text = _read_text(path, what)
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(field=what, reason=f"not JSON: {exc}") from exc
        if not isinstance(value, dict) or not isinstance(value.get("checkpoint"), str):
            raise InvalidInputError(field=what, reason="JSON without a 'checkpoint' note")
        text = value["checkpoint"]
    try:
        return SignedCheckpoint.from_note(text)
    except InvalidInputError as exc:
        raise InvalidInputError(field=what, reason=exc.message) from exc


def _load_proof(path: Path, first: int, second: int) -> list[bytes]:
    """Proof hashes from a ``GET /v1/ledger/consistency`` JSON answer, checking its sizes."""
    try:
        value = json.loads(_read_text(path, "--proof"))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(field="--proof", reason=f"not JSON: {exc}") from exc
    if not isinstance(value, dict) or (value.get("first"), value.get("second")) != (first, second):
        raise InvalidInputError(
            field="--proof", reason=f"expected a consistency proof from {first} to {second}"
        )
    nodes = value.get("proof")
    if not isinstance(nodes, list):
        raise InvalidInputError(field="--proof", reason="'proof' must be a list")
    return [b64decode(node, field="--proof", size=32) for node in nodes]


@ledger_app.command("cosign")
def cosign_command(
    head_path: Annotated[
        Path, typer.Argument(metavar="HEAD", help="Checkpoint note, or GET /v1/ledger/head JSON.")
    ],
    key: Annotated[Path, typer.Option("--key", help="Witness private key file (keygen).")],
    broker_key: Annotated[str, typer.Option("--broker-key", help="Broker's vkey (or file).")],
    previous: Annotated[
        Path | None, typer.Option("--previous", help="The checkpoint you cosigned last.")
    ] = None,
    proof_path: Annotated[
        Path | None,
        typer.Option("--proof", help="GET /v1/ledger/consistency JSON from --previous to HEAD."),
    ] = None,
) -> None:
    """Witness a head: verify it extends the last one you cosigned, then cosign it."""
    try:
        witness = Signer.from_skey(_read_text(key, "--key"))
    except InvalidInputError as exc:
        raise InvalidInputError(field="--key", reason=exc.reason) from exc
    if witness.signature_type != COSIGNATURE_V1:
        raise InvalidInputError(field="--key", reason="not a witness key (keygen --witness)")
    log_key = load_verifier(broker_key, what="--broker-key", signature_type=ED25519)
    head = _load_note(head_path, "HEAD")
    last = None if previous is None else _load_note(previous, "--previous")
    proof: list[bytes] = []
    if last is not None:
        first, second = last.checkpoint.size, head.checkpoint.size
        if proof_path is not None:
            proof = _load_proof(proof_path, first, second)
        elif 0 < first < second:
            raise InvalidInputError(field="--proof", reason=f"needed from {first} to {second}")
    else:
        sys.stderr.write("warning: no --previous head: cosigning this head as the first one\n")
    try:
        if last is not None and not last.is_signed_by(witness.verifier):
            raise ProofError(check="previous", reason="--previous carries no cosignature of yours")
        cosigned = cosign(
            head,
            witness=witness,
            log_key=log_key,
            last_cosigned=None if last is None else last.checkpoint,
            proof=proof,
            now=datetime.now(UTC),
        )
    except ProofError as exc:
        sys.stderr.write(f"REFUSED: {exc.message}\n")
        raise typer.Exit(code=1) from exc
    typer.echo(cosigned.note(), nl=False)


def register(app: typer.Typer) -> None:
    """Register ``deconflict ledger`` on ``app``."""
    app.add_typer(ledger_app, name="ledger")
