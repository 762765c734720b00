"""``/docs`` works with the network unplugged: Swagger UI from the package, never a CDN.

``make test`` runs ``make assets`` first, which copies Swagger UI from the npm registry into
``deconflict/web/docs_assets``; without those files the app serves a plain endpoint list.
Either way the page must not reference any external host.
"""

from __future__ import annotations

import re
from pathlib import Path

from broker_testkit import BrokerEnv

import deconflict.web.app as web_app

EXTERNAL_URL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def test_docs_page_loads_nothing_from_another_host(env: BrokerEnv) -> None:
    page = env.client.get("/docs")
    assert page.status_code == 200
    assert not EXTERNAL_URL.search(page.text), "the /docs page references an external host"


def test_swagger_assets_are_served_from_the_package_when_vendored(env: BrokerEnv) -> None:
    assets = Path(web_app.__file__).resolve().parent / "docs_assets"
    page = env.client.get("/docs").text
    if (assets / "swagger-ui-bundle.js").is_file():
        assert "/docs-assets/swagger-ui-bundle.js" in page
        js = env.client.get("/docs-assets/swagger-ui-bundle.js")
        assert js.status_code == 200 and len(js.content) > 100_000
        assert env.client.get("/docs-assets/swagger-ui.css").status_code == 200
    else:
        assert "/openapi.json" in page and "<table" in page
