"""``deconflict ledger verify`` and ``keygen`` through ``deconflict.cli.main``."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from ledger_fixtures import BROKER, T0, WITNESS, build_ledger, make_event, salt_for

from deconflict.cli import main
from deconflict.ledger import SignedCheckpoint, Signer, Verifier, cosign
from deconflict.ledger.entries import b64encode


def _write_bundle(tmp_path: Path) -> tuple[Path, Path]:
    ledger = build_ledger([make_event(n) for n in range(10)], [salt_for(n) for n in range(10)])
    head = ledger.sign_head(now=T0)
    head = cosign(
        head,
        witness=WITNESS["alpha"],
        log_key=BROKER.verifier,
        last_cosigned=None,
        proof=[],
        now=T0,
    )
    ledger.add_cosignature(head)
    held = tmp_path / "held.note"
    held.write_text(head.note())
    for n in range(10, 15):
        ledger.append(make_event(n), salt=salt_for(n))
    ledger.sign_head(now=T0 + timedelta(minutes=1))
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(ledger.export("alpha", since_sizes=[10])))
    return path, held


def test_verify_passes_with_trusted_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, held = _write_bundle(tmp_path)
    key_file = tmp_path / "broker.pub"
    key_file.write_text(BROKER.verifier.vkey() + "\n")
    code = main(
        [
            "ledger",
            "verify",
            str(bundle),
            "--broker-key",
            str(key_file),
            "--witness-key",
            WITNESS["alpha"].verifier.vkey(),
            "--known-head",
            str(held),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS  checkpoint[0] size 10: log signature" in out
    assert "PASS  known checkpoint size 10: latest extends it" in out
    assert "PASS  witness deconflict.test/alpha" in out
    assert out.strip().splitlines()[-1].startswith("OK: all ")


def test_verify_reports_the_failing_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, _ = _write_bundle(tmp_path)
    data = json.loads(bundle.read_text())
    index = data["entries"][1]["leaf"]["index"]
    data["entries"][1]["event"]["payload"]["alt_ft"] = 0
    bundle.write_text(json.dumps(data))
    code = main(["ledger", "verify", str(bundle), "--broker-key", BROKER.verifier.vkey(), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [c["check"] for c in report["checks"] if not c["ok"]] == [
        f"entry {index}: opens commitment"
    ]


def test_verify_without_key_warns_and_uses_bundle_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, _ = _write_bundle(tmp_path)
    assert main(["ledger", "verify", str(bundle)]) == 0
    assert "warning: broker key taken from the bundle" in capsys.readouterr().err
    other = Signer.generate("deconflict.test/broker")
    assert main(["ledger", "verify", str(bundle), "--broker-key", other.verifier.vkey()]) == 1
    assert "no valid signature by a trusted log key" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("{not json", [], "not JSON"),
        ('{"format": "x"}', [], "not a deconflict-ledger-bundle/v1 bundle"),
        (None, ["--broker-key", "garbage"], "--broker-key"),
        (None, ["--witness-key", BROKER.verifier.vkey()], "is not a witness key"),
    ],
)
def test_bad_input_exits_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    args: list[str],
    message: str,
) -> None:
    bundle, _ = _write_bundle(tmp_path)
    if content is not None:
        bundle.write_text(content)
    assert main(["ledger", "verify", str(bundle), *args]) == 2
    assert message in capsys.readouterr().err
    assert main(["ledger", "verify", str(tmp_path / "missing.json")]) == 2


def test_keygen_writes_a_usable_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = tmp_path / "witness"
    assert main(["ledger", "keygen", "example.org/w1", "--out", str(prefix), "--witness"]) == 0
    vkey = capsys.readouterr().out.strip()
    private = Path(str(prefix) + ".key")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    signer = Signer.from_skey(private.read_text())
    assert signer.verifier == Verifier.from_vkey(vkey)
    assert Path(str(prefix) + ".pub").read_text().strip() == vkey
    assert signer.signature_type == 0x04
    # Never overwrites a key.
    assert main(["ledger", "keygen", "example.org/w1", "--out", str(prefix)]) == 2


def test_cosign_checks_consistency_before_signing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = tmp_path / "w"
    assert main(["ledger", "keygen", "example.org/w", "--out", str(prefix), "--witness"]) == 0
    witness_vkey = capsys.readouterr().out.strip()
    key = str(prefix) + ".key"
    broker = BROKER.verifier.vkey()
    events = [make_event(n) for n in range(15)]
    salts = [salt_for(n) for n in range(15)]
    ledger = build_ledger(events[:10], salts[:10])
    first = tmp_path / "first.json"
    first.write_text(json.dumps({"checkpoint": ledger.sign_head(now=T0).note()}))
    assert main(["ledger", "cosign", str(first), "--key", key, "--broker-key", broker]) == 0
    captured = capsys.readouterr()
    assert "no --previous head" in captured.err
    cosigned_first = tmp_path / "cosigned-first.note"
    cosigned_first.write_text(captured.out)
    assert SignedCheckpoint.from_note(captured.out).is_signed_by(Verifier.from_vkey(witness_vkey))

    for event, salt in zip(events[10:], salts[10:], strict=True):
        ledger.append(event, salt=salt)
    second = tmp_path / "second.note"
    second.write_text(ledger.sign_head(now=T0 + timedelta(minutes=1)).note())
    proof = tmp_path / "proof.json"
    nodes = [b64encode(n) for n in ledger.consistency_proof(10, 15)]
    proof.write_text(json.dumps({"first": 10, "second": 15, "proof": nodes}))
    args = ["--key", key, "--broker-key", broker, "--previous", str(cosigned_first)]
    assert main(["ledger", "cosign", str(second), *args, "--proof", str(proof)]) == 0
    out = capsys.readouterr().out
    assert SignedCheckpoint.from_note(out).checkpoint.size == 15

    # A rewritten history (entry 4 altered), re-signed by the broker: refused.
    events[4] = make_event(400)
    forged_log = build_ledger(events, salts)
    forged = tmp_path / "forged.note"
    forged.write_text(forged_log.sign_head(now=T0 + timedelta(minutes=2)).note())
    nodes = [b64encode(n) for n in forged_log.consistency_proof(10, 15)]
    proof.write_text(json.dumps({"first": 10, "second": 15, "proof": nodes}))
    assert main(["ledger", "cosign", str(forged), *args, "--proof", str(proof)]) == 1
    assert "REFUSED: consistency" in capsys.readouterr().err
    # No proof given, a proof for other sizes, or a head not cosigned by this witness.
    assert main(["ledger", "cosign", str(second), *args]) == 2
    proof.write_text(json.dumps({"first": 9, "second": 15, "proof": nodes}))
    assert main(["ledger", "cosign", str(second), *args, "--proof", str(proof)]) == 2
    uncosigned = ["--key", key, "--broker-key", broker, "--previous", str(first)]
    assert main(["ledger", "cosign", str(second), *uncosigned, "--proof", str(proof)]) == 2
    proof.write_text(json.dumps({"first": 10, "second": 15, "proof": nodes}))
    assert main(["ledger", "cosign", str(second), *uncosigned, "--proof", str(proof)]) == 1
    assert "no cosignature of yours" in capsys.readouterr().err
