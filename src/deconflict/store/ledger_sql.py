"""SQL storage of the tamper-evident ledger (tables on :data:`deconflict.store.base.metadata`).

Tables (migration ``0002_ledger``)::

    ledger_entries         idx (0-based leaf index, PK) | kind | leaf (canonical leaf record)
                           | leaf_hash (32 B) | salt (32 B, NULL = tombstoned content)
                           | content (NULL = tombstoned; leaf v2: canonical JSON of
                           {"event": full event, "labels": {viewer: {other: label}}} from
                           which each party's view is rendered; leaf v1: the event) | created_at
    ledger_entry_parties   (party_id, idx) PK: who may open entry idx
    ledger_nodes           (level, idx) PK | hash: perfect-subtree hashes at levels
                           STRIDE, 2*STRIDE, ... (levels in between are folded on read)
    ledger_checkpoints     id | size | root | timestamp_s | note (signed note, all signatures)
    ledger_witnesses       party_id PK | vkey (the party's cosigning key) | last_size | updated_at

:class:`SqlLogStorage` implements :class:`deconflict.ledger.LogStorage` over a session, so the
pure algorithms of :mod:`deconflict.ledger.tree` produce heads and proofs with O(log n) queries.
Appends must be serialised by the caller (see :func:`deconflict.broker.audit.record`).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session

from deconflict.errors import InvalidInputError
from deconflict.ledger.hashing import HASH_SIZE
from deconflict.ledger.storage import fold_perfect
from deconflict.store.base import metadata
from deconflict.store.types import BigId, UTCDateTime

STRIDE: Final = 4
"""Stored node levels are multiples of this (tlog-tiles style: 2**4 = 16 hashes per fold)."""

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(64), nullable=False),
    Column("leaf", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("salt", LargeBinary(32), nullable=True),
    Column("content", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

ledger_entry_parties = Table(
    "ledger_entry_parties",
    metadata,
    Column("party_id", String(32), ForeignKey("parties.id"), primary_key=True),
    Column("idx", BigInteger, ForeignKey("ledger_entries.idx"), primary_key=True),
)

ledger_nodes = Table(
    "ledger_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("timestamp_s", BigInteger, nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_ledger_checkpoints_size", "size"),
    sqlite_autoincrement=True,
)

ledger_witnesses = Table(
    "ledger_witnesses",
    metadata,
    Column("party_id", String(32), ForeignKey("parties.id"), primary_key=True),
    Column("vkey", Text, nullable=False),
    Column("last_size", BigInteger, nullable=False),
    Column("last_checkpoint_id", BigInteger, nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)


class SqlLogStorage:
    """:class:`deconflict.ledger.LogStorage` over the ledger tables in ``session``.

    Parameters
    ----------
    session:
        An open session; :meth:`append` needs a write transaction in which the caller holds
        the ledger's writer lock.
    size:
        The number of leaves, when the caller already knows it (saves a query).
    """

    def __init__(self, session: Session, *, size: int | None = None) -> None:
        self._session = session
        self._size: int | None = size
        #: Complete subtrees never change, so their hashes can be cached for this object's life.
        self._cache: dict[tuple[int, int], bytes] = {}

    def size(self) -> int:
        """Number of leaves (``max(idx) + 1``; cached within this object after the first read)."""
        if self._size is None:
            last = self._session.execute(select(func.max(ledger_entries.c.idx))).scalar_one()
            self._size = 0 if last is None else int(last) + 1
        return self._size

    def leaf_hash(self, index: int) -> bytes:
        """Hash of leaf ``index``."""
        value = self._session.execute(
            select(ledger_entries.c.leaf_hash).where(ledger_entries.c.idx == index)
        ).scalar_one_or_none()
        if value is None:
            raise InvalidInputError(field="index", reason=f"no ledger entry {index}")
        return bytes(value)

    def _row(self, level: int, first: int, count: int) -> list[bytes]:
        """``count`` consecutive stored hashes at a stored level, from ``first``."""
        if level == 0:
            column, index_column = ledger_entries.c.leaf_hash, ledger_entries.c.idx
            query = select(column).where(index_column >= first, index_column < first + count)
        else:
            column, index_column = ledger_nodes.c.hash, ledger_nodes.c.idx
            query = select(column).where(
                ledger_nodes.c.level == level, index_column >= first, index_column < first + count
            )
        values = [bytes(v) for v in self._session.execute(query.order_by(index_column)).scalars()]
        if len(values) != count:
            raise InvalidInputError(
                field="index", reason=f"subtree hashes missing at level {level} from {first}"
            )
        return values

    def subtree_hash(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree ``(level, index)``, folded from the stored level below."""
        key = (level, index)
        cached = self._cache.get(key)
        if cached is None:
            extra = level % STRIDE
            width = 1 << extra
            cached = fold_perfect(self._row(level - extra, index * width, width))
            if len(self._cache) < 100_000:
                self._cache[key] = cached
        return cached

    def append(self, leaf_hash: bytes) -> int:
        """Store the completed-subtree hashes for the leaf whose entry row was just inserted.

        Precondition (kept by :func:`deconflict.broker.audit.record`, the only writer): the
        caller holds the ledger's writer lock, read :meth:`size` on this object, then inserted
        the ``ledger_entries`` row with index ``size()`` and ``leaf_hash``. This method adds the
        ``ledger_nodes`` rows the new leaf completes (one query per 16 leaves on average) and
        returns the leaf's index.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise InvalidInputError(field="leaf_hash", reason="must be 32 bytes")
        index = self.size()
        size = index + 1
        self._size = size
        level = STRIDE
        width = 1 << STRIDE
        while size % (1 << level) == 0:
            node_index = (size >> level) - 1
            children = self._row(level - STRIDE, node_index * width, width)
            self._session.execute(
                insert(ledger_nodes),
                {"level": level, "idx": node_index, "hash": fold_perfect(children)},
            )
            level += STRIDE
        return index


__all__ = [
    "STRIDE",
    "SqlLogStorage",
    "ledger_checkpoints",
    "ledger_entries",
    "ledger_entry_parties",
    "ledger_nodes",
    "ledger_witnesses",
]
