"""The pipelines resource: apply → immutable versions, read back exactly, roll back, 422 with every problem."""

from __future__ import annotations

from pathlib import Path

from api import create_app
from brain.db import session_scope
from brain.security import issue_token
from brain.tenancy import tenants
from brain.tenancy.scope import system_scope
from tests.unit.conftest import unit_settings

ETL = (Path(__file__).parents[3] / "pipelines" / "etl.yaml").read_text()


def _auth(client, tenant: str = "default", roles: tuple[str, ...] = ("operator",)) -> dict[str, str]:
    settings = client.application.config["BRAIN_SETTINGS"]
    return {"Authorization": f"Bearer {issue_token(settings, 'dev', tenant=tenant, roles=list(roles))}"}


def test_apply_versions_read_back_and_rollback(client):
    headers = _auth(client)
    first = client.put("/api/pipelines/etl", json={"source": ETL}, headers=headers)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["version"], body["created"], body["current"], body["label"]) == (1, True, True, "1.0")
    assert body["source"] == ETL and body["created_by"] == "dev" and len(body["content_hash"]) == 64
    assert [n["id"] for n in body["nodes"]] == ["extract", "partition", "transform", "load"]
    assert body["nodes"][2]["foreach"] is True and body["outputs"] == ["rows_loaded", "partitions"]

    again = client.put("/api/pipelines/etl", json={"source": ETL}, headers=headers)
    assert again.status_code == 200 and again.get_json()["version"] == 1 and again.get_json()["created"] is False

    changed = ETL.replace("max_parallel: 4", "max_parallel: 2")
    second = client.put("/api/pipelines/etl", json={"source": changed}, headers=headers)
    assert second.status_code == 201 and second.get_json()["version"] == 2

    listed = client.get("/api/pipelines", headers=headers).get_json()
    assert [(p["name"], p["current_version"], p["latest_version"]) for p in listed["items"]] == [("etl", 2, 2)]
    versions = client.get("/api/pipelines/etl/versions", headers=headers).get_json()["items"]
    assert [(v["version"], v["current"]) for v in versions] == [(2, True), (1, False)]
    assert client.get("/api/pipelines/etl/versions/1", headers=headers).get_json()["source"] == ETL

    rolled = client.post("/api/pipelines/etl/rollback", json={}, headers=headers)
    assert rolled.status_code == 200 and rolled.get_json()["current_version"] == 1
    assert client.get("/api/pipelines/etl", headers=headers).get_json()["source"] == ETL
    assert client.post("/api/pipelines/etl/rollback", json={"version": 1}, headers=headers).status_code == 409
    assert client.post("/api/pipelines/etl/rollback", json={"version": 9}, headers=headers).status_code == 404
    forward = client.post("/api/pipelines/etl/rollback", json={"version": 2}, headers=headers)
    assert forward.get_json()["current_version"] == 2

    events = client.get("/api/events?limit=50", headers=_auth(client, roles=("admin",))).get_json()["items"]
    kinds = [e["type"] for e in events if e["type"].startswith("pipeline.")]
    assert sorted(kinds) == ["pipeline.applied", "pipeline.applied", "pipeline.rolled_back", "pipeline.rolled_back"]


def test_a_bad_definition_is_a_422_listing_every_problem_and_stores_nothing(client):
    headers = _auth(client)
    broken = ETL.replace("agent: echo\n    payload:\n      source", "agent: nope\n    payload:\n      source")
    broken = broken.replace("dependencies: [transform]", "dependencies: [transfrom]")
    resp = client.put("/api/pipelines/etl", json={"source": broken}, headers=headers)
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid_pipeline" and "3 problem(s)" in body["message"]
    problems = body["errors"]["problems"]
    assert {(p["node"], p["field"]) for p in problems} == {
        ("extract", "agent"),
        ("load", "dependencies"),
        ("load", "args"),  # reads nodes.transform, no longer upstream
    }
    assert all(p["file"] == "etl.yaml" and p["line"] for p in problems)
    assert client.get("/api/pipelines/etl", headers=headers).status_code == 404

    other = client.put("/api/pipelines/other", json={"source": ETL}, headers=headers)
    assert other.status_code == 422 and "`name` is 'etl', not 'other'" in other.get_data(as_text=True)
    for bad in ({}, {"source": ""}, {"source": 3}):
        assert client.put("/api/pipelines/etl", json=bad, headers=headers).status_code == 422
    assert client.put("/api/pipelines/etl", json={"source": "a: ["}, headers=headers).status_code == 422


