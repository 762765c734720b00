"""The SQL-backed ledger (``store.ledger_sql`` + ``broker.audit``) on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from deconflict.broker import agreements, audit, disclosure, parties
from deconflict.errors import InvalidInputError, NotFoundError
from deconflict.ledger import (
    Event,
    LeafRecord,
    MemoryLogStorage,
    consistency_proof,
    inclusion_proof,
    new_salt,
    root_hash,
    verify_bundle,
)
from deconflict.ledger.entries import commitment
from deconflict.store.base import Database
from deconflict.store.ledger_sql import SqlLogStorage, ledger_entries, ledger_entry_parties
from deconflict.store.migrate import upgrade

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    upgrade(db_url)
    database = Database(db_url)
    yield database
    database.dispose()


def _parties(db: Database, names: tuple[str, ...] = ("A", "B", "C")) -> dict[str, str]:
    with db.write() as s:
        return {n: parties.create_party(s, f"Party {n}", now=T0).id for n in names}


def _mirror(db: Database) -> MemoryLogStorage:
    """An in-memory tree rebuilt from the stored leaf hashes (the reference)."""
    store = MemoryLogStorage()
    with db.read() as s:
        for value in s.execute(select(ledger_entries.c.leaf_hash).order_by(ledger_entries.c.idx)):
            store.append(bytes(value[0]))
    return store


def test_sql_tree_matches_memory_tree(db: Database) -> None:
    ids = _parties(db)
    names = list(ids.values())
    with db.write() as s:
        for n in range(300):  # > 256: stored node levels 4 and 8 are exercised
            index = audit.record(
                s, "notice.submitted", [names[n % 3]], {"n": n}, now=T0 + timedelta(seconds=n)
            )
            assert index == n
    mirror = _mirror(db)
    rng = random.Random(3)
    with db.read() as s:
        sql = SqlLogStorage(s)
        assert sql.size() == 300
        for size in (1, 15, 16, 17, 255, 256, 257, 300):
            assert root_hash(sql, size) == root_hash(mirror, size)
        for _ in range(30):
            size = rng.randint(1, 300)
            index = rng.randrange(size)
            assert inclusion_proof(sql, index, size) == inclusion_proof(mirror, index, size)
            first = rng.randint(1, size)
            assert consistency_proof(sql, first, size) == consistency_proof(mirror, first, size)


def test_record_many_builds_the_same_tree_and_opens_like_single_records(
    db: Database, tmp_path: Path
) -> None:
    """Batches of entries (the live leader's per-cycle evidence) mixed with single records in
    one transaction and across transactions: contiguous indexes, the stored tree equals the
    in-memory tree of the leaf hashes at every size, and each party's export verifies and
    opens every entry of its own with the payload written."""
    ids = _parties(db)
    names = list(ids.values())
    sizes = [3, 1, 40, 0, 200, 1, 30]  # crosses the stored levels 4 and 8 inside batches
    written: list[tuple[int, str, dict[str, int]]] = []
    n = 0
    for tx in range(2):
        with db.write() as s:
            for k, count in enumerate(sizes):
                batch = [("alert.raised", [names[(n + j) % 3]], {"n": n + j}) for j in range(count)]
                if count == 1:
                    got = [audit.record(s, *batch[0], now=T0)]
                else:
                    got = audit.record_many(s, batch, now=T0)
                assert got == list(range(n, n + count)), (tx, k)
                written.extend(
                    (i, party[0], payload)
                    for i, (_, party, payload) in zip(got, batch, strict=True)
                )
                n += count
    mirror = _mirror(db)
    with db.read() as s:
        sql = SqlLogStorage(s)
        assert sql.size() == n == 2 * sum(sizes)
        for size in range(1, n + 1, 7):
            assert root_hash(sql, size) == root_hash(mirror, size)
    signer = audit.load_or_create_signer(tmp_path)
    with db.write() as s:
        head = audit.sign_head(s, signer, now=T0)
    for party in names:
        mine = {i: payload for i, p, payload in written if p == party}
        with db.read() as s:
            bundle = audit.export(s, party, head=head, log_key=signer.verifier, limit=1000)
            report = verify_bundle(bundle, log_keys=[signer.verifier])
            assert report.ok, report.failures
            assert [e["leaf"]["index"] for e in bundle["entries"]] == sorted(mine)
            for index in sorted(mine)[::37]:
                opened = audit.entry_proof(s, index, party, head=head)
                assert opened["event"]["payload"] == mine[index]


def test_record_many_writes_nothing_when_one_entry_is_bad(db: Database) -> None:
    """An entry with no party or an unencodable payload in the middle of a batch: the whole
    batch is refused before anything is written, and the transaction may go on."""
    ids = _parties(db)
    good = ("alert.raised", [ids["A"]], {"x": 1})
    for bad in (("alert.raised", [], {"x": 2}), ("alert.raised", [ids["B"]], {"x": float("nan")})):
        with db.write() as s:
            with pytest.raises(InvalidInputError):
                audit.record_many(s, [good, bad, good], now=T0)
            assert audit.record(s, *good, now=T0) == audit.size(s) - 1
    with db.read() as s:
        assert audit.size(s) == 2


def test_record_rolls_back_with_the_callers_transaction(db: Database) -> None:
    ids = _parties(db)
    with db.write() as s:
        audit.record(s, "a.b", [ids["A"]], {"x": 1}, now=T0)
    with pytest.raises(RuntimeError), db.write() as s:
        audit.record(s, "a.b", [ids["A"]], {"x": 2}, now=T0)
        raise RuntimeError("the change being logged failed")
    with db.write() as s:
        assert audit.record(s, "a.b", [ids["A"]], {"x": 3}, now=T0) == 1
    with db.read() as s:
        assert audit.size(s) == 2
    with pytest.raises(InvalidInputError), db.write() as s:
        audit.record(s, "a.b", [], {"x": 4}, now=T0)


def test_concurrent_writers_get_distinct_contiguous_indices(db: Database) -> None:
    ids = _parties(db)
    errors: list[BaseException] = []
    got: list[int] = []
    lock = threading.Lock()

    def writer(worker: int) -> None:
        try:
            for n in range(15):
                with db.write() as s:
                    index = audit.record(
                        s, "message.sent", [ids["A"], ids["B"]], {"w": worker, "n": n}, now=T0
                    )
                with lock:
                    got.append(index)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(got) == list(range(60))
    mirror = _mirror(db)
    with db.read() as s:
        assert root_hash(SqlLogStorage(s), 60) == root_hash(mirror, 60)


def test_heads_exports_and_tampering(db: Database, tmp_path: Path) -> None:
    ids = _parties(db)
    signer = audit.load_or_create_signer(tmp_path)
    assert audit.load_or_create_signer(tmp_path) == signer  # persisted, reloaded
    assert (tmp_path / audit.KEY_FILE_NAME).stat().st_mode & 0o777 == 0o600
    with db.write() as s:
        for n in range(20):
            parties_n = [ids["A"], ids["B"]] if n % 2 else [ids["C"]]
            audit.record(s, "alert.raised", parties_n, {"n": n, "secret": f"s{n}"}, now=T0)
        first = audit.sign_head(s, signer, now=T0)
        assert audit.sign_head(s, signer, now=T0) == first  # no growth: same head
        for n in range(20, 45):
            audit.record(s, "alert.raised", [ids["A"]], {"n": n}, now=T0)
        head = audit.sign_head(s, signer, now=T0 + timedelta(seconds=5))
    assert (first.checkpoint.size, head.checkpoint.size) == (20, 45)
    with db.read() as s:
        bundle = audit.export(s, ids["A"], head=head, log_key=signer.verifier, since_sizes=[20])
    bundle = json.loads(json.dumps(bundle))
    report = verify_bundle(bundle, log_keys=[signer.verifier], known_checkpoints=[first.note()])
    assert report.ok, report.failures
    assert len(bundle["entries"]) == 10 + 25
    assert '"s0"' not in json.dumps(bundle)  # C's content never reaches A
    with db.read() as s:
        opened = audit.entry_proof(s, 1, ids["B"], head=head)
        assert opened["event"]["payload"]["secret"] == "s1"
        with pytest.raises(NotFoundError):
            audit.entry_proof(s, 0, ids["B"], head=head)  # C's entry: same as absent
        with pytest.raises(NotFoundError):
            audit.entry_proof(s, 999, ids["B"], head=head)
    # A database administrator edits stored content: the owner's next export fails to open it.
    with db.write() as s:
        row = s.execute(select(ledger_entries.c.content).where(ledger_entries.c.idx == 3)).one()
        edited = json.loads(bytes(row[0]))
        edited["event"]["payload"]["secret"] = "edited"
        s.execute(
            update(ledger_entries)
            .where(ledger_entries.c.idx == 3)
            .values(content=json.dumps(edited).encode())
        )
    with db.read() as s:
        tampered = audit.export(s, ids["A"], head=head, log_key=signer.verifier)
    report = verify_bundle(tampered, log_keys=[signer.verifier])
    assert [c.name for c in report.failures] == ["entry 3: opens commitment"]


def test_export_pages_cover_every_own_entry(db: Database, tmp_path: Path) -> None:
    ids = _parties(db, ("A", "B"))
    signer = audit.load_or_create_signer(tmp_path)
    with db.write() as s:
        for n in range(23):
            audit.record(s, "message.sent", [ids["A"] if n % 3 else ids["B"]], {"n": n}, now=T0)
        head = audit.sign_head(s, signer, now=T0)
    seen: list[int] = []
    start: int | None = 0
    with db.read() as s:
        while start is not None:
            page = audit.export(
                s, ids["A"], head=head, log_key=signer.verifier, from_index=start, limit=4
            )
            assert verify_bundle(page, log_keys=[signer.verifier]).ok
            assert len(page["entries"]) <= 4
            seen += [e["leaf"]["index"] for e in page["entries"]]
            start = page["next_index"]
        with pytest.raises(InvalidInputError):
            audit.export(s, ids["A"], head=head, log_key=signer.verifier, limit=0)
    assert seen == [n for n in range(23) if n % 3]


def test_savepoints_and_new_transactions_never_reuse_a_stale_size(db: Database) -> None:
    ids = _parties(db)
    party = [ids["A"]]
    session = db.writer_sessions()
    try:
        assert audit.record(session, "k", party, {"n": 0}, now=T0) == 0  # autobegun transaction
        assert audit.record(session, "k", party, {"n": 1}, now=T0) == 1
        nested = session.begin_nested()
        assert audit.record(session, "k", party, {"n": 2}, now=T0) == 2
        nested.rollback()  # entry 2 is gone
        assert audit.record(session, "k", party, {"n": 3}, now=T0) == 2
        with session.begin_nested():
            assert audit.record(session, "k", party, {"n": 4}, now=T0) == 3
        assert audit.record(session, "k", party, {"n": 5}, now=T0) == 4
        session.commit()
        assert audit.record(session, "k", party, {"n": 6}, now=T0) == 5  # a new transaction
        session.rollback()
        assert audit.record(session, "k", party, {"n": 7}, now=T0) == 5
        session.commit()
    finally:
        session.close()
    mirror = _mirror(db)
    with db.read() as s:
        assert audit.size(s) == 6
        assert root_hash(SqlLogStorage(s), 6) == root_hash(mirror, 6)
        contents = s.execute(select(ledger_entries.c.content).order_by(ledger_entries.c.idx))
        stored = [json.loads(bytes(c[0]))["event"]["payload"]["n"] for c in contents]
        assert stored == [0, 1, 3, 4, 5, 7]


def test_legacy_v1_entries_still_open_and_verify_next_to_views(
    db: Database, tmp_path: Path
) -> None:
    """A ledger written before per-party views (leaf v1: parties by id, the whole event as
    content) keeps verifying after the upgrade, and new entries are views without ids."""
    ids = _parties(db, ("A", "B"))
    pair = sorted([ids["A"], ids["B"]])
    event = Event(kind="message.sent", party_ids=tuple(pair), payload={"n": 0}, received_at=T0)
    salt = new_salt()
    leaf = LeafRecord(
        index=0,
        kind=event.kind,
        commitments=(commitment(salt, event.content()),),
        party_ids=event.party_ids,
        version=1,
    )
    with db.write() as s:  # what the former audit.record wrote
        encoded = leaf.encode()
        s.execute(
            insert(ledger_entries).values(
                idx=0, kind=event.kind, leaf=encoded, leaf_hash=leaf.leaf_hash(), salt=salt,
                content=event.content(), created_at=T0,
            )
        )  # fmt: skip
        s.execute(insert(ledger_entry_parties), [{"party_id": p, "idx": 0} for p in pair])
        SqlLogStorage(s, size=0).append(leaf.leaf_hash())
        assert audit.record(s, "message.sent", pair, {"n": 1, "to": ids["B"]}, now=T0) == 1
    signer = audit.load_or_create_signer(tmp_path)
    with db.write() as s:
        head = audit.sign_head(s, signer, now=T0)
    with db.read() as s:
        bundle = audit.export(s, ids["A"], head=head, log_key=signer.verifier)
    assert verify_bundle(bundle, log_keys=[signer.verifier]).ok
    old, new = bundle["entries"]
    assert old["leaf"]["v"] == 1 and old["event"]["parties"] == pair
    assert new["leaf"]["v"] == 2 and ids["B"] not in json.dumps(new)
    assert new["event"]["payload"]["to"] == audit.UNAFFILIATED_LABEL  # (no agreement here)
    assert audit.UNAFFILIATED_LABEL == disclosure.UNAFFILIATED_LABEL  # as the API names it


def test_view_labels_equal_the_labels_the_api_shows(db: Database) -> None:
    """``audit.view_labels`` (two queries) against the reference every other route uses,
    ``agreements.counterparts``, over a random catalog: overlapping advisory and F3548
    agreements, with and without pseudonyms, and parties sharing none."""
    rng = random.Random(11)
    names = tuple("PQRSTUVW")
    ids = _parties(db, names)
    pids = list(ids.values())
    with db.write() as s:
        # P and Q: an advisory agreement first by name, an F3548 one (pseudonyms) governs.
        for name, policy, pseudonyms in (("a0", "advisory", False), ("z0", "f3548", True)):
            agreements.create_agreement(
                s, name, policy=policy, parties=pids[:2], now=T0, use_pseudonyms=pseudonyms
            )
        for n in range(12):
            agreements.create_agreement(
                s,
                f"{rng.choice('abcdefghij')}{n}",
                policy=rng.choice(["advisory", "f3548"]),
                parties=rng.sample(pids[1:], rng.randint(2, 4)),  # P shares only a0, z0
                now=T0,
                use_pseudonyms=rng.random() < 0.5,
            )
    with db.read() as s:
        reference = {v: agreements.counterparts(s, v) for v in pids}
        groups = [list(g) for g in itertools.combinations(pids, 2)]
        groups += [rng.sample(pids, 3) for _ in range(10)] + [pids]
        for group in groups:
            labels = audit.view_labels(s, group)
            assert set(labels) == set(group)
            for viewer, shown in labels.items():
                assert set(shown) == set(group) - {viewer}
                assert len(set(shown.values())) == len(shown)  # distinct within a view
                for other, label in shown.items():
                    c = reference[viewer][other]
                    expected = c.label if c.shared else audit.UNAFFILIATED_LABEL
                    assert label == expected or label.startswith(f"{expected} #"), (c, label)
                    assert other not in label
        assert audit.view_labels(s, [pids[0]]) == {}
