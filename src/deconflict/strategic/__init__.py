"""Strategic deconfliction: 4D activity volumes, notices and exact plan-vs-plan conflicts.

Public surface (see ``docs/strategic.md``)::

    from deconflict.strategic import Volume4D, VolumeIndex, find_conflicts
    index = VolumeIndex()
    index.add("b1", "blue", Volume4D.from_json(blue_volume_json))
    for conflict in find_conflicts([("r1", "red", Volume4D.from_json(red_json))], index):
        print(conflict.to_json())   # {"a", "b", "parties", "overlap": {...}}

Pure core: no I/O, no clock (``now`` is passed in).
"""

from deconflict.geo.footprints import (
    CircleFootprint,
    CorridorFootprint,
    Footprint,
    OrbitFootprint,
    PolygonFootprint,
    footprint_from_json,
)
from deconflict.strategic.altitude import (
    FL_AMSL_UNCERTAINTY_FT,
    W84_AMSL_UNCERTAINTY_FT,
    AltitudeBand,
    AltitudeReference,
)
from deconflict.strategic.conflicts import (
    TOUCH_TOLERANCE_M,
    Margins,
    Overlap,
    VolumeConflict,
    check_pair,
)
from deconflict.strategic.engine import (
    brute_force_conflicts,
    find_all_conflicts,
    find_conflicts,
)
from deconflict.strategic.index import VolumeIndex
from deconflict.strategic.lines import (
    AgreedLine,
    LineConflict,
    NoticeZone,
    ZoneRequirement,
    agreed_line_from_json,
    line_conflicts,
    zone_requirements,
)
from deconflict.strategic.notice import (
    ALLOWED_TRANSITIONS,
    ActivityCategory,
    Notice,
    NoticeState,
)
from deconflict.strategic.policy import (
    AdvisoryPolicy,
    F3548Policy,
    PriorityPolicy,
    policy_by_name,
)
from deconflict.strategic.volume import Buffers, Volume4D, format_utc, parse_utc

__all__ = [
    "ALLOWED_TRANSITIONS",
    "FL_AMSL_UNCERTAINTY_FT",
    "TOUCH_TOLERANCE_M",
    "W84_AMSL_UNCERTAINTY_FT",
    "ActivityCategory",
    "AdvisoryPolicy",
    "AgreedLine",
    "AltitudeBand",
    "AltitudeReference",
    "Buffers",
    "CircleFootprint",
    "CorridorFootprint",
    "F3548Policy",
    "Footprint",
    "LineConflict",
    "Margins",
    "Notice",
    "NoticeState",
    "NoticeZone",
    "OrbitFootprint",
    "Overlap",
    "PolygonFootprint",
    "PriorityPolicy",
    "Volume4D",
    "VolumeConflict",
    "VolumeIndex",
    "ZoneRequirement",
    "agreed_line_from_json",
    "brute_force_conflicts",
    "check_pair",
    "find_all_conflicts",
    "find_conflicts",
    "footprint_from_json",
    "format_utc",
    "line_conflicts",
    "parse_utc",
    "policy_by_name",
    "zone_requirements",
]
