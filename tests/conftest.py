"""Shared pytest configuration: paths to the shared real-traffic data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_data_dir() -> Path:
    env = os.environ.get("DECONFLICT_SHARED_DATA")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real air-traffic recordings (``../shared/data`` beside the repository)."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.fail(f"shared data not found at {path}; set DECONFLICT_SHARED_DATA")
    return path
