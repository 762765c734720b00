"""Bundled example data: small, realistic inputs for demos, docs and tests.

``python -m deconflict.examples levant_snapshot`` prints the path of an example file, so a shell
can run ``deconflict detect "$(python -m deconflict.examples levant_snapshot)"``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

__all__ = ["EXAMPLES", "example_path", "levant_snapshot_path"]

EXAMPLES: Final = {"levant_snapshot": "levant_snapshot.csv"}
"""Example name -> file name inside this package."""


def example_path(name: str) -> Path:
    """Filesystem path of the bundled example ``name`` (a key of :data:`EXAMPLES`).

    Raises
    ------
    KeyError
        ``name`` is not a bundled example.
    FileNotFoundError
        The package is not installed as plain files (for example, imported from a zip).
    """
    resource = files(__package__ or "deconflict.examples").joinpath(EXAMPLES[name])
    path = Path(str(resource))
    if not path.is_file():
        raise FileNotFoundError(f"example {name!r} is not available as a file: {resource}")
    return path


def levant_snapshot_path() -> Path:
    """Path of ``levant_snapshot.csv``: one snapshot of 30 aircraft over the eastern Mediterranean.

    Columns ``id, party, lat, lon, alt_ft, gs_kt, track_deg, vs_fpm`` (deg, ft, kt, ft/min).
    Built by ``deconflict.examples._build_levant`` (see its docstring for the six designed pairs:
    a crossing, a head-on, a vertical-only closure, two adjacent-level pairs that alert only in
    strict mode and one pair exactly 1,000 ft apart that never alerts).
    """
    return example_path("levant_snapshot")
