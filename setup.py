"""Build hook: the wheel carries the dashboard's offline map and the API docs' assets.

All metadata lives in pyproject.toml. This file only replaces ``build_py`` so that, before the
package files are collected, ``tools/vendor_assets.py`` makes sure the gitignored third-party
assets (Leaflet, topojson-client, Natural Earth, Swagger UI and their licences) are present,
running ``npm ci`` from package-lock.json when they are not. See docs/dashboard.md, "Packaging".
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _vendor_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "deconflict_vendor_assets", HERE / "tools" / "vendor_assets.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithAssets(build_py):
    """``build_py`` that vendors the npm assets first (a no-op when they are present)."""

    def run(self) -> None:
        # An editable install serves the files from src/ (``make assets`` vendors them there).
        if not getattr(self, "editable_mode", False):
            _vendor_module().ensure(HERE)
        # package-data globs may have been expanded before the files existed: expand them again
        self.__dict__.pop("data_files", None)
        super().run()


setup(cmdclass={"build_py": BuildPyWithAssets})
