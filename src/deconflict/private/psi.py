"""Diffie-Hellman private set intersection over ristretto255 (libsodium, :mod:`.group`).

Protocol ``psi-ristretto255/2`` (two parties A and B, one agreement, one epoch each)::

    A: x_i -> H(x_i) -> [a]H(x_i), padded with random points, sorted    --broker-->  B
    B: y_j -> H(y_j) -> [b]H(y_j), padded with random points, sorted    --broker-->  A
    B: answers A's set in A's order: [b][a]H(x_i), signed, sealed to A  --broker-->  A
    A: answers B's set: [a][b]H(y_j), signed, sealed to B               --broker-->  B
    A: [ab]H(x_i) in {[ba]H(y_j)}  <=>  x_i in Y  (and symmetrically for B)

* ``H`` (hash to group): SHA-512 of a domain-separated encoding (protocol, agreement id, grid,
  24-byte cell record) mapped to ristretto255 with ``crypto_core_ristretto255_from_hash``. The
  group has prime order, so blinding commutes exactly (``[a][b]P == [b][a]P``) and there is no
  cofactor or twist to reason about; the discrete log of ``H(x)`` is unknown, so ``[a]H(x)``
  reveals nothing of ``x`` without ``a`` (DDH in ristretto255).
* Secrets are fresh uniform scalars per agreement *and* epoch (:func:`new_secret`): the blinded
  sets of two epochs, or of two agreements, cannot be linked.
* Sets are padded to :func:`bucket_size` with uniform random points, indistinguishable from
  blinded cells, then sorted (the order carries nothing).
* :func:`set_digest` commits to a blinded set (protocol, agreement, party, epoch, count,
  values); the owner signs it (Ed25519) and the relay writes it to the ledger, so the
  counterpart detects a substituted or replayed set.
* Every set travels as one *blob*: ``count`` 32-byte encodings back to back. The work is done
  in bulk on blobs (:mod:`.group`), with no Python object per element.

Earlier versions (``psi-x25519/1``: X25519 u-coordinates) are refused with a clear error
(:func:`check_protocol`). Pure module apart from drawing random bytes.
"""

from __future__ import annotations

import hashlib
import math
import struct
from typing import Final

import numpy as np
import numpy.typing as npt

from deconflict.errors import InvalidInputError
from deconflict.private import group
from deconflict.private.cells import Cells, Grid

PROTOCOL: Final = "psi-ristretto255/2"
"""The protocol version this code speaks (signed into every set statement and sealed header)."""

RETIRED_PROTOCOLS: Final = {"psi-x25519/1": "X25519 u-coordinates (session 2)"}
"""Earlier protocol versions, refused with a clear error."""

POINT_BYTES: Final = group.POINT_BYTES
"""Bytes per (blinded) group element."""

MIN_BUCKET: Final = 1024
"""Smallest padded set size."""

MAX_SET: Final = 262_144
"""Largest padded set a party may upload (elements)."""

_HASH_DOMAIN: Final = b"deconflict/private/psi/cell/v2/ristretto255\x00"
_COMMIT_DOMAIN: Final = b"deconflict/private/psi/commit/v2\x00"
_RECORD_BYTES: Final = 24


class ProtocolVersionError(InvalidInputError):
    """Data of another (retired or unknown) protocol version: re-push with this client."""

    status = 409
    title = "Protocol version mismatch"


def check_protocol(value: object, *, field: str = "protocol") -> None:
    """Refuse anything but :data:`PROTOCOL`, naming the retired version if it is one.

    Raises
    ------
    ProtocolVersionError
        ``value`` is another protocol (``None``: data from before versioning, i.e. v1).
    """
    if value == PROTOCOL:
        return
    name = "psi-x25519/1" if value is None else str(value)[:40]
    what = RETIRED_PROTOCOLS.get(name)
    reason = (
        f"{name} ({what}) is retired; this side speaks {PROTOCOL}: upgrade the client and "
        "push again (a new epoch)"
        if what
        else f"unknown protocol {name!r}; this side speaks {PROTOCOL}"
    )
    raise ProtocolVersionError(field=field, reason=reason)


