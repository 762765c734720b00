"""``GET /i18n/<lang>.json``: the dashboard's message catalogue for one language.

One catalogue mechanism for server and browser: the dashboard's own strings are gettext
catalogues (``static/i18n/locale/<lang>/LC_MESSAGES/ui.po``, English message ids, kept in sync
with the JavaScript by ``python tools/build_i18n.py --update``) read with Babel like the hotline's
(:mod:`deconflict.hotline.i18n`); this route compiles both into one JSON object per language
(``messages``: msgid -> text; ``hotline``: template titles, field labels, enumerated values,
header labels and formatting patterns, translated), so the browser renders hotline messages with
exactly the server's translations. Built once per process and language, never out of date with
the ``.po`` files. No authentication: the sign-in page needs it and it holds no party data.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from babel.messages.pofile import read_po
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from deconflict.hotline import labels
from deconflict.hotline.i18n import check_language, translations

router = APIRouter(tags=["dashboard"])

UI_LOCALE: Final = Path(__file__).resolve().parent.parent / "static" / "i18n" / "locale"
"""Directory of the dashboard's gettext catalogues (``<lang>/LC_MESSAGES/ui.po``)."""


def ui_po(lang: str) -> Path:
    """The dashboard catalogue of ``lang``."""
    return UI_LOCALE / lang / "LC_MESSAGES" / "ui.po"


def ui_messages(lang: str) -> dict[str, str]:
    """msgid -> text of the dashboard catalogue (English: the msgid when msgstr is empty).

    Untranslated (empty) and fuzzy entries are left out, so the browser shows the English id
    and the catalogue test names them.
    """
    with ui_po(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    out: dict[str, str] = {}
    for message in catalog:
        if not isinstance(message.id, str) or not message.id or message.fuzzy:
            continue
        text = message.string if isinstance(message.string, str) else ""
        if text or lang == "en":
            out[message.id] = text or message.id
    return out


@lru_cache(maxsize=4)
def catalogue(lang: str) -> dict[str, Any]:
    """The browser's catalogue of ``lang`` (``en``, ``ru``), built once per process."""
    lang = check_language(lang)
    tr = translations(lang)

    def g(msgid: str) -> str:
        return str(tr.gettext(msgid))

    return {
        "lang": lang,
        "messages": dict(sorted(ui_messages(lang).items())),
        "hotline": {
            "templates": {k: g(v) for k, v in labels.TEMPLATE_TITLES.items()},
            "fields": {k: g(v) for k, v in labels.FIELD_LABELS.items()},
            "values": {k: g(v) for k, v in labels.VALUE_LABELS.items()},
            "headers": {k: g(v) for k, v in labels.HEADER_LABELS.items()},
            "formats": {k: g(v) for k, v in labels.FORMAT_PATTERNS.items()},
        },
    }


@router.get("/i18n/{lang}.json", include_in_schema=False)
def get_catalogue(lang: str) -> JSONResponse:
    """The dashboard catalogue of ``lang`` (422 problem+json naming ``lang`` if unsupported)."""
    return JSONResponse(
        catalogue(check_language(lang, field="path.lang")), headers={"Cache-Control": "no-cache"}
    )
