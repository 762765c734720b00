"""Merkle tree heads, inclusion proofs and consistency proofs (RFC 9162 section 2.1).

The algorithms read the tree only through :class:`SubtreeReader`: the hash of a *perfect*
(complete, aligned) subtree, addressed by ``(level, index)`` where the node covers leaves
``[index * 2**level, (index + 1) * 2**level)``. A store that keeps those hashes as they
complete (see :mod:`deconflict.ledger.storage`) answers every query with O(log n) reads:

* every range the RFC's recursion visits is ``[a, b)`` with ``a`` a multiple of a power of two
  at least ``b - a``, so it splits into at most ``log2(n)`` perfect subtrees;
* the only ranges that are not perfect end at the tree size (the right edge), and their hashes
  are the suffix folds of the size's perfect-subtree decomposition, computed once per query.

So a tree head, an audit path and a consistency proof each cost O(log n) reads and hashes.
Proofs can be made for any earlier size ``<=`` the current size: perfect subtrees never change
once complete.
"""

from __future__ import annotations

from typing import Protocol

from deconflict.errors import InvalidInputError
from deconflict.ledger.hashing import EMPTY_ROOT, largest_power_of_two_below, node_hash


class SubtreeReader(Protocol):
    """Read access to the hashes of complete subtrees of an append-only Merkle tree."""

    def subtree_hash(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree over leaves ``[index << level, (index + 1) << level)``.

        Level 0 is a leaf hash. The subtree must lie wholly inside the stored tree.
        """
        ...


class _RangeHasher:
    """Hashes of the ranges that RFC 9162's recursion visits, for one tree size."""

    def __init__(self, reader: SubtreeReader, size: int) -> None:
        self._reader = reader
        self._size = size
        parts: list[bytes] = []
        starts: list[int] = []
        position = 0
        for level in reversed(range(size.bit_length())):
            if (size >> level) & 1:
                parts.append(reader.subtree_hash(level, position >> level))
                starts.append(position)
                position += 1 << level
        self._suffix: dict[int, bytes] = {}
        accumulator = b""
        for start, part in zip(reversed(starts), reversed(parts), strict=True):
            accumulator = part if not accumulator else node_hash(part, accumulator)
            self._suffix[start] = accumulator

    def root(self) -> bytes:
        """MTH(D[0:size])."""
        return self._suffix[0] if self._size else EMPTY_ROOT

    def range_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range visited by the RFC recursion (``start`` aligned)."""
        count = end - start
        if count & (count - 1) == 0:
            level = count.bit_length() - 1
            if start % count:
                raise AssertionError(f"unaligned perfect range [{start}, {end})")
            return self._reader.subtree_hash(level, start >> level)
        if end == self._size and start in self._suffix:
            return self._suffix[start]
        # The RFC recursion only visits perfect ranges and right-edge suffixes (module docstring).
        raise AssertionError(f"range [{start}, {end}) is not visited by RFC 9162 proofs")


def _check_size(size: int, stored_size: int, field: str) -> None:
    if size < 0 or size > stored_size:
        raise InvalidInputError(field=field, reason=f"must be between 0 and {stored_size}")


def root_hash(reader: SubtreeReader, size: int) -> bytes:
    """Merkle tree hash MTH(D[0:size]) (RFC 9162 section 2.1.1); ``EMPTY_ROOT`` for size 0."""
    if size < 0:
        raise InvalidInputError(field="tree_size", reason="must not be negative")
    return _RangeHasher(reader, size).root()


def inclusion_proof(
    reader: SubtreeReader, index: int, size: int, *, stored_size: int | None = None
) -> list[bytes]:
    """Audit path PATH(index, D[0:size]) (RFC 9162 section 2.1.3.1), leaf-side first.

    Parameters
    ----------
    reader:
        The tree's complete-subtree hashes.
    index:
        0-based leaf index, ``0 <= index < size``.
    size:
        Tree size the proof is for (number of leaves).
    stored_size:
        The number of leaves the store holds, to validate ``size`` (optional).
    """
    if stored_size is not None:
        _check_size(size, stored_size, "tree_size")
    if not 0 <= index < size:
        raise InvalidInputError(field="index", reason=f"must be between 0 and {size - 1}")
    ranges = _RangeHasher(reader, size)
    path: list[bytes] = []
    start, count, offset = 0, size, index
    while count > 1:
        k = largest_power_of_two_below(count)
        if offset < k:
            path.append(ranges.range_hash(start + k, start + count))
            count = k
        else:
            path.append(ranges.range_hash(start, start + k))
            start, offset, count = start + k, offset - k, count - k
    path.reverse()
    return path


def consistency_proof(
    reader: SubtreeReader, first: int, second: int, *, stored_size: int | None = None
) -> list[bytes]:
    """Consistency proof PROOF(first, D[0:second]) (RFC 9162 section 2.1.4.1).

    The RFC defines the proof for ``0 < first < second``; for ``first == 0`` or
    ``first == second`` the proof is empty (nothing to prove beyond comparing the heads).
    """
    if stored_size is not None:
        _check_size(second, stored_size, "second")
    if not 0 <= first <= second:
        raise InvalidInputError(field="first", reason=f"must be between 0 and {second}")
    if first in (0, second):
        return []
    ranges = _RangeHasher(reader, second)
    proof: list[bytes] = []
    start, count, old, whole = 0, second, first, True
    while old != count:
        k = largest_power_of_two_below(count)
        if old <= k:
            proof.append(ranges.range_hash(start + k, start + count))
            count = k
        else:
            proof.append(ranges.range_hash(start, start + k))
            start, old, count, whole = start + k, old - k, count - k, False
    if not whole:
        proof.append(ranges.range_hash(start, start + count))
    proof.reverse()
    return proof