def test_a_sub_pipeline_must_exist_and_never_lead_back(client):
    headers = _auth(client)
    child = "name: child\nnodes:\n  - {id: c, type: pipeline, pipeline: parent}\n"
    parent = "name: parent\nnodes:\n  - {id: p, type: pipeline, pipeline: child}\n"
    missing = client.put("/api/pipelines/parent", json={"source": parent}, headers=headers)
    assert missing.status_code == 422 and "unknown pipeline 'child'" in missing.get_data(as_text=True)
    leaf = "name: child\nnodes:\n  - {id: c, type: mission, agent: echo}\n"
    assert client.put("/api/pipelines/child", json={"source": leaf}, headers=headers).status_code == 201
    assert client.put("/api/pipelines/parent", json={"source": parent}, headers=headers).status_code == 201
    loop = client.put("/api/pipelines/child", json={"source": child}, headers=headers)
    assert loop.status_code == 422 and "leads back to 'child'" in loop.get_data(as_text=True)


def test_pipelines_belong_to_their_tenant_and_viewers_cannot_apply(database_url, redis_server, request):
    app_url = database_url  # on PostgreSQL, the app's own role: row-level security holds it
    if database_url.startswith("postgres"):
        app_url = request.getfixturevalue("postgres").app_role_url(database_url.rsplit("/", 1)[1])
    redis_server.client().flushdb()
    client = create_app(unit_settings(app_url, redis_server.url, BRAIN_MULTI_TENANCY="true")).test_client()
    with system_scope("tenant_admin"), session_scope(database_url) as session:
        for tenant in ("acme", "globex"):
            tenants.create(session, tenant, tenant.title())
    mine, theirs = _auth(client, "acme"), _auth(client, "globex")
    assert client.put("/api/pipelines/etl", json={"source": ETL}, headers=mine).status_code == 201
    assert client.get("/api/pipelines/etl", headers=theirs).status_code == 404
    assert client.get("/api/pipelines", headers=theirs).get_json()["items"] == []
    assert client.post("/api/pipelines/etl/rollback", json={}, headers=theirs).status_code == 404
    # The same name in another tenant is that tenant's own pipeline.
    assert client.put("/api/pipelines/etl", json={"source": ETL}, headers=theirs).get_json()["version"] == 1
    viewer = _auth(client, "acme", roles=("viewer",))
    assert client.put("/api/pipelines/etl", json={"source": ETL}, headers=viewer).status_code == 403
    assert client.get("/api/pipelines/etl/versions", headers=viewer).status_code == 200


def test_paging_through_pipelines_by_name(client):
    headers = _auth(client)
    for name in ("c", "a", "b"):
        source = f"name: {name}\nnodes:\n  - {{id: n, type: mission, agent: echo}}\n"
        assert client.put(f"/api/pipelines/{name}", json={"source": source}, headers=headers).status_code == 201
    page = client.get("/api/pipelines?limit=2", headers=headers).get_json()
    rest = client.get(f"/api/pipelines?limit=2&cursor={page['next_cursor']}", headers=headers).get_json()
    assert [p["name"] for p in page["items"] + rest["items"]] == ["a", "b", "c"] and rest["next_cursor"] is None
    assert client.get("/api/pipelines?cursor=%%%", headers=headers).status_code == 422
