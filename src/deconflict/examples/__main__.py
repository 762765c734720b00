"""Print the path of a bundled example: ``python -m deconflict.examples [NAME]``."""

from __future__ import annotations

import sys

from deconflict.examples import EXAMPLES, example_path


def main(argv: list[str]) -> int:
    """Print the path of example ``argv[0]`` (default ``levant_snapshot``); 2 if unknown."""
    name = argv[0] if argv else "levant_snapshot"
    if name not in EXAMPLES:
        sys.stderr.write(f"unknown example {name!r}; known: {', '.join(sorted(EXAMPLES))}\n")
        return 2
    sys.stdout.write(f"{example_path(name)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
