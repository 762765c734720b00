"""The ristretto255 prime-order group (libsodium, bundled by the ``rbcl`` wheel), in bulk.

PyNaCl binds no ``crypto_core_ristretto255_*`` function; ``rbcl`` ships a libsodium build with
them and loads it with :mod:`ctypes`. Its per-call Python wrappers allocate and copy for every
element, so this module calls the C functions itself, on whole *blobs*: ``n`` elements packed
back to back (32 bytes per point, 64 per hash), results written into one buffer and returned
as one ``bytes`` object. No per-element Python object is created.

Functions (all constant-time in libsodium):

* :func:`from_hash` -- ``crypto_core_ristretto255_from_hash``: 64 uniform bytes -> a point
  (Elligator 2 applied twice; the discrete log of the result is unknown to everyone);
* :func:`scalarmult` -- ``crypto_scalarmult_ristretto255``: ``[s]P`` for every ``P``; a
  non-canonical encoding, a non-point or the identity is refused (libsodium returns -1);
* :func:`scalar_random` -- a uniform non-zero scalar modulo the group order ``L``;
* :func:`random_points` -- uniform points (``from_hash`` of random bytes).

The group has prime order ``L = 2^252 + 27742317777372353535851937790883648493``, so
``[a]([b]P) == [b]([a]P) == [ab mod L]P`` and a blinded element carries nothing about ``P``
to anyone without the scalar. Not pure in one respect: loading the library (at import) and
drawing random bytes.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from deconflict.errors import InvalidInputError

POINT_BYTES: Final = 32
"""Bytes per encoded group element."""

HASH_BYTES: Final = 64
"""Bytes of uniform input per :func:`from_hash` element."""

SCALAR_BYTES: Final = 32
"""Bytes per scalar (little-endian, reduced modulo ``L``)."""

NAME: Final = "ristretto255"

_rbcl: Any = importlib.import_module("rbcl")
_lib: Any = _rbcl._sodium
# rbcl writes its libsodium to a temporary file on import and leaves it behind; the mapping
# outlives the file on POSIX, so remove it (one 5 MB file per process otherwise).
with contextlib.suppress(OSError, AttributeError, ImportError):
    os.unlink(importlib.import_module("rbcl._sodium").lib_path)

_VP = ctypes.c_void_p
_from_hash = ctypes.cast(
    _lib.crypto_core_ristretto255_from_hash, ctypes.CFUNCTYPE(ctypes.c_int, _VP, _VP)
)
_scalarmult = ctypes.cast(
    _lib.crypto_scalarmult_ristretto255, ctypes.CFUNCTYPE(ctypes.c_int, _VP, _VP, _VP)
)
_scalar_random = ctypes.cast(
    _lib.crypto_core_ristretto255_scalar_random, ctypes.CFUNCTYPE(None, _VP)
)
_is_valid_point = ctypes.cast(
    _lib.crypto_core_ristretto255_is_valid_point, ctypes.CFUNCTYPE(ctypes.c_int, _VP)
)
_randombytes = ctypes.cast(_lib.randombytes_buf, ctypes.CFUNCTYPE(None, _VP, ctypes.c_size_t))


def random_bytes(n: int) -> bytes:
    """``n`` bytes from libsodium's CSPRNG."""
    buf = ctypes.create_string_buffer(max(n, 1))
    _randombytes(ctypes.addressof(buf), n)
    return buf.raw[:n]


def scalar_random() -> bytes:
    """A uniform scalar in ``[1, L)`` (32 bytes, little-endian)."""
    buf = ctypes.create_string_buffer(SCALAR_BYTES)
    _scalar_random(ctypes.addressof(buf))
    return buf.raw


MIN_CHUNK: Final = 2048
"""Fewest elements per worker thread (below it, threads cost more than they save)."""


