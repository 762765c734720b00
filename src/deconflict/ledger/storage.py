"""Storage of the Merkle tree: the :class:`LogStorage` protocol and an in-memory store.

A store keeps the leaf hashes and the hashes of perfect subtrees as they complete, in the
manner of a tiled log (C2SP tlog-tiles, Trillian): with *stride* ``h`` it stores levels
``0, h, 2h, ...`` and recomputes a node of an intermediate level ``l`` from the ``2**(l % h)``
stored hashes below it. Stride 1 stores every level (64 bytes per leaf, one read per node);
stride 4 stores 34 bytes per leaf and reads at most 8 hashes per node. Either way a tree head or
proof costs O(log n) reads (see :mod:`deconflict.ledger.tree`) and an append amortises to
about one node hash.

Layout of :class:`MemoryLogStorage` (``h`` = stride, one ``bytearray`` per stored level)::

    levels[0]  = leaf hash 0 | leaf hash 1 | ...         32 bytes each
    levels[1]  = node(h, 0)  | node(h, 1)  | ...         node over leaves [i*2**h, (i+1)*2**h)
    levels[j]  = node(j*h, i) ...
"""

from __future__ import annotations

from typing import Protocol

from deconflict.errors import InvalidInputError
from deconflict.ledger.hashing import HASH_SIZE, node_hash
from deconflict.ledger.tree import SubtreeReader


class LogStorage(SubtreeReader, Protocol):
    """What the ledger needs from a Merkle-tree store (in memory here, SQL in ``store``)."""

    def size(self) -> int:
        """Number of leaves appended so far."""
        ...

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash, update completed subtree hashes, return the leaf's index."""
        ...

    def leaf_hash(self, index: int) -> bytes:
        """Hash of leaf ``index`` (0-based)."""
        ...


def fold_perfect(hashes: list[bytes]) -> bytes:
    """Hash of a perfect subtree from its ``2**k`` consecutive child hashes at one level."""
    layer = hashes
    while len(layer) > 1:
        layer = [node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]


class MemoryLogStorage:
    """In-memory :class:`LogStorage` keeping perfect-subtree hashes of every ``stride`` level.

    Parameters
    ----------
    stride:
        Distance between stored levels (1 = all levels). Memory is about
        ``32 * n * (1 + 2**-stride + 2**-2*stride ...)`` bytes for ``n`` leaves.
    """

    def __init__(self, *, stride: int = 1) -> None:
        if not 1 <= stride <= 8:
            raise InvalidInputError(field="stride", reason="must be between 1 and 8")
        self._stride = stride
        self._levels: list[bytearray] = [bytearray()]

    @property
    def stride(self) -> int:
        """Distance between stored levels."""
        return self._stride

    def size(self) -> int:
        """Number of leaves appended so far."""
        return len(self._levels[0]) // HASH_SIZE

    def nbytes(self) -> int:
        """Bytes held in hash arrays (excluding Python object overhead, a few hundred bytes)."""
        return sum(len(level) for level in self._levels)

    def _stored(self, row: int, index: int) -> bytes:
        offset = index * HASH_SIZE
        data = self._levels[row]
        if offset + HASH_SIZE > len(data) or index < 0:
            raise InvalidInputError(
                field="index", reason=f"node {index} of stored row {row} missing"
            )
        return bytes(data[offset : offset + HASH_SIZE])

    def leaf_hash(self, index: int) -> bytes:
        """Hash of leaf ``index``."""
        return self._stored(0, index)

    def subtree_hash(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree at ``(level, index)``, recomputed below a stored level."""
        row, extra = divmod(level, self._stride)
        if extra == 0:
            return self._stored(row, index)
        width = 1 << extra
        first = index * width
        data = self._levels[row]
        start, end = first * HASH_SIZE, (first + width) * HASH_SIZE
        if end > len(data):
            raise InvalidInputError(field="index", reason=f"subtree ({level}, {index}) incomplete")
        return fold_perfect([bytes(data[i : i + HASH_SIZE]) for i in range(start, end, HASH_SIZE)])

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash and store the perfect subtrees it completes."""
        if len(leaf_hash) != HASH_SIZE:
            raise InvalidInputError(field="leaf_hash", reason="must be 32 bytes")
        index = self.size()
        self._levels[0] += leaf_hash
        size = index + 1
        row = 1
        width = 1 << self._stride
        # A stored node at row r completes when size is a multiple of 2**(r*stride).
        while size % (1 << (row * self._stride)) == 0:
            below = self._levels[row - 1]
            end = len(below)
            children = [
                bytes(below[i : i + HASH_SIZE])
                for i in range(end - width * HASH_SIZE, end, HASH_SIZE)
            ]
            if row == len(self._levels):
                self._levels.append(bytearray())
            self._levels[row] += fold_perfect(children)
            row += 1
        return index
