"""The ``deconflict`` command line.

``main(argv) -> int`` is the entry point. Each subcommand lives in its own module exposing
``register(app: typer.Typer) -> None``; this module only assembles them. Errors of type
:class:`deconflict.errors.DeconflictError` become a one-line message on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

from deconflict.errors import DeconflictError

#: Subcommand modules, in help order. Each defines ``register(app)``.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "detect",
    "plan",
    "serve",
    "admin",
    "demo",
    "ledger",
    "hotline",
    "alerts",
    "bands",
    "private",
    "feed",
    "replay",
    "cot",
    "plot",
    "warmup",
)


def build_app() -> typer.Typer:
    """Build the Typer application with every subcommand registered."""
    app = typer.Typer(
        name="deconflict",
        help="Multi-party airspace deconfliction: plans, live tracks, hotline and ledger.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root() -> None:
        """Multi-party airspace deconfliction: plans, live tracks, hotline and ledger."""

    for name in SUBCOMMAND_MODULES:
        module = importlib.import_module(f"deconflict.cli.{name}")
        module.register(app)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    app = build_app()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="deconflict", standalone_mode=False)
    except DeconflictError as exc:
        sys.stderr.write(f"deconflict: error: {exc.message}\n")
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("deconflict: aborted\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except typer.TyperException as exc:  # usage errors (bad option, missing argument)
        show = getattr(exc, "show", None)
        if callable(show):
            show(file=sys.stderr)
        else:
            sys.stderr.write(f"deconflict: error: {exc}\n")
        return int(getattr(exc, "exit_code", 2))
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
