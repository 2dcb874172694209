"""create_app: the routes of the enabled modules only, and the one error shape on an in-process client."""

from __future__ import annotations

import pytest

MODULE_ROUTES = {
    "governance": "/api/policies",
    "audit": "/api/events",
    "neurorail": "/api/budgets",
    "metrics": "/api/system/health",
}


def _token(client) -> dict[str, str]:
    from brain.security import issue_token

    settings = client.application.config["BRAIN_SETTINGS"]
    return {"Authorization": f"Bearer {issue_token(settings, 'unit', roles=['admin'])}"}


def test_every_module_on_has_every_route(client):
    headers = _token(client)
    info = client.get("/api/missions/info", headers=headers).get_json()
    assert set(info["modules"]) >= set(MODULE_ROUTES)
    for path in MODULE_ROUTES.values():
        assert client.get(path, headers=headers).status_code == 200, path


@pytest.mark.parametrize("off", sorted(MODULE_ROUTES))
def test_a_module_that_is_off_has_no_routes(make_client, off):
    on = [m for m in ("missions", "neurorail", "governance", "audit", "metrics", "security") if m != off]
    client = make_client(BRAIN_MODULES=",".join(on))
    headers = _token(client)
    assert client.get("/api/missions/info", headers=headers).get_json()["modules"] == on
    resp = client.get(MODULE_ROUTES[off], headers=headers)
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"
    assert (client.get("/metrics").status_code == 404) == (off == "metrics")
