"""Compiled (numba) kernels of the live cycle's pure cores. Compiled with ``cache=True``;
:func:`warm_up` loads them once per process, before the first cycle."""

from __future__ import annotations

import threading

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def neighbour_totals(
    codes: np.ndarray, counts: np.ndarray, steps: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """Aircraft in each occupied cell's 27-cell neighbourhood.

    ``codes``: the occupied cells' codes, ascending and unique, padded so that the cell
    (i + di, j + dj, k + dk) has code ``code + (di * span_j + dj) * span_k + dk``
    (``density._padded_codes``); ``counts``: aircraft per cell; ``steps``: the code offsets of
    the four columns (i, j+1), (i+1, j-1), (i+1, j), (i+1, j+1), each > 1. Every neighbour
    relation is found once from the cell with the smaller code (the cell above in the same
    column, and the 3 cells k-1..k+1 of the four columns, by a merge walk) and counted on both
    sides. Oracle: ``density.estimate_pairs`` (searchsorted per offset)."""
    m = codes.shape[0]
    total = counts.copy()
    for c in range(m - 1):
        if codes[c + 1] == codes[c] + 1:
            total[c] += counts[c + 1]
            total[c + 1] += counts[c]
    for s in range(steps.shape[0]):
        step = steps[s]
        p = 0
        for c in range(m):
            lo = codes[c] + step - 1
            while p < m and codes[p] < lo:
                p += 1
            q = p
            while q < m and codes[q] <= lo + 2:
                total[c] += counts[q]
                total[q] += counts[c]
                q += 1
    return total


_WARM = threading.Event()


def warm_up() -> None:
    """Compile the kernels, or load them from numba's on-disk cache, once per process (the
    live engine calls this when it is built, so that no cycle pays for it)."""
    if _WARM.is_set():
        return
    codes = np.array([10, 11, 40], dtype=np.int64)
    neighbour_totals(codes, np.ones(3, dtype=np.int64), np.array([29], dtype=np.int64))
    _WARM.set()
