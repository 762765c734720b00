"""Geodesy on WGS84: footprints, exact core distances, overlap drawing and broad-phase boxes.

Pure package: no I/O, no clock. See :mod:`deconflict.geo.core` for the accuracy argument.
"""

from deconflict.geo.core import Core, core_distance_m, point_segment_distance_m
from deconflict.geo.ellipsoid import GEOD, CentralPlane
from deconflict.geo.footprints import (
    CircleFootprint,
    CorridorFootprint,
    Footprint,
    OrbitFootprint,
    PolygonFootprint,
    footprint_from_json,
)

__all__ = [
    "GEOD",
    "CentralPlane",
    "CircleFootprint",
    "Core",
    "CorridorFootprint",
    "Footprint",
    "OrbitFootprint",
    "PolygonFootprint",
    "core_distance_m",
    "footprint_from_json",
    "point_segment_distance_m",
]
