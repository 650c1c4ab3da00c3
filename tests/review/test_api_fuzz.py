"""Schemathesis over the review app's HTTP API, as a logged-in admin holding a lease: generated
requests, valid ones and ones that break the schema, to every route but login and logout (which
would end the session being fuzzed). Whatever comes in, the answer is never a server error.

The app serves no OpenAPI document (``/openapi.json`` is off), so the schema is taken from
``app.openapi()`` and the requests go to the ASGI app in-process. Half the cases aimed at a task
get the id of the lease the fuzzing user holds, so the handlers behind the lease check are
reached too, not only the 409. Hypothesis is derandomized (the same cases each run) and bounded
(``MAX_EXAMPLES`` per operation and mode), which keeps the run well under a minute.
"""

from __future__ import annotations

import json
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from maskgate.review.accounts import add_user
from maskgate.review.app import Settings, create_app
from maskgate.review.importer import import_results

from .conftest import PW, LiveServer, login, make_pair

MAX_EXAMPLES = 15
SKIP = {("POST", "/login"), ("POST", "/logout")}


@pytest.fixture
def fuzz_app(engine, tmp_path):
    folder = tmp_path / "check"
    recs = [make_pair(folder, f"f{i}", seed=i, background=(i % 2 == 0)) for i in range(8)]
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    rep = import_results(engine, folder / "results.jsonl", overlap=1, segment=None)
    assert rep.imported == 8 and not rep.problems
    add_user(engine, "fuzzer", PW, "admin")
    return create_app(engine, Settings(gold_every=0))


def fuzz_operation(op, mode, call) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode), use_lease=st.booleans())
    def run(case, use_lease):
        call(op, case, use_lease)

    run()


def test_fuzzed_requests_never_get_a_server_error(fuzz_app):
    with LiveServer(fuzz_app) as srv:
        client, csrf = login(srv.url, "fuzzer")
    cookies = dict(client.cookies)
    client.close()

    def held() -> int | None:
        r = schema["/api/next"]["GET"].Case().call(cookies=cookies)
        task = r.json()["task"]
        return None if task is None else task["assignment_id"]

    schema = schemathesis.openapi.from_dict(fuzz_app.openapi())
    schema.app = fuzz_app
    seen: dict[str, int] = {}
    errors: list[str] = []

    def call(op, case, use_lease) -> None:
        if use_lease and "assignment_id" in (case.path_parameters or {}):
            aid = held()
            if aid is not None:
                case.path_parameters["assignment_id"] = aid
        resp = case.call(headers={"X-CSRF-Token": csrf}, cookies=cookies)
        key = f"{op.method.upper()} {op.path}"
        seen[key] = seen.get(key, 0) + 1
        if resp.status_code >= 500:
            errors.append(f"{key} -> {resp.status_code}: {resp.text[:200]}\n{case.as_curl_command()}")

    doc = fuzz_app.openapi()["paths"]
    started = time.monotonic()
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in SKIP:
            continue
        spec = doc[op.path][op.method.lower()]
        # an operation without parameters or body has no schema to break
        inputs = bool(spec.get("parameters") or spec.get("requestBody"))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)[: 1 + inputs]:
            t0 = time.monotonic()
            fuzz_operation(op, mode, call)
            print(f"{op.method.upper()} {op.path} {mode.value}: {time.monotonic() - t0:.1f} s")
    took = time.monotonic() - started
    assert not errors, "\n".join(errors[:10])
    # every API route was reached, and the session stayed valid throughout (not all 401s)
    assert any(k.startswith("POST /api/tasks/") and k.endswith("/submit") for k in seen), seen
    assert {"GET /api/next", "GET /files/{root_id}/{rel}"} <= set(seen), seen
    r = schema["/api/next"]["GET"].Case().call(cookies=cookies)
    assert r.status_code == 200, r.text
    assert took < 120, f"fuzz run took {took:.0f} s"
