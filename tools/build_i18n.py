"""Keep the dashboard's gettext catalogues in sync with the strings the page uses.

The dashboard's strings live in Babel/gettext catalogues
(``src/deconflict/web/static/i18n/locale/<lang>/LC_MESSAGES/ui.po``, English message ids), next
to the hotline's (``src/deconflict/hotline/locale``); the server compiles both into one JSON per
language at run time (``GET /i18n/<lang>.json``, :mod:`deconflict.web.routes.i18n`).

``python tools/build_i18n.py --update`` extracts every literal message id from the JavaScript
(``t('...')``, ``N_('...')``) and the page (``data-i18n*`` attributes), adds new ids to both
catalogues (keeping existing translations) and drops ids no longer used; then translate the new
Russian entries. ``tests/e2e/test_i18n_catalogue.py`` fails while any used id is missing or
untranslated.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from deconflict.hotline.i18n import SUPPORTED_LANGUAGES
from deconflict.web.routes.i18n import ui_messages, ui_po

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "src" / "deconflict" / "web" / "static"
#: ``t('...')`` / ``N_('...')`` calls with a literal message id (single, double or back quotes
#: without interpolation).
_JS_CALL = re.compile(r"""\b(?:t|N_)\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|`([^`$]*)`)""")
#: ``data-i18n="..."`` and its -title / -placeholder / -aria-label variants in the page.
_HTML_ATTR = re.compile(r'data-i18n(?:-title|-placeholder|-aria-label)?="([^"]*)"')


def _unescape_js(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def extract_keys() -> dict[str, list[str]]:
    """Every message id the dashboard uses literally -> the files using it."""
    found: dict[str, list[str]] = {}
    for path in sorted((STATIC / "js").glob("*.js")):
        for match in _JS_CALL.finditer(path.read_text(encoding="utf-8")):
            key = _unescape_js(next(g for g in match.groups() if g is not None))
            found.setdefault(key, []).append(path.name)
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    for match in _HTML_ATTR.finditer(page):
        found.setdefault(html.unescape(match.group(1)), []).append("index.html")
    return found


def update_po() -> list[str]:
    """Sync both UI catalogues with :func:`extract_keys`; return the ids Russian still lacks."""
    keys = extract_keys()
    todo: list[str] = []
    for lang in SUPPORTED_LANGUAGES:
        old = ui_messages(lang) if ui_po(lang).is_file() else {}
        catalog = Catalog(locale=lang, project="deconflict dashboard", domain="ui")
        for key in sorted(keys):
            text = "" if lang == "en" else old.get(key, "")
            if lang != "en" and not text:
                todo.append(key)
            catalog.add(key, text, locations=[(f, 0) for f in sorted(set(keys[key]))])
        ui_po(lang).parent.mkdir(parents=True, exist_ok=True)
        with ui_po(lang).open("wb") as handle:
            write_po(handle, catalog, width=100, include_lineno=False)
    return todo


def main(argv: list[str] | None = None) -> int:
    """``--update``: sync the catalogues and list untranslated ids; else only list them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="sync the .po files with the JS")
    args = parser.parse_args(argv)
    if args.update:
        todo = update_po()
    else:
        used = extract_keys()
        ru = ui_messages("ru")
        todo = sorted(k for k in used if k not in ru)
    for key in todo:
        sys.stdout.write(f"untranslated (ru): {key}\n")
    return 1 if todo else 0


if __name__ == "__main__":
    sys.exit(main())
