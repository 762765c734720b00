"""The API's route modules, listed explicitly (no discovery, no silent optional imports).

Each ``deconflict.web.routes.<name>`` exposes ``router: fastapi.APIRouter`` and may expose
``background_tasks`` and ``startup_hooks`` (see :mod:`deconflict.web.app`). A module is added
here when its file lands; a missing module is an import error, never skipped.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Route modules in include order.
ROUTE_MODULES: tuple[str, ...] = (
    "system",
    "admin",
    "stream",
    "notices",
    "ledger",
    "hotline",
    "tracks",
    "alerts",
    "guidance",
    "dashboard",
    "security",
    "private",
    "i18n",
)


def load_route_modules() -> list[ModuleType]:
    """Import every module of :data:`ROUTE_MODULES` (an absent one fails loudly)."""
    return [importlib.import_module(f"deconflict.web.routes.{name}") for name in ROUTE_MODULES]
