"""Property-based API fuzzing with schemathesis against ``/openapi.json`` (bounded cases).

For every operation (except the infinite event stream, tested in test_broker_stream.py) and for
a party admin's and the operator's key: no 5xx; every 4xx is ``application/problem+json`` with
a non-empty ``detail``; every 422 names at least one field with a reason.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from broker_testkit import BrokerEnv, LiveServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES_PER_OPERATION = 6


def _install_many_more_shim() -> None:
    """hypothesis-jsonschema 0.23.1 (used by schemathesis 3) calls ``cu.many(...).more()``,
    which newer Hypothesis replaced by ``with many(...) as e: for _ in e``. Drive the new
    iterator protocol from ``more()`` (applied only when ``more`` is missing)."""
    from hypothesis.internal.conjecture import utils as cu

    if hasattr(cu.many, "more"):
        return

    def more(self: Any) -> bool:
        it = getattr(self, "_compat_iter", None)
        if it is None:
            self.__enter__()
            it = self._compat_iter = iter(self)
        try:
            next(it)
        except StopIteration:
            self.__exit__(None, None, None)
            return False
        return True

    cu.many.more = more  # type: ignore[attr-defined]


SKIP = {("GET", "/v1/stream")}


def _check(method: str, path: str, r: httpx.Response, failures: list[str]) -> None:
    where = f"{method} {path} -> {r.status_code}"
    if r.status_code >= 500:
        failures.append(f"{where}: {r.text[:200]}")
        return
    if r.status_code >= 400:
        if not r.headers.get("content-type", "").startswith("application/problem+json"):
            failures.append(f"{where}: not problem+json ({r.headers.get('content-type')})")
            return
        body = r.json()
        if not body.get("detail"):
            failures.append(f"{where}: problem without detail")
        if r.status_code == 422:
            errors = body.get("errors") or []
            if not errors or not all(e.get("field") and e.get("reason") for e in errors):
                failures.append(f"{where}: 422 without field pointers: {body}")


@pytest.mark.slow
def test_schemathesis_no_5xx_and_problem_json(env: BrokerEnv) -> None:
    _install_many_more_shim()
    with LiveServer(env.settings) as srv:
        raw = httpx.get(f"{srv.base_url}/openapi.json").json()
        schemathesis.experimental.OPEN_API_3_1.enable()  # FastAPI emits OpenAPI 3.1
        schema = schemathesis.from_dict(raw, base_url=srv.base_url)
        failures: list[str] = []
        statuses: list[int] = []
        operations = []
        for result in schema.get_all_operations():
            op = result.ok()  # type: ignore[union-attr]  # an Err raises: the schema must load
            if (op.method.upper(), op.path) not in SKIP:
                operations.append(op)
        assert len(operations) >= 30
        client = httpx.Client(base_url=srv.base_url, timeout=30)
        for op in operations:
            strategy = op.as_strategy()

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy, who=st.sampled_from(["A.party_admin", "operator"]))
            def run(case: Any, who: str) -> None:
                kwargs = case.as_transport_kwargs(base_url=srv.base_url)
                headers: dict[str, Any] = {
                    k: v.encode("utf-8") if isinstance(v, str) else v
                    for k, v in (kwargs.get("headers") or {}).items()
                }  # generated header values may hold any character: send the raw bytes
                headers.update(env.h(who))
                r = client.request(
                    kwargs["method"],
                    kwargs["url"],
                    headers=headers,
                    params=kwargs.get("params"),
                    json=kwargs.get("json"),
                    content=kwargs.get("data"),
                )
                statuses.append(r.status_code)
                _check(case.method, case.path, r, failures)

            run()
        client.close()
    assert failures == [], "\n".join(sorted(set(failures))[:40])
    # the run was real: many requests, both accepted and refused ones
    assert len(statuses) >= 3 * len(operations)
    assert any(200 <= c < 300 for c in statuses) and any(c == 422 for c in statuses)
    print(f"schemathesis: {len(statuses)} requests over {len(operations)} operations")
