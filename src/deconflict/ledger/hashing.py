"""RFC 9162 (Certificate Transparency v2) hashing for the ledger's Merkle tree.

Section 2.1.1 of RFC 9162 fixes the hash of a leaf and of an interior node with distinct
one-byte prefixes so that a leaf can never be passed off as a node (second-preimage defence)::

    leaf hash = SHA-256(0x00 || entry)
    node hash = SHA-256(0x01 || left || right)
    MTH({})   = SHA-256()          (the empty string)

Every hash in this package is 32 raw bytes.
"""

from __future__ import annotations

import hashlib
from typing import Final

HASH_SIZE: Final = 32
"""Size of a SHA-256 digest, bytes."""

LEAF_PREFIX: Final = b"\x00"
"""Domain-separation prefix of a leaf hash (RFC 9162 section 2.1.1)."""

NODE_PREFIX: Final = b"\x01"
"""Domain-separation prefix of an interior node hash (RFC 9162 section 2.1.1)."""

EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""Merkle tree hash of the empty tree, MTH({}) = SHA-256() (RFC 9162 section 2.1.1)."""


def leaf_hash(entry: bytes) -> bytes:
    """Return ``SHA-256(0x00 || entry)``, the hash of one log entry."""
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return ``SHA-256(0x01 || left || right)``, the hash of an interior node."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """Return the largest power of two strictly smaller than ``n`` (``n >= 2``): RFC 9162's k."""
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    return 1 << ((n - 1).bit_length() - 1)
