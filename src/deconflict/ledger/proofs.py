"""Verification of inclusion and consistency proofs (RFC 9162 sections 2.1.3.2 and 2.1.4.2).

These functions are what an auditing party runs, offline, on proofs the broker hands out. They
follow the RFC's step lists literally (``fn``/``sn`` bit walking) and raise
:class:`ProofError` naming the failed step; they never return a boolean that could be ignored.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from deconflict.errors import DeconflictError
from deconflict.ledger.hashing import HASH_SIZE, node_hash


class ProofError(DeconflictError):
    """A proof, signature or commitment did not verify.

    Parameters
    ----------
    check:
        Short name of the check that failed (``"inclusion"``, ``"consistency"``, ...).
    reason:
        Human-readable reason.
    """

    status = 422
    title = "Verification failed"

    def __init__(self, *, check: str, reason: str) -> None:
        self.check = check
        self.reason = reason
        super().__init__(f"{check}: {reason}")


def _check_hashes(values: Sequence[bytes], check: str, what: str) -> None:
    for position, value in enumerate(values):
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise ProofError(check=check, reason=f"{what}[{position}] is not a 32-byte hash")


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Recompute the root that ``proof`` implies for ``leaf_hash`` at ``index`` in ``size``.

    RFC 9162 section 2.1.3.2, steps 1-5 (without the final comparison with the root).
    """
    _check_hashes([leaf_hash], "inclusion", "leaf hash")
    _check_hashes(proof, "inclusion", "proof")
    if index < 0 or size < 0 or index >= size:
        raise ProofError(check="inclusion", reason=f"leaf index {index} not below size {size}")
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError(check="inclusion", reason="proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(check="inclusion", reason="proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Raises
    ------
    ProofError
        If the proof does not verify (wrong leaf, index, size, path node or root).
    """
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if not hmac.compare_digest(computed, root):
        raise ProofError(check="inclusion", reason="recomputed root does not match the tree head")


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> None:
    """Check that the tree ``(second, second_root)`` extends ``(first, first_root)``.

    RFC 9162 section 2.1.4.2 for ``0 < first < second``. Edge cases: ``first == second`` needs
    an empty proof and equal roots; ``first == 0`` needs an empty proof (every tree extends the
    empty tree); ``first > second`` (a roll-back) always fails.

    Raises
    ------
    ProofError
        If the proof does not verify.
    """
    _check_hashes([first_root, second_root], "consistency", "root")
    _check_hashes(proof, "consistency", "proof")
    if first < 0 or second < 0:
        raise ProofError(check="consistency", reason="tree sizes must not be negative")
    if first > second:
        raise ProofError(
            check="consistency", reason=f"tree size went back from {first} to {second}"
        )
    if first == second:
        if proof:
            raise ProofError(check="consistency", reason="proof must be empty for equal sizes")
        if not hmac.compare_digest(first_root, second_root):
            raise ProofError(check="consistency", reason=f"two different roots for size {first}")
        return
    if first == 0:
        if proof:
            raise ProofError(check="consistency", reason="proof must be empty from size 0")
        return
    # Step 1.
    if not proof:
        raise ProofError(check="consistency", reason="empty proof")
    path = list(proof)
    # Step 2.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # Steps 3-4.
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            raise ProofError(check="consistency", reason="proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise ProofError(check="consistency", reason="proof is shorter than needed")
    if not hmac.compare_digest(fr, first_root):
        raise ProofError(
            check="consistency", reason=f"proof does not reproduce the root of size {first}"
        )
    if not hmac.compare_digest(sr, second_root):
        raise ProofError(
            check="consistency", reason=f"proof does not reproduce the root of size {second}"
        )
