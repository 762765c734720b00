"""The text guard of :mod:`deconflict.web.hardening`: its bytes prefilter never misses a string
no database stores, whatever JSON document and encoding (the oracle is the slow walk over the
parsed document, itself checked against a NUL / surrogate injected at a known path)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.web.hardening import _suspect_field, bad_text_field

TEXT = st.text(max_size=8)  # any code point, lone surrogates and NUL included
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)
CLEAN_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8
)


def _encodings(document: Any) -> list[bytes]:
    out = [json.dumps(document).encode()]  # ASCII: every NUL / surrogate as an escape
    with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate cannot travel as UTF-8
        out.append(json.dumps(document, ensure_ascii=False).encode())
    return out


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_the_prefilter_never_misses_what_the_walk_finds(document: Any) -> None:
    expected = bad_text_field(document)
    for body in _encodings(document):
        assert _suspect_field(body) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.dictionaries(CLEAN_TEXT, CLEAN_TEXT, max_size=3), min_size=1, max_size=4),
    st.data(),
    st.sampled_from(["\x00", "\ud800", "\udfff", "A\x00B"]),
)
def test_the_walk_names_the_injected_string(
    rows: list[dict[str, str]], data: st.DataObject, bad: str
) -> None:
    assert bad_text_field({"rows": rows}) is None
    k = data.draw(st.integers(0, len(rows) - 1))
    rows[k]["poison"] = bad
    assert bad_text_field({"rows": rows}) == f"rows[{k}].poison"
    assert _suspect_field(json.dumps({"rows": rows}).encode()) == f"rows[{k}].poison"


def test_paired_surrogates_and_escaped_backslashes_are_ordinary_text() -> None:
    for text in ("\U0001f6e9 jet", "\\u0000 written out", "\\ud800 too"):
        body = json.dumps({"title": text}).encode()
        assert _suspect_field(body) is None
    assert bad_text_field({"k\x00": 1}) == "k\\u0000"  # echoed escaped
    assert _suspect_field(b'{"broken": "\\u0000') is None  # not JSON: the route answers