def _chunks(n: int, workers: int) -> list[tuple[int, int]]:
    if n == 0:
        return [(0, 0)]
    parts = max(1, min(workers, n // MIN_CHUNK))
    step = -(-n // parts)
    return [(lo, min(n, lo + step)) for lo in range(0, n, step)]


def _run(n: int, workers: int, body: Callable[[int, int], int]) -> int:
    """``body(lo, hi)`` over ``[0, n)``, split over ``workers`` threads; ORs the results.

    The C calls release the GIL (ctypes), so threads scale across cores; with ``workers=1``
    everything runs on the calling thread.
    """
    chunks = _chunks(n, workers)
    if len(chunks) == 1:
        return body(*chunks[0])
    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        results = list(pool.map(lambda c: body(*c), chunks))
    bad = 0
    for r in results:
        bad |= r
    return bad


def from_hash(hashes: bytes, *, workers: int = 1) -> bytes:
    """Map every 64-byte chunk of ``hashes`` to a point; returns the points packed.

    Raises
    ------
    ValueError
        ``len(hashes)`` is not a multiple of 64 (a programming error, not input).
    """
    if len(hashes) % HASH_BYTES:
        raise ValueError("hashes must be a multiple of 64 bytes")
    n = len(hashes) // HASH_BYTES
    src = ctypes.create_string_buffer(hashes, len(hashes) or 1)
    out = ctypes.create_string_buffer(POINT_BYTES * n or 1)
    a_src, a_out, f = ctypes.addressof(src), ctypes.addressof(out), _from_hash

    def body(lo: int, hi: int) -> int:
        for k in range(lo, hi):
            f(a_out + POINT_BYTES * k, a_src + HASH_BYTES * k)
        return 0

    _run(n, workers, body)
    return out.raw[: POINT_BYTES * n]


def scalarmult(scalar: bytes, points: bytes, *, field: str = "points", workers: int = 1) -> bytes:
    """``[scalar]P`` for every 32-byte point ``P`` of ``points``; returns the results packed.

    ``workers`` threads share the work (1: the calling thread only).

    Raises
    ------
    InvalidInputError
        ``field[k]``: element ``k`` is not the canonical encoding of a group element other
        than the identity (a malformed or malicious set); or the scalar has the wrong size.
    """
    if len(scalar) != SCALAR_BYTES:
        raise InvalidInputError(field="secret", reason=f"must be {SCALAR_BYTES} bytes")
    if len(points) % POINT_BYTES:
        raise InvalidInputError(field=field, reason="length is not a multiple of 32 bytes")
    n = len(points) // POINT_BYTES
    key = ctypes.create_string_buffer(scalar, SCALAR_BYTES)
    src = ctypes.create_string_buffer(points, len(points) or 1)
    out = ctypes.create_string_buffer(POINT_BYTES * n or 1)
    a_key, a_src, a_out, f = (
        ctypes.addressof(key),
        ctypes.addressof(src),
        ctypes.addressof(out),
        _scalarmult,
    )

    def body(lo: int, hi: int) -> int:
        bad = 0
        for k in range(POINT_BYTES * lo, POINT_BYTES * hi, POINT_BYTES):
            bad |= f(a_out + k, a_key, a_src + k)
        return bad

    if _run(n, workers, body):
        for k in range(n):  # rare: find the first offender to name it
            if f(a_out, a_key, a_src + POINT_BYTES * k):
                raise InvalidInputError(
                    field=f"{field}[{k}]",
                    reason="not a valid ristretto255 element (non-canonical, identity or size)",
                )
    return out.raw[: POINT_BYTES * n]


def is_valid_point(point: bytes) -> bool:
    """Whether ``point`` is the canonical encoding of a non-identity group element."""
    if len(point) != POINT_BYTES or point == bytes(POINT_BYTES):  # the identity encodes as 0
        return False
    buf = ctypes.create_string_buffer(point, POINT_BYTES)
    return bool(_is_valid_point(ctypes.addressof(buf)))


def random_points(n: int, *, workers: int = 1) -> bytes:
    """``n`` uniform group elements, packed (indistinguishable from blinded cells)."""
    return from_hash(random_bytes(HASH_BYTES * n), workers=workers)
