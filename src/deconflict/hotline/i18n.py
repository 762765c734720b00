"""Message catalogues and locale-aware formatting of values (Babel).

Catalogues are the ``.po`` files shipped in ``deconflict/hotline/locale/<lang>/LC_MESSAGES``,
read at run time with :func:`babel.messages.pofile.read_po` and turned into
:class:`babel.support.Translations` in memory, so no compile step is needed and the package works
from an editable or a wheel install. Reading this package data is the only I/O in the hotline
core; each language is read once per process (``lru_cache``). Fuzzy entries are not used.

Formatting: times are UTC, ISO-like and 24 h (``2026-11-26 10:00 UTC``, seconds shown only when
not zero); numbers use the reader's locale (``1,000 ft`` / ``1 000 фт``); nautical miles use the
catalogue's pattern because CLDR's short Russian form is not what aviators write.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Final

from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from babel.units import format_unit

from deconflict.errors import InvalidInputError
from deconflict.hotline.labels import FORMAT_PATTERNS

SUPPORTED_LANGUAGES: Final = ("en", "ru")
"""Languages with a complete catalogue. English is the source language."""

DOMAIN: Final = "deconflict"
"""gettext domain (file name of the catalogues)."""


def check_language(lang: str, *, field: str = "lang") -> str:
    """Return ``lang`` normalised (``"RU"`` -> ``"ru"``) or raise naming ``field``."""
    norm = lang.strip().lower().replace("-", "_").split("_")[0] if lang else ""
    if norm not in SUPPORTED_LANGUAGES:
        raise InvalidInputError(
            field=field,
            reason=f"unsupported language {lang!r}; one of {', '.join(SUPPORTED_LANGUAGES)}",
        )
    return norm


def po_path(lang: str) -> resources.abc.Traversable:
    """The packaged ``.po`` file of ``lang``."""
    return (
        resources.files("deconflict.hotline")
        .joinpath("locale")
        .joinpath(lang)
        .joinpath("LC_MESSAGES")
        .joinpath(f"{DOMAIN}.po")
    )


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES))
def translations(lang: str) -> Translations:
    """gettext translations for ``lang`` (read from the packaged ``.po`` once per process)."""
    lang = check_language(lang)
    with po_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


class Formatter:
    """Translate labels and format values for one reader language."""

    def __init__(self, lang: str) -> None:
        self.lang = check_language(lang)
        self._t = translations(self.lang)

    def gettext(self, message: str) -> str:
        """Translate a message id."""
        return str(self._t.gettext(message))

    def fill(self, pattern: str, **values: str) -> str:
        """Translate ``pattern`` and substitute ``%(name)s`` placeholders."""
        return self.gettext(pattern) % values

    def number(self, value: float, *, pattern: str = "#,##0.##") -> str:
        """A number in the reader's locale."""
        return str(format_decimal(value, format=pattern, locale=self.lang))

    def feet(self, value_ft: float) -> str:
        """Feet, e.g. ``1,000 ft`` / ``1 000 фт``."""
        return str(
            format_unit(value_ft, "length-foot", length="short", format="#,##0", locale=self.lang)
        )

    def megahertz(self, value_mhz: float) -> str:
        """Megahertz, e.g. ``243.5 MHz`` / ``243,5 МГц``."""
        return str(
            format_unit(
                value_mhz,
                "frequency-megahertz",
                length="short",
                format="#,##0.###",
                locale=self.lang,
            )
        )

    def nautical_miles(self, value_nm: float) -> str:
        """Nautical miles, e.g. ``5.5 NM`` / ``5,5 мор. мили``."""
        return self.fill(FORMAT_PATTERNS["nm"], value=self.number(value_nm, pattern="#,##0.##"))

    def time(self, value: datetime) -> str:
        """UTC time, ISO-like, 24 h: ``2026-11-26 10:00 UTC`` (seconds only if not zero)."""
        if value.tzinfo is None:
            raise InvalidInputError(field="time", reason="must be timezone-aware UTC")
        pattern = "yyyy-MM-dd HH:mm:ss 'UTC'" if value.second else "yyyy-MM-dd HH:mm 'UTC'"
        return str(format_datetime(value.astimezone(UTC), pattern, tzinfo=UTC, locale=self.lang))

    def duration(self, value: timedelta) -> str:
        """A duration in words (``5 minutes`` / ``5 минут``)."""
        return str(format_timedelta(value, threshold=2.0, locale=self.lang))

    def latitude(self, lat_deg: float) -> str:
        """``34.5000° N`` / ``34,5000° с. ш.``."""
        key = "lat_n" if lat_deg >= 0 else "lat_s"
        return self.fill(FORMAT_PATTERNS[key], deg=self.number(abs(lat_deg), pattern="0.0000"))

    def longitude(self, lon_deg: float) -> str:
        """``036.2500° E`` / ``036,2500° в. д.``."""
        key = "lon_e" if lon_deg >= 0 else "lon_w"
        return self.fill(FORMAT_PATTERNS[key], deg=self.number(abs(lon_deg), pattern="000.0000"))
