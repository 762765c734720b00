"""The dashboard's catalogues cover every string the page uses, in English and Russian.

* Every message id used by the JavaScript (``t('...')``, ``N_('...')``) or the page
  (``data-i18n*`` attributes) is in both UI catalogues, and the Russian one translates it (not
  fuzzy, not empty) with exactly the same ``%(name)s`` placeholders.
* The catalogues hold no id the page no longer uses.
* The JSON the browser loads (``GET /i18n/<lang>.json``) carries every used id and the hotline's
  labels, translated; an unsupported language is a 422 naming the field.
No browser needed (the DOM scan in Russian is tests/e2e/test_dashboard_i18n_e2e.py).
"""

from __future__ import annotations

import re
import sys

import pytest
from babel.messages.pofile import read_po
from dashboard_browser import REPO
from fastapi import FastAPI
from fastapi.testclient import TestClient

from deconflict.web import problems
from deconflict.web.routes import i18n

sys.path.insert(0, str(REPO / "tools"))
import build_i18n

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def used() -> dict[str, list[str]]:
    keys = build_i18n.extract_keys()
    assert len(keys) > 150  # the extraction found the page's strings
    return keys


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_used_key_is_in_the_catalogue(used: dict[str, list[str]], lang: str) -> None:
    with build_i18n.ui_po(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    entries = {m.id: m for m in catalog if m.id}
    missing = sorted(k for k in used if k not in entries)
    assert not missing, f"{lang}: not in the catalogue: {missing}"
    unused = sorted(k for k in entries if k not in used)
    assert not unused, f"{lang}: no longer used: {unused}"
    if lang == "ru":
        untranslated = sorted(k for k in used if not entries[k].string or entries[k].fuzzy)
        assert not untranslated, f"untranslated: {untranslated}"
        for key in used:
            got = set(PLACEHOLDER.findall(entries[key].string))
            assert set(PLACEHOLDER.findall(key)) == got, key


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_served_catalogue_has_every_used_key(used: dict[str, list[str]], lang: str) -> None:
    app = FastAPI()
    problems.install(app)  # the broker's problem+json handlers
    app.include_router(i18n.router)
    with TestClient(app) as client:
        r = client.get(f"/i18n/{lang}.json")
        assert r.status_code == 200
        data = r.json()
        bad = client.get("/i18n/xx.json")
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "path.lang"
    assert data["lang"] == lang
    assert set(used) <= set(data["messages"]), sorted(set(used) - set(data["messages"]))
    for group in ("templates", "fields", "values", "headers", "formats"):
        assert data["hotline"][group], group
    if lang == "ru":
        assert data["hotline"]["templates"]["query"] != "Query"
        assert data["hotline"]["formats"]["nm"] == "%(value)s мор. миль"


def test_russian_differs_where_it_must(used: dict[str, list[str]]) -> None:
    ru = i18n.catalogue("ru")
    # Words (not only placeholders, symbols or proper names) must be in Cyrillic in Russian.
    latin_only = [
        k
        for k in used
        if re.search(r"[A-Za-z]{3,}", PLACEHOLDER.sub("", k))
        and not re.search(r"[А-Яа-яЁё]", ru["messages"].get(k, ""))
    ]
    allowed = {"WebCrypto Ed25519"}
    assert set(latin_only) <= allowed, sorted(set(latin_only) - allowed)
