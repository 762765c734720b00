"""The duty officer's dashboard: ``GET /`` (the page) and ``GET /static/<path>`` (its files).

Everything is served from the package (``deconflict/web/static``), never a CDN or tile server; the
third-party files (Leaflet, topojson-client, Natural Earth world-atlas) are copied into
``static/vendor/`` by ``make assets``. The page itself needs no authentication: it holds no data and
asks for a party key, then calls the API with it.

MIME types are set explicitly (ES modules must be ``text/javascript``; ``mimetypes`` varies by
platform). ``index.html`` and our own modules are revalidated on every load (``no-cache`` + ETag);
vendored files may be cached for a day.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter
from fastapi.responses import FileResponse

from deconflict.errors import NotFoundError

router = APIRouter(tags=["dashboard"])

STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "static"
"""Directory of the dashboard's files inside the package."""

MEDIA_TYPES: Final[dict[str, str]] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".map": "application/json",
}
"""Extension -> Content-Type for every file kind the dashboard serves; others are refused."""


def _static_file(path: str) -> Path:
    """Resolve ``path`` under :data:`STATIC_DIR`, refusing traversal, hidden files and odd kinds."""
    parts = [p for p in path.split("/") if p]
    if not parts or any(p.startswith(".") or "\\" in p for p in parts):
        raise NotFoundError(f"no dashboard file {path!r}")
    candidate = STATIC_DIR.joinpath(*parts).resolve()
    if STATIC_DIR not in candidate.parents or not candidate.is_file():
        raise NotFoundError(f"no dashboard file {path!r}")
    if candidate.suffix.lower() not in MEDIA_TYPES:
        raise NotFoundError(f"no dashboard file {path!r}")
    return candidate


def _cache_control(path: Path) -> str:
    return "public, max-age=86400" if "vendor" in path.parts else "no-cache"


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    """The dashboard page (sign in with a party key)."""
    page = STATIC_DIR / "index.html"
    return FileResponse(
        page, media_type=MEDIA_TYPES[".html"], headers={"Cache-Control": "no-cache"}
    )


@router.get("/static/{path:path}", include_in_schema=False)
async def static(path: str) -> FileResponse:
    """One file of the dashboard (``/static/js/app.js``, ``/static/vendor/leaflet.js`` ...)."""
    file = _static_file(path)
    return FileResponse(
        file,
        media_type=MEDIA_TYPES[file.suffix.lower()],
        headers={"Cache-Control": _cache_control(file)},
    )
