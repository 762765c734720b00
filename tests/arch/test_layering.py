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

PURE_CORES = ("geo", "tactical", "strategic", "hotline", "ledger", "live", "sim", "daa")
ADAPTERS = ("store", "web", "cli", "broker")
IO_FRAMEWORKS = ("sqlalchemy", "fastapi", "starlette", "uvicorn", "httpx", "alembic", "psycopg")
#: What each core may import from deconflict besides itself, ``errors``, ``units`` and ``times``.
ALLOWED_CORE_DEPS: dict[str, tuple[str, ...]] = {
    "geo": (),
    "tactical": ("geo",),
    "strategic": ("geo",),
    "ledger": (),
    "hotline": (),
    "live": ("geo", "tactical", "strategic", "daa"),
    "daa": ("tactical",),
    "sim": ("geo", "tactical", "strategic", "daa"),
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
    allowed = {core, "errors", "units", "times", *ALLOWED_CORE_DEPS[core]}
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


# --- the application layer (issue 10, docs/architecture.md) ------------------------------
def _package_files(package: str) -> list[Path]:
    folder = SRC / package
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [SRC / f"{package}.py"]


def _deconflict_imports_in_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found.extend(
                f"line {node.lineno}: {n}" for n in names if n.split(".")[0] == "deconflict"
            )
    return found


def _all_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_no_deconflict_import_inside_a_function() -> None:
    """No lazy imports to hide cycles: every deconflict import is at module level."""
    bad = {
        str(p.relative_to(SRC)): hits
        for p in _all_files()
        if (hits := _deconflict_imports_in_functions(p))
    }
    assert not bad, f"deconflict imported inside a function: {bad}"


@pytest.mark.parametrize("path", _package_files("store"), ids=lambda p: str(p.relative_to(SRC)))
def test_store_imports_no_application_service(path: Path) -> None:
    """``store`` holds tables, migrations and queries: it never imports ``broker`` or ``web``."""
    for name in _imports(path):
        parts = name.split(".")
        assert parts[:2] not in (["deconflict", "broker"], ["deconflict", "web"]), (
            f"{path.relative_to(SRC)} imports {name}"
        )


@pytest.mark.parametrize(
    "path", sorted((SRC / "web" / "routes").glob("*.py")), ids=lambda p: p.name
)
def test_routes_import_neither_sqlalchemy_nor_store(path: Path) -> None:
    """Routes parse, call one service and render: no SQL, no tables, no store."""
    for name in _imports(path):
        assert name.split(".")[0] != "sqlalchemy", f"{path.name} imports {name}"
        assert not name.startswith("deconflict.store"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", _package_files("broker"), ids=lambda p: str(p.relative_to(SRC)))
def test_application_services_know_no_http(path: Path) -> None:
    """``broker`` services return domain values or raise typed errors: no FastAPI/Starlette."""
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in ("fastapi", "starlette"), f"{path.relative_to(SRC)} imports {name}"
        assert not name.startswith("deconflict.web"), f"{path.relative_to(SRC)} imports {name}"


def test_event_models_live_in_one_module() -> None:
    """Every stream event model is in deconflict/broker/events.py (components ``*Event``)."""
    owners = []
    for path in _all_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Event"):
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                if "_Envelope" in bases:
                    owners.append(str(path.relative_to(SRC)))
    assert owners and set(owners) == {"broker/events.py"}, owners
