"""``deconflict review``: export the joint review pack (HTML per language + CSV) from the database.

Example::

    deconflict review --from 2026-01-01 --to 2026-12-31 --out review-2026 --lang en --lang ru

``--from``/``--to`` take an ISO date (a whole UTC day; ``--to`` is inclusive) or an ISO date-time
with a zone (``--to`` exclusive). Writes ``review.<lang>.html`` and the CSV files into ``--out``
and prints one line per file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from deconflict.broker import hotline as hotline_sql
from deconflict.errors import InvalidInputError
from deconflict.hotline import check_language, render_review_pack
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import check_current


def parse_bound(value: str, *, field: str, end: bool) -> datetime:
    """An ISO date (UTC day; the end bound covers the whole day) or an aware ISO date-time."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            field=field, reason="must be an ISO date (2026-01-31) or date-time with a zone"
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInputError(field=field, reason="a date-time needs a zone (e.g. Z)")
    return parsed.astimezone(UTC)


def export_review(
    url: str,
    *,
    start: datetime,
    end: datetime,
    out: Path,
    langs: list[str],
    party: str | None = None,
    now: datetime,
) -> list[Path]:
    """Load the period's data from ``url`` and write the pack into ``out``; returns the files."""

    if end <= start:
        raise InvalidInputError(field="--to", reason="must be after --from")
    codes = [check_language(lang, field="--lang") for lang in langs] or ["en"]
    check_current(url)
    database = Database(url)
    try:
        with database.read() as session:
            party_id = hotline_sql.resolve_party(session, party, field="--party") if party else None
            data = hotline_sql.load_review_data(
                session,
                start=start,
                end=end,
                now=now,
                lead_times_h=dict(Settings(db_url=url).lead_times_h),
                party=party_id,
            )
    finally:
        database.dispose()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    csv_files: dict[str, str] = {}
    for code in dict.fromkeys(codes):
        html, csv_files = render_review_pack(data, lang=code)
        path = out / f"review.{code}.html"
        path.write_text(html, encoding="utf-8")
        written.append(path)
    for name, content in csv_files.items():
        path = out / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def register(app: typer.Typer) -> None:
    """Register ``review`` on ``app``."""

    @app.command("review")
    def review(
        date_from: Annotated[str, typer.Option("--from", help="Start: ISO date or date-time.")],
        date_to: Annotated[str, typer.Option("--to", help="End: ISO date (inclusive) or time.")],
        out: Annotated[Path, typer.Option("--out", help="Output directory (created).")],
        lang: Annotated[
            list[str] | None, typer.Option("--lang", help="Language(s) of the HTML: en, ru.")
        ] = None,
        party: Annotated[
            str | None, typer.Option("--party", help="Only what involves this party.")
        ] = None,
        db: Annotated[
            str | None, typer.Option("--db", help="Database URL (default: settings).")
        ] = None,
    ) -> None:
        """Export the joint review pack: notices and lead times, alerts, acknowledgement
        times, incidents by category and state, open items (HTML per language and CSV)."""

        url = Settings(db_url=db).db_url if db else Settings().db_url
        files = export_review(
            url,
            start=parse_bound(date_from, field="--from", end=False),
            end=parse_bound(date_to, field="--to", end=True),
            out=out,
            langs=lang or ["en", "ru"],
            party=party,
            now=datetime.now(UTC),
        )
        for path in files:
            typer.echo(str(path))
