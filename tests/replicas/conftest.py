"""Replica tests read event streams with the live tests' kit (tests/live/live_testkit.py)."""

from __future__ import annotations

import sys
from pathlib import Path

_LIVE = Path(__file__).resolve().parent.parent / "live"
if str(_LIVE) not in sys.path:
    sys.path.insert(0, str(_LIVE))