def _field(name: str, value: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > 255:
        raise InvalidInputError(field=name, reason="longer than 255 bytes")
    return struct.pack(">B", len(raw)) + raw


def hash_prefix(agreement_id: str, grid: Grid) -> bytes:
    """The domain-separation prefix hashed before every cell record of an agreement."""
    return (
        _HASH_DOMAIN
        + _field("agreement", agreement_id)
        + struct.pack(">BII", grid.resolution, grid.slot_s, grid.layer_ft)
    )


def cell_hashes(agreement_id: str, grid: Grid, cells: Cells) -> bytes:
    """SHA-512 of prefix || record for every cell, packed (64 bytes each)."""
    base = hashlib.sha512(hash_prefix(agreement_id, grid))
    raw = cells.records().tobytes()
    out = []
    copy = base.copy
    for k in range(0, len(raw), _RECORD_BYTES):
        h = copy()
        h.update(raw[k : k + _RECORD_BYTES])
        out.append(h.digest())
    return b"".join(out)


def hash_cells(agreement_id: str, grid: Grid, cells: Cells, *, workers: int = 1) -> bytes:
    """Hash every cell to a ristretto255 point, domain-separated; returns the points packed."""
    return group.from_hash(cell_hashes(agreement_id, grid, cells), workers=workers)


def new_secret() -> bytes:
    """A fresh uniform non-zero scalar (32 bytes): one per agreement and epoch."""
    return group.scalar_random()


def blind(secret: bytes, points: bytes, *, field: str = "points", workers: int = 1) -> bytes:
    """``[secret]P`` for every packed point ``P``, in order; returns them packed.

    Raises
    ------
    InvalidInputError
        An element is not a canonical non-identity group element, or the blob is not a
        multiple of 32 bytes (a malformed or malicious set); the field names the element.
    """
    return group.scalarmult(secret, points, field=field, workers=workers)


def bucket_size(n: int) -> int:
    """Padded size for ``n`` elements: the next power of sqrt(2) (rounded up), >= 1024.

    Raises
    ------
    InvalidInputError
        ``n`` exceeds :data:`MAX_SET`.
    """
    if n > MAX_SET:
        raise InvalidInputError(
            field="cells", reason=f"{n} cells exceed the private-mode limit of {MAX_SET}"
        )
    if n <= MIN_BUCKET:
        return MIN_BUCKET
    k = math.ceil(2.0 * math.log2(n))
    size = math.ceil(2.0 ** (k / 2.0))
    while size < n:  # float safety
        k += 1
        size = math.ceil(2.0 ** (k / 2.0))
    return int(min(size, MAX_SET))


def random_points(n: int, *, workers: int = 1) -> bytes:
    """``n`` uniform random group elements, packed (indistinguishable from blinded cells)."""
    return group.random_points(n, workers=workers)


def count(blob: bytes, *, field: str = "blinded") -> int:
    """Number of 32-byte elements in ``blob``.

    Raises
    ------
    InvalidInputError
        Length not a multiple of 32, or more than :data:`MAX_SET` elements.
    """
    if len(blob) % POINT_BYTES:
        raise InvalidInputError(field=field, reason="length is not a multiple of 32 bytes")
    n = len(blob) // POINT_BYTES
    if n > MAX_SET:
        raise InvalidInputError(field=field, reason=f"more than {MAX_SET} elements")
    return n


def as_array(blob: bytes, *, field: str = "blinded") -> npt.NDArray[np.bytes_]:
    """The blob as a numpy ``S32`` array (no copy), validated by :func:`count`."""
    count(blob, field=field)
    return np.frombuffer(blob, dtype="S32")


def pad_and_sort(blinded: bytes, *, workers: int = 1) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Pad to :func:`bucket_size` with random points and sort.

    Returns
    -------
    (values, origin)
        ``values`` sorted and packed; ``origin[i]`` is the index in ``blinded`` of element
        ``i`` of ``values``, or -1 for a dummy.
    """
    n = count(blinded, field="blinded")
    size = bucket_size(n)
    everything = as_array(blinded + random_points(size - n, workers=workers))
    order = np.argsort(everything, kind="stable")
    origin = np.where(order < n, order, -1).astype(np.int64)
    return everything[order].tobytes(), origin


def set_digest(agreement_id: str, party: str, epoch: int, blob: bytes) -> str:
    """Hex SHA-256 commitment to a blinded set (what the owner signs and the ledger records)."""
    h = hashlib.sha256()
    h.update(_COMMIT_DOMAIN)
    h.update(_field("protocol", PROTOCOL))
    h.update(_field("agreement", agreement_id))
    h.update(_field("party", party))
    h.update(struct.pack(">QQ", epoch, len(blob) // POINT_BYTES))
    h.update(blob)
    return h.hexdigest()


def stored_protocol(agreement_id: str, party: str, epoch: int, blob: bytes, digest: str) -> str:
    """The protocol a stored set's ``digest`` was made under: :data:`PROTOCOL`, the retired
    ``psi-x25519/1`` (its commitment had no protocol field), or ``"unknown"`` (neither: the set
    or its digest was altered, which the counterpart's client reports as a substitution)."""
    if set_digest(agreement_id, party, epoch, blob) == digest:
        return PROTOCOL
    h = hashlib.sha256()
    h.update(b"deconflict/private/psi/commit/v1\x00")
    h.update(_field("agreement", agreement_id))
    h.update(_field("party", party))
    h.update(struct.pack(">QQ", epoch, len(blob) // POINT_BYTES))
    h.update(blob)
    return "psi-x25519/1" if h.hexdigest() == digest else "unknown"


def matches(mine_double: bytes, theirs_double: bytes) -> npt.NDArray[np.int64]:
    """Indices ``i`` with element ``i`` of ``mine_double`` among ``theirs_double``."""
    if not mine_double or not theirs_double:
        return np.zeros(0, np.int64)
    a = as_array(mine_double, field="answer")
    b = as_array(theirs_double, field="counterpart set")
    return np.nonzero(np.isin(a, b))[0].astype(np.int64)
