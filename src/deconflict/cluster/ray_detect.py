"""Tile-sharded tactical detection on Ray (the adapter around ``deconflict.tactical.sharded``).

``detect_arrays_ray`` gives exactly ``deconflict.tactical.detect_arrays``'s answer: the snapshot
is cut into geographic tiles with halos (``plan_tiles``), the ``(6, n)`` column matrix is put
once in Ray's object store, every tile runs ``detect_tile`` as a Ray task, and the disjoint
results are merged. Ray does the scheduling and the transfer; there is no scheduler here.

Engine choice (``choose_engine``): ``DECONFLICT_DETECT_ENGINE=ray`` forces Ray, ``=local``
forbids it; unset (``auto``), Ray is used when a cycle has at least ``DECONFLICT_RAY_THRESHOLD``
aircraft (default 500,000, above which the measured 2-worker cycle beats one process, see
docs/tactical.md). When Ray is not yet running, ``ensure_ray`` starts a local instance
(``DECONFLICT_RAY_CPUS`` workers, default all cores) or joins ``DECONFLICT_RAY_ADDRESS``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from deconflict.errors import InvalidInputError
from deconflict.tactical import Conflicts, VerticalMode, detect_arrays, warm_up
from deconflict.tactical.constants import HORIZONTAL_NM, LOOKAHEAD_S, VERTICAL_FT
from deconflict.tactical.sharded import DetectParams, TileJob, detect_sharded, detect_tile
from deconflict.units import FloatArray

Engine = Literal["local", "ray"]
ENGINE_ENV = "DECONFLICT_DETECT_ENGINE"
THRESHOLD_ENV = "DECONFLICT_RAY_THRESHOLD"
DEFAULT_RAY_THRESHOLD = 500_000
TILES_PER_WORKER = 2
"""Tiles per Ray worker CPU: a little over-decomposition evens out unequal tiles."""


def choose_engine(
    n_aircraft: int, env: Mapping[str, str] | None = None, *, requested: str | None = None
) -> Engine:
    """``"ray"`` or ``"local"`` for a cycle of ``n_aircraft`` (see the module docstring).

    ``requested`` (e.g. a CLI option) wins over the environment; ``"auto"`` means the threshold.
    """
    env = os.environ if env is None else env
    choice = (requested or env.get(ENGINE_ENV, "auto")).strip().lower()
    if choice in ("local", "ray"):
        return "ray" if choice == "ray" else "local"
    if choice != "auto":
        raise InvalidInputError(
            field=ENGINE_ENV if requested is None else "engine",
            reason=f"must be one of auto, local, ray, not {choice!r}",
        )
    raw = env.get(THRESHOLD_ENV, str(DEFAULT_RAY_THRESHOLD))
    try:
        threshold = int(raw)
    except ValueError:
        raise InvalidInputError(field=THRESHOLD_ENV, reason=f"not an integer: {raw!r}") from None
    return "ray" if n_aircraft >= threshold else "local"


def ensure_ray(num_cpus: int | None = None) -> None:
    """Start (or join) Ray once per process; a no-op when it is already initialised."""
    try:
        import ray  # Ray (0.4 s to import, an optional extra) only when a cycle runs on it
    except ImportError:
        raise InvalidInputError(
            field="engine",
            reason="the ray engine needs Ray: pip install 'deconflict[ray]' "
            "(or use the local engine, DECONFLICT_DETECT_ENGINE=local)",
        ) from None

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    address = os.environ.get("DECONFLICT_RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
        return
    cpus = num_cpus or int(os.environ.get("DECONFLICT_RAY_CPUS", "0")) or os.cpu_count() or 1
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)


def _tile_task(columns: FloatArray, job: TileJob, params: DetectParams) -> Conflicts:
    """What a Ray worker runs for one tile."""
    warm_up()  # loads the compiled kernel from numba's cache (once per worker process)
    return detect_tile(columns, job, params)


@functools.cache
def _remote_tile_task() -> Any:
    import ray

    return ray.remote(_tile_task)


def ray_mapper(
    columns: FloatArray, jobs: Sequence[TileJob], params: DetectParams
) -> list[Conflicts]:
    """Run every tile as a Ray task (columns shared through the object store)."""
    import ray

    ref = ray.put(columns)
    task = _remote_tile_task()
    results: list[Conflicts] = ray.get([task.remote(ref, job, params) for job in jobs])
    return results


def worker_cpus() -> int:
    """CPUs Ray can schedule tasks on (1 when unknown)."""
    import ray

    resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return max(1, int(resources.get("CPU", 1)))


def detect_arrays_ray(
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    alt_ft: npt.ArrayLike,
    gs_kt: npt.ArrayLike,
    track_deg: npt.ArrayLike,
    vs_fpm: npt.ArrayLike,
    *,
    n_tiles: int | None = None,
    horizontal_nm: float = HORIZONTAL_NM,
    vertical_ft: float = VERTICAL_FT,
    lookahead_s: float = LOOKAHEAD_S,
    vertical_mode: VerticalMode | str = VerticalMode.STRICT,
) -> Conflicts:
    """``detect_arrays`` on Ray: same arguments, exactly the same result.

    ``n_tiles`` defaults to ``TILES_PER_WORKER`` times the cluster's CPUs.
    """
    ensure_ray()
    tiles = n_tiles if n_tiles is not None else TILES_PER_WORKER * worker_cpus()
    return detect_sharded(
        lat_deg,
        lon_deg,
        alt_ft,
        gs_kt,
        track_deg,
        vs_fpm,
        n_tiles=tiles,
        mapper=ray_mapper,
        horizontal_nm=horizontal_nm,
        vertical_ft=vertical_ft,
        lookahead_s=lookahead_s,
        vertical_mode=vertical_mode,
    )


def detect_cycle(
    lat_deg: FloatArray,
    lon_deg: FloatArray,
    alt_ft: FloatArray,
    gs_kt: FloatArray,
    track_deg: FloatArray,
    vs_fpm: FloatArray,
    **kw: Any,
) -> Conflicts:
    """One live cycle: ``detect_arrays`` or ``detect_arrays_ray`` as ``choose_engine`` says."""
    engine = choose_engine(int(np.shape(lat_deg)[0]))
    kernel = detect_arrays_ray if engine == "ray" else detect_arrays
    return kernel(lat_deg, lon_deg, alt_ft, gs_kt, track_deg, vs_fpm, **kw)
