"""PSI (against plain set intersection), padding, sealed messages, and the soundness of reveal
(the exact overlap of the revealed parts equals the open-mode overlap)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
import numpy as np
import pytest
import shapely
from hypothesis import event, given, settings
from hypothesis import strategies as st
from test_private_cells import LATS, LONS, volumes

from deconflict.errors import InvalidInputError
from deconflict.geo.ellipsoid import CentralPlane, lonlat_to_unit
from deconflict.geo.overlap import buffered_planar
from deconflict.private import group, psi
from deconflict.private.cells import Cells, Grid, discretise
from deconflict.private.protocol import IntegrityError, PartyKeys, PublicKeys, seal, unseal
from deconflict.private.reveal import clip_to_slots, exact_overlaps, reveal_part, verdict_digest
from deconflict.strategic import AltitudeBand, AltitudeReference, Buffers, Volume4D, check_pair
from geodesy_builders import circle, offset

GRID = Grid(resolution=6, slot_s=600, layer_ft=2000)


def _planar(geometry: dict[str, Any], lon: float, lat: float) -> Any:
    """A GeoJSON geometry in the central plane at (lon, lat), metres."""
    plane = CentralPlane(lonlat_to_unit(np.array([lon]), np.array([lat]))[0])
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    if geometry["type"] == "Point":
        c = np.array([geometry["coordinates"]])
        return shapely.points(plane.to_plane(lonlat_to_unit(c[:, 0], c[:, 1]))[0])
    out = []
    for rings in polys:
        xy = [plane.to_plane(lonlat_to_unit(np.array(r)[:, 0], np.array(r)[:, 1])) for r in rings]
        out.append(shapely.polygons(xy[0], holes=xy[1:] or None))
    return shapely.union_all(out)


def _cells(keys: list[tuple[int, int, int]]) -> Cells:
    arr = np.array(keys, dtype=np.int64).reshape(-1, 3)
    return Cells.union([Cells(arr[:, 0].astype(np.uint64), arr[:, 1].astype(np.int64), arr[:, 2])])


def _elements(blob: bytes) -> list[bytes]:
    return [blob[k : k + 32] for k in range(0, len(blob), 32)]


@settings(max_examples=4, deadline=None)  # each example blinds 4 padded sets of 1024
@given(
    st.sets(st.tuples(st.integers(0, 20), st.integers(0, 3), st.integers(0, 2)), max_size=40),
    st.sets(st.tuples(st.integers(0, 20), st.integers(0, 3), st.integers(0, 2)), max_size=40),
)
def test_psi_equals_plain_intersection(
    xs: set[tuple[int, int, int]], ys: set[tuple[int, int, int]]
) -> None:
    cx, cy = _cells(sorted(xs)), _cells(sorted(ys))
    a, b = psi.new_secret(), psi.new_secret()
    # A blinds and pads; B blinds and pads; each answers the other's set
    va, origin_a = psi.pad_and_sort(psi.blind(a, psi.hash_cells("ag-1", GRID, cx)))
    vb, _ = psi.pad_and_sort(psi.blind(b, psi.hash_cells("ag-1", GRID, cy)))
    assert psi.count(va) == psi.bucket_size(len(cx)) and _elements(va) == sorted(_elements(va))
    assert sorted(origin_a[origin_a >= 0].tolist()) == list(range(len(cx)))
    answer_to_a = psi.blind(b, va)
    b_double = psi.blind(a, vb)
    hits = origin_a[psi.matches(answer_to_a, b_double)]
    assert (hits >= 0).all()  # dummies never match
    found = {cx.keys()[h] for h in hits}
    assert found == xs & ys
    # another agreement (domain separation): nothing matches
    other = psi.blind(a, psi.blind(b, psi.hash_cells("ag-2", GRID, cy)))
    mine = psi.blind(b, psi.blind(a, psi.hash_cells("ag-1", GRID, cx)))
    assert not set(_elements(mine)) & set(_elements(other))


@settings(max_examples=10, deadline=None)
@given(st.binary(min_size=64, max_size=64), st.integers(1, 6))
def test_blinding_commutes_in_ristretto255(seed: bytes, n: int) -> None:
    """[a][b]P == [b][a]P == [ab mod L]P for random scalars and hash-derived points; blinding
    is a bijection (distinct inputs stay distinct) and the result is a valid group element."""
    points = group.from_hash(hashlib.sha512(seed).digest()) + group.random_points(n - 1)
    a, b = psi.new_secret(), psi.new_secret()
    ab = psi.blind(a, psi.blind(b, points))
    assert ab == psi.blind(b, psi.blind(a, points))
    assert ab == psi.blind(_scalar_mul(a, b), points)
    assert len(set(_elements(ab))) == n and all(group.is_valid_point(p) for p in _elements(ab))
    assert psi.blind(a, points) != psi.blind(b, points)


_L = 2**252 + 27742317777372353535851937790883648493


def _scalar_mul(a: bytes, b: bytes) -> bytes:
    """The slow obvious reference: integer product modulo the group order."""
    product = int.from_bytes(a, "little") * int.from_bytes(b, "little") % _L
    return product.to_bytes(32, "little")


def test_hash_to_group_is_deterministic_and_domain_separated() -> None:
    cells = _cells([(1, 2, 3), (4, 5, 6), (2**40, 7, 1)])
    h = psi.hash_cells("ag-1", GRID, cells)
    assert h == psi.hash_cells("ag-1", GRID, cells)  # deterministic
    assert psi.count(h) == 3 and len(set(_elements(h))) == 3
    assert all(group.is_valid_point(p) for p in _elements(h))
    # reference: SHA-512 of the documented encoding, one cell at a time, mapped to the group
    record = cells.records()[1].tobytes()
    digest = hashlib.sha512(psi.hash_prefix("ag-1", GRID) + record).digest()
    assert _elements(h)[1] == group.from_hash(digest)
    assert psi.hash_prefix("ag-1", GRID).startswith(b"deconflict/private/psi/cell/v2/ristretto255")
    # every context field separates: agreement, each grid parameter
    others = [
        psi.hash_cells("ag-2", GRID, cells),
        psi.hash_cells("ag-1", Grid(7, GRID.slot_s, GRID.layer_ft), cells),
        psi.hash_cells("ag-1", Grid(GRID.resolution, 900, GRID.layer_ft), cells),
        psi.hash_cells("ag-1", Grid(GRID.resolution, GRID.slot_s, 1000), cells),
    ]
    for o in others:
        assert not set(_elements(o)) & set(_elements(h))
    # the length prefix keeps ("ab", grid) apart from ("a", ...)-style concatenations
    assert psi.hash_prefix("ab", GRID) != psi.hash_prefix("a", GRID)[:-9] + b"b" + b"\x00" * 9


def test_padding_buckets_and_limits() -> None:
    sizes = [psi.bucket_size(n) for n in (0, 1, 1024, 1025, 5000, 100_000, psi.MAX_SET)]
    assert sizes[:3] == [1024, 1024, 1024]
    for n, size in zip((1025, 5000, 100_000), sizes[3:6], strict=True):
        assert n <= size <= int(n * 2**0.5) + 2
    assert sizes[-1] == psi.MAX_SET
    with pytest.raises(InvalidInputError, match="limit"):
        psi.bucket_size(psi.MAX_SET + 1)
    with pytest.raises(InvalidInputError, match="multiple of 32"):
        psi.count(b"x" * 33)


def test_invalid_elements_are_refused_with_their_index() -> None:
    good = group.random_points(2)
    p = 2**255 - 19
    non_canonical = (p + 1).to_bytes(32, "little")  # field element >= p
    negative = (3).to_bytes(32, "little")  # odd ("negative") s is not a canonical encoding
    for bad in (bytes(32), (1).to_bytes(32, "little"), non_canonical, negative, b"\xff" * 32):
        assert not group.is_valid_point(bad)
        with pytest.raises(InvalidInputError, match=r"counterpart set\[2\]"):
            psi.blind(psi.new_secret(), good + bad, field="counterpart set")
    with pytest.raises(InvalidInputError, match="multiple of 32"):
        psi.blind(psi.new_secret(), good + b"short")


def test_retired_protocol_is_refused_with_a_clear_error() -> None:
    psi.check_protocol(psi.PROTOCOL)
    with pytest.raises(psi.ProtocolVersionError, match=r"psi-x25519/1.*retired.*push again"):
        psi.check_protocol(None)
    with pytest.raises(psi.ProtocolVersionError, match="unknown protocol"):
        psi.check_protocol("psi-p256/9")
    blob = psi.random_points(4)
    d = psi.set_digest("ag", "p", 1, blob)
    assert psi.stored_protocol("ag", "p", 1, blob, d) == psi.PROTOCOL
    assert psi.stored_protocol("ag", "p", 1, blob, "0" * 64) == "unknown"


def test_digest_binds_agreement_party_epoch_and_values() -> None:
    blob = psi.random_points(4)
    d = psi.set_digest("ag", "p", 1, blob)
    assert d != psi.set_digest("ag", "p", 2, blob)
    assert d != psi.set_digest("ag2", "p", 1, blob)
    assert d != psi.set_digest("ag", "q", 1, blob)
    assert d != psi.set_digest("ag", "p", 1, blob[:-1] + bytes([blob[-1] ^ 1]))


def test_sealed_messages_only_open_for_the_recipient_from_the_sender() -> None:
    alice, bob, eve = PartyKeys.generate(), PartyKeys.generate(), PartyKeys.generate()
    pub = {
        k: PublicKeys.from_json(v.public_json()) for k, v in (("a", alice), ("b", bob), ("e", eve))
    }
    blob = seal(alice, pub["b"], {"kind": "answer", "n": 1}, b"payload")
    assert unseal(bob, pub["a"], blob) == ({"kind": "answer", "n": 1}, b"payload")
    with pytest.raises(IntegrityError):
        unseal(eve, pub["a"], blob)  # not for eve
    with pytest.raises(IntegrityError):
        unseal(bob, pub["e"], blob)  # not from eve
    forged = seal(eve, pub["b"], {"kind": "answer", "n": 1}, b"payload")
    with pytest.raises(IntegrityError):
        unseal(bob, pub["a"], forged)  # eve cannot speak for alice


@settings(max_examples=30, deadline=None)
@given(st.data(), LONS, LATS, st.floats(0.0, 360.0), st.floats(0.5, 1.0))
def test_reveal_overlap_equals_open_mode(
    data: st.DataObject, lon: float, lat: float, az: float, frac: float
) -> None:
    a = data.draw(volumes(lon, lat))
    radius = data.draw(st.floats(500.0, 6_000.0))
    centre = offset(lon, lat, az, (a.buffered_width_m + radius) * frac)
    b0 = data.draw(volumes(*centre))
    b = Volume4D(circle(*centre, radius), b0.altitude, b0.start, b0.end, b0.buffers, "b")
    event(_check_reveal_equals_open_mode(a, b, lon, lat))


def test_windows_touching_at_a_slot_boundary_reveal_the_instant_only() -> None:
    """Found by CI (hypothesis): A flies 10:07-11:10, B 11:10-11:17, footprints overlapping;
    11:10 is a slot boundary, so A's only common slot starts where A ends. A's revealed part
    was stretched 1 us past its own end (11:10:00.000001) and the private verdict's window
    ended 1 us later than open mode's; it now stays inside A's window."""
    t0 = datetime(2026, 11, 26, 10, 7, tzinfo=UTC)
    band = AltitudeBand(0.0, 0.0, AltitudeReference.FT_AMSL)
    a = Volume4D(circle(0.0, 0.0, 100.0), band, t0, t0 + timedelta(minutes=63), Buffers(), "a")
    b = Volume4D(
        circle(0.0, 0.005426216862139391, 500.0),
        band,
        t0 + timedelta(minutes=63),
        t0 + timedelta(minutes=70),
        Buffers(),
        "b",
    )
    assert _check_reveal_equals_open_mode(a, b, 0.0, 0.0) == "conflict revealed"


def _check_reveal_equals_open_mode(a: Volume4D, b: Volume4D, lon: float, lat: float) -> str:
    """Reveal both volumes' parts in their common cells and check the exact verdict against
    open mode's; returns what happened (a hypothesis event label)."""
    open_mode = check_pair(a, b)
    ca, cb = discretise(a, GRID), discretise(b, GRID)
    common = set(ca.keys()) & set(cb.keys())
    if open_mode is None and not common:
        return "no common cell"
    if not common:
        raise AssertionError("a conflict without a shared cell")
    part_a = reveal_part(a, GRID, common)
    part_b = reveal_part(b, GRID, common)
    assert part_a.footprint.to_json()["type"] in ("polygon", "multipolygon")  # clipped
    got = exact_overlaps([("a", part_a)], [("b", part_b)])
    if open_mode is None:
        assert got == []
        return "false positive cell, resolved by reveal"
    assert len(got) == 1
    want = open_mode.to_json()
    for k in ("start", "end", "alt_lower_ft", "alt_upper_ft", "alt_reference", "approximate"):
        assert got[0]["overlap"][k] == want[k], k
    # the revealed overlap contains the open-mode one and lies within a few metres of both
    # open-mode footprints. (Not "within a few metres of the open-mode overlap": each clipped
    # footprint is drawn OUTLINE_MARGIN_M outside the true one, so two footprints that just touch
    # overlap in a thin lens ~sqrt(8 R margin) long, tens of metres, around the touching point.)
    g, w = _planar(got[0]["overlap"]["geometry"], lon, lat), _planar(want["geometry"], lon, lat)
    assert g.buffer(4.0).covers(w)
    plane = CentralPlane(lonlat_to_unit(np.array([lon]), np.array([lat]))[0])
    for v in (a, b):
        near = buffered_planar(v.footprint.core, v.buffered_width_m + 4.0, plane)
        assert near.covers(g), v.id
    # both sides compute the same digest
    mirrored = exact_overlaps([("b", part_b)], [("a", part_a)])
    assert verdict_digest(got, own_first=True) == verdict_digest(mirrored, own_first=False)
    return "conflict revealed"


