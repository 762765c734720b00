"""The one-way dependency rule (docs/architecture.md), checked by walking every module's imports.

Pure cores (``geo``, ``tactical``, ``strategic``, ``hotline``, ``ledger``, ``live``, ``sim``)
must not import the adapters (``store``, ``web``, ``cli``, ``broker``) nor I/O frameworks, and
``geo`` sits below everything. A violation names the module and the forbidden import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "deconflict"

PURE_CORES = ("geo", "tactical", "strategic", "hotline", "ledger", "live", "sim")
ADAPTERS = ("store", "web", "cli", "broker")
IO_FRAMEWORKS = ("sqlalchemy", "fastapi", "starlette", "uvicorn", "httpx", "alembic", "psycopg")
#: What each core may import from deconflict besides itself, ``errors`` and ``units``.
ALLOWED_CORE_DEPS: dict[str, tuple[str, ...]] = {
    "geo": (),
    "tactical": ("geo",),
    "strategic": ("geo",),
    "ledger": (),
    "hotline": (),
    "live": ("geo", "tactical", "strategic"),
    "sim": ("geo", "tactical", "strategic"),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            # relative imports stay inside the package by construction
            continue
    return names


def _core_files() -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    for core in PURE_CORES:
        folder = SRC / core
        if folder.is_dir():
            files.extend((core, p) for p in sorted(folder.rglob("*.py")))
    return files


def test_there_are_core_modules_to_check() -> None:
    assert _core_files(), "no pure-core modules found: the layering test would check nothing"


@pytest.mark.parametrize(("core", "path"), _core_files(), ids=lambda v: str(v))
def test_pure_core_imports_no_adapter(core: str, path: Path) -> None:
    allowed = {core, "errors", "units", *ALLOWED_CORE_DEPS[core]}
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in IO_FRAMEWORKS, f"{path.relative_to(SRC)} imports I/O framework {name}"
        if top == "deconflict":
            parts = name.split(".")
            if len(parts) == 1:
                continue
            where = path.relative_to(SRC)
            assert parts[1] in allowed, (
                f"{where} (core '{core}') imports {name}; allowed: {sorted(allowed)}"
            )
