"""Known-answer and property tests of the RFC 9162 Merkle tree, proofs and verification.

The reference functions below transcribe RFC 9162 section 2.1 literally (recursive MTH, PATH,
PROOF/SUBPROOF over the list of entries); the O(log n) store-backed implementation must agree.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.errors import InvalidInputError
from deconflict.ledger.hashing import EMPTY_ROOT, leaf_hash, node_hash
from deconflict.ledger.proofs import (
    ProofError,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from deconflict.ledger.storage import MemoryLogStorage
from deconflict.ledger.tree import consistency_proof, inclusion_proof, root_hash

# --- RFC 9162 section 2.1, transcribed -----------------------------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: tuple[bytes, ...]) -> bytes:
    if len(d) == 0:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: tuple[bytes, ...], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    return ref_subproof(m, d, True)


def entries(n: int) -> tuple[bytes, ...]:
    return tuple(f"entry-{i}".encode() for i in range(n))


@lru_cache(maxsize=4)
def built(n: int, stride: int) -> MemoryLogStorage:
    store = MemoryLogStorage(stride=stride)
    for e in entries(n):
        store.append(leaf_hash(e))
    return store


BIG = 10_000
STRIDES = (1, 4)

# --- known answers --------------------------------------------------------------------------


def test_empty_tree_hash_is_sha256_of_empty_string() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_hash(MemoryLogStorage(), 0) == EMPTY_ROOT


def test_leaf_and_node_prefixes() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = bytes(range(32)), bytes(range(32, 64))
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    # Domain separation: a node is not a leaf over the concatenation.
    assert node_hash(left, right) != leaf_hash(left + right)


def test_three_leaf_tree_by_hand() -> None:
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    expected = node_hash(node_hash(a, b), c)
    store = MemoryLogStorage()
    for x in (b"a", b"b", b"c"):
        store.append(leaf_hash(x))
    assert root_hash(store, 3) == expected
    assert inclusion_proof(store, 2, 3) == [node_hash(a, b)]
    assert inclusion_proof(store, 0, 3) == [b, c]
    assert consistency_proof(store, 2, 3) == [c]
    assert consistency_proof(store, 1, 3) == [b, c]


@pytest.mark.parametrize("stride", STRIDES)
def test_roots_and_proofs_equal_reference_for_every_small_size(stride: int) -> None:
    d = entries(70)
    store = built(70, stride)
    for n in range(0, 71):
        assert root_hash(store, n) == ref_mth(d[:n]), n
        for m in range(n):
            assert inclusion_proof(store, m, n) == ref_path(m, d[:n]), (m, n)
        for m in range(1, n):
            assert consistency_proof(store, m, n) == ref_proof(m, d[:n]), (m, n)


@pytest.mark.parametrize("stride", STRIDES)
def test_every_small_proof_verifies(stride: int) -> None:
    d = entries(40)
    store = built(40, stride)
    for n in range(1, 41):
        root_n = ref_mth(d[:n])
        for m in range(n):
            verify_inclusion(leaf_hash(d[m]), m, n, inclusion_proof(store, m, n), root_n)
        for m in range(0, n + 1):
            verify_consistency(m, n, consistency_proof(store, m, n), ref_mth(d[:m]), root_n)


def test_known_answer_for_rfc_example_tree() -> None:
    # The seven-leaf tree drawn in RFC 9162 section 2.1.5, with the RFC's node labels:
    #            hash
    #           /    \
    #          k      l
    #         / \    / \
    #        g   h  i   j
    #       / \ / \ / \  |
    #       a b c d e f  d6
    d = entries(7)
    a, b, c, dd, e, f, j = (leaf_hash(x) for x in d)
    g, h, i = node_hash(a, b), node_hash(c, dd), node_hash(e, f)
    k, l_ = node_hash(g, h), node_hash(i, j)
    store = built(7, 1)
    assert root_hash(store, 7) == node_hash(k, l_)
    # RFC text: "The audit path for d0 is [b, h, l]", d3: [c, g, l], d4: [f, j, k], d6: [i, k].
    assert inclusion_proof(store, 0, 7) == [b, h, l_]
    assert inclusion_proof(store, 3, 7) == [c, g, l_]
    assert inclusion_proof(store, 4, 7) == [f, j, k]
    assert inclusion_proof(store, 6, 7) == [i, k]
    # RFC text: consistency proofs 3 -> 7 = [c, d, g, l], 4 -> 7 = [l], 6 -> 7 = [i, j, k].
    assert consistency_proof(store, 3, 7) == [c, dd, g, l_]
    assert consistency_proof(store, 4, 7) == [l_]
    assert consistency_proof(store, 6, 7) == [i, j, k]


# --- properties over sizes up to 10,000 -------------------------------------------------------

sizes = st.integers(min_value=1, max_value=BIG)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), stride=st.sampled_from(STRIDES))
def test_inclusion_proofs_verify_and_tampering_fails(data: st.DataObject, stride: int) -> None:
    store = built(BIG, stride)
    n = data.draw(sizes, label="size")
    m = data.draw(st.integers(0, n - 1), label="index")
    leaf = store.leaf_hash(m)
    root = root_hash(store, n)
    proof = inclusion_proof(store, m, n)
    verify_inclusion(leaf, m, n, proof, root)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        bit = data.draw(st.integers(0, 255), label="bit")
        altered = list(proof)
        altered[position] = bytes(
            x ^ (1 << (bit % 8)) if pos == bit // 8 else x
            for pos, x in enumerate(altered[position])
        )
        with pytest.raises(ProofError):
            verify_inclusion(leaf, m, n, altered, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaf, m, n, proof[:-1], root)
        with pytest.raises(ProofError):
            verify_inclusion(leaf, m, n, [*proof, proof[0]], root)
    other = data.draw(st.integers(0, n), label="other index")
    if other != m:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, other, n, proof, root)
    # A head binds size and root together: the proof must fail against any other signed head.
    # (The RFC algorithm checks the size only through the path's shape, so a wrong size paired
    # with the *right* root can pass; no honest or forged head pairs them, so that is harmless.)
    wrong_size = data.draw(st.integers(1, BIG), label="wrong size")
    if wrong_size != n:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, m, wrong_size, proof, root_hash(store, wrong_size))
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"forged"), m, n, proof, root)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), stride=st.sampled_from(STRIDES))
def test_consistency_proofs_verify_and_tampering_fails(data: st.DataObject, stride: int) -> None:
    store = built(BIG, stride)
    n = data.draw(sizes, label="second")
    m = data.draw(st.integers(1, n), label="first")
    first_root, second_root = root_hash(store, m), root_hash(store, n)
    proof = consistency_proof(store, m, n)
    verify_consistency(m, n, proof, first_root, second_root)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        altered = list(proof)
        altered[position] = hashlib.sha256(altered[position]).digest()
        with pytest.raises(ProofError):
            verify_consistency(m, n, altered, first_root, second_root)
        with pytest.raises(ProofError):
            verify_consistency(m, n, proof[:-1], first_root, second_root)
        with pytest.raises(ProofError):
            verify_consistency(m, n, [*proof, proof[-1]], first_root, second_root)
    wrong_first = data.draw(st.integers(1, n), label="wrong first")
    if wrong_first != m and (proof or wrong_first != n):
        with pytest.raises(ProofError):
            verify_consistency(wrong_first, n, proof, root_hash(store, wrong_first), second_root)
    wrong_second = data.draw(st.integers(m, BIG), label="wrong second")
    if wrong_second != n:
        with pytest.raises(ProofError):
            verify_consistency(m, wrong_second, proof, first_root, root_hash(store, wrong_second))
    with pytest.raises(ProofError):
        verify_consistency(m, n, proof, hashlib.sha256(first_root).digest(), second_root)
    with pytest.raises(ProofError):
        verify_consistency(m, n, proof, first_root, hashlib.sha256(second_root).digest())
    if m < n:
        with pytest.raises(ProofError, match="went back"):
            verify_consistency(n, m, proof, second_root, first_root)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 600), data=st.data())
def test_random_sizes_match_reference(n: int, data: st.DataObject) -> None:
    d = entries(n)
    store = built(600, 4)
    m = data.draw(st.integers(0, n - 1))
    assert root_hash(store, n) == ref_mth(d)
    assert inclusion_proof(store, m, n) == ref_path(m, d)
    if m:
        assert consistency_proof(store, m, n) == ref_proof(m, d)


def test_strides_store_the_same_tree() -> None:
    a, b = built(BIG, 1), built(BIG, 4)
    for n in (1, 2, 3, 1023, 1024, 1025, 4097, BIG):
        assert root_hash(a, n) == root_hash(b, n)
    assert b.nbytes() < a.nbytes()


def test_bad_arguments_raise_typed_errors() -> None:
    store = built(70, 1)
    with pytest.raises(InvalidInputError):
        inclusion_proof(store, 5, 5)
    with pytest.raises(InvalidInputError):
        inclusion_proof(store, 0, 71, stored_size=70)
    with pytest.raises(InvalidInputError):
        consistency_proof(store, 6, 5)
    with pytest.raises(InvalidInputError):
        root_hash(store, -1)
    with pytest.raises(ProofError):
        root_from_inclusion_proof(b"short", 0, 1, [])
    with pytest.raises(InvalidInputError):
        MemoryLogStorage(stride=0)
    with pytest.raises(InvalidInputError):
        MemoryLogStorage().append(b"x")


def test_consistency_edge_cases() -> None:
    store = built(70, 1)
    r5 = root_hash(store, 5)
    verify_consistency(5, 5, [], r5, r5)
    verify_consistency(0, 5, [], EMPTY_ROOT, r5)
    with pytest.raises(ProofError, match="different roots"):
        verify_consistency(5, 5, [], r5, root_hash(store, 6))
    with pytest.raises(ProofError):
        verify_consistency(5, 5, [r5], r5, r5)
    with pytest.raises(ProofError):
        verify_consistency(0, 5, [r5], EMPTY_ROOT, r5)
    with pytest.raises(ProofError, match="empty proof"):
        verify_consistency(3, 5, [], root_hash(store, 3), r5)