def test_clip_keeps_window_inside_the_span() -> None:
    v = Volume4D(
        circle(2.0, 44.0, 1_000.0),
        discretise.__globals__["Volume4D"]
        .from_json(  # the same class, parsed band
            {
                "footprint": {"type": "circle", "center": [2, 44], "radius_m": 1000},
                "altitude": {"lower": 0, "upper": 1000, "reference": "ft_amsl"},
                "start": "2026-11-26T10:00:00Z",
                "end": "2026-11-26T12:00:00Z",
            }
        )
        .altitude,
        __import__("datetime").datetime(2026, 11, 26, 10, tzinfo=__import__("datetime").UTC),
        __import__("datetime").datetime(2026, 11, 26, 12, tzinfo=__import__("datetime").UTC),
        Buffers(before_min=30.0, after_min=30.0),
    )
    slot = int(v.start.timestamp()) // GRID.slot_s + 3  # 10:30-10:40
    part = clip_to_slots(v, GRID, [slot])
    assert part.buffered_start.isoformat().startswith("2026-11-26T10:30")
    assert part.buffered_end.isoformat().startswith("2026-11-26T10:40")
    early = clip_to_slots(v, GRID, [int(v.buffered_start.timestamp()) // GRID.slot_s])
    assert early.buffered_start == v.buffered_start and early.start < early.end


def test_reveal_shows_only_the_intersecting_cells_of_a_large_volume() -> None:
    area = Volume4D.from_json(
        {
            "footprint": {"type": "circle", "center": [2.0, 44.0], "radius_nm": 15},
            "altitude": {"lower": 0, "upper": 5000, "reference": "ft_amsl"},
            "start": "2026-11-26T10:00:00Z",
            "end": "2026-11-26T13:00:00Z",
            "buffers": {"lateral_nm": 1, "before_min": 15},
        }
    )
    grid = Grid(resolution=6, slot_s=600, layer_ft=2000)
    cells = discretise(area, grid).keys()
    centre = h3.str_to_int(h3.latlng_to_cell(44.0, 2.0, 6))
    mine = [k for k in cells if k[0] == centre and k[1] == cells[0][1] + 3]
    part = reveal_part(area, grid, mine)
    hexagon_m2 = h3.cell_area(h3.int_to_str(centre), "m^2")
    full = _planar({"type": "Point", "coordinates": [2.0, 44.0]}, 2.0, 44.0).buffer(
        area.buffered_width_m
    )
    shown = _planar(part.footprint.to_json() | {"type": "Polygon"}, 2.0, 44.0)
    assert shown.area <= 1.2 * hexagon_m2 < 0.05 * full.area
    assert part.buffered_end - part.buffered_start == timedelta(minutes=10)
    assert part.buffers.lateral_nm == 0.0


def test_threaded_group_operations_equal_the_single_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(group, "MIN_CHUNK", 4)
    points = group.random_points(37, workers=3)
    s = psi.new_secret()
    assert psi.blind(s, points, workers=3) == psi.blind(s, points)
    hashes = bytes(range(64)) * 37
    assert group.from_hash(hashes, workers=4) == group.from_hash(hashes)
    bad = points[: 32 * 30] + bytes(32) + points[32 * 31 :]
    with pytest.raises(InvalidInputError, match=r"set\[30\]"):
        psi.blind(s, bad, field="set", workers=3)
