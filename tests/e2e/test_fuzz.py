"""Schemathesis over /api/openapi.json, every operation, with an admin token and anonymously: no 5xx, schema kept.

Both profiles: minimal (authentication off: anonymous calls reach the views) and standard
(authentication on: anonymous calls must be refused in the documented shape).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks

from tests.stack import PROFILES, make_stack

pytestmark = pytest.mark.e2e

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module", params=PROFILES)
def fuzz_stack(request):
    """A private stack (API only): fuzzed admin calls must not disturb the shared one."""
    s = make_stack(
        request.param, request, f"fuzz_{request.param}", BRAIN_EVENTS_STREAM_MAX_S="1", BRAIN_MULTI_TENANCY="true"
    )
    try:
        s.start_api()
        yield s
    finally:
        s.stop()


@pytest.fixture
def api_schema(fuzz_stack):
    return schemathesis.openapi.from_url(f"{fuzz_stack.api_url}/api/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


STREAM = "/api/events/stream"
HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture]


def _call(fuzz_stack, case, anonymous: bool = False) -> None:
    headers = {}
    if not anonymous:
        headers["Authorization"] = f"Bearer {fuzz_stack.token(sub='fuzzer', tenant='fuzz', roles=('admin',))}"
    case.call_and_validate(base_url=fuzz_stack.api_url, headers=headers, checks=CHECKS, timeout=30)


@schema.exclude(path=STREAM).parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=HEALTH,
)
def test_api_operations_with_an_admin_token(fuzz_stack, case):
    _call(fuzz_stack, case)


@schema.exclude(path=STREAM).parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=HEALTH,
)
def test_api_operations_anonymously(fuzz_stack, case):
    _call(fuzz_stack, case, anonymous=True)


# Each event-stream response lasts BRAIN_EVENTS_STREAM_MAX_S (1 s here): fewer examples.
@schema.include(path=STREAM).parametrize()
@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=HEALTH,
)
def test_event_stream_operation(fuzz_stack, case):
    _call(fuzz_stack, case)


def _post_paths(fuzz_stack) -> list[str]:
    """POST operations that take a JSON body (the others ignore one)."""
    spec = fuzz_stack.request("GET", "/api/openapi.json").json()
    return [
        p.replace("{approval_id}", "6f9619ff-8b86-d011-b42d-00c04fc964ff")
        .replace("{mission_id}", "6f9619ff-8b86-d011-b42d-00c04fc964ff")
        .replace("{name}", "x")
        for p, item in spec["paths"].items()
        if "requestBody" in item.get("post", {})
    ]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("[" * 100000 + "]" * 100000, "application/json"),  # deeply nested
        (b'{"name": "\xff\xfe"}', "application/json"),  # not UTF-8
        ('{"name": 5, "agent": ["echo"], "payload": "x"}', "application/json"),  # wrong types
        ("[1, 2, 3]", "application/json"),  # not an object
        ("name=x", "text/plain"),  # wrong media type
        ('{"pad": "' + "a" * (1024 * 1024 + 10) + '"}', "application/json"),  # oversized
    ],
    ids=["nested", "not_utf8", "wrong_types", "not_object", "media_type", "oversized"],
)
def test_bad_bodies_get_4xx_in_the_error_shape(fuzz_stack, data, content_type):
    for path in _post_paths(fuzz_stack):
        resp = fuzz_stack.request("POST", path, data=data, headers={"Content-Type": content_type})
        assert 400 <= resp.status_code < 500, (path, resp.status_code, resp.text[:300])
        body = resp.json()
        assert body["code"] == resp.status_code and body["error"] and body["request_id"], (path, body)
