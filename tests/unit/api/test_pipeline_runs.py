"""The pipeline runs resource: start (Idempotency-Key), read every node, list, cancel, retry; 4xx in shape."""

from __future__ import annotations

import uuid
from pathlib import Path

from brain.db import session_scope
from brain.models import Mission
from brain.services import execution
from tests.unit.api.test_pipelines import _auth

ML = (Path(__file__).parents[3] / "pipelines" / "ml-training.yaml").read_text()


def _finish_first_queued(client, status: str = "succeeded") -> str:
    """Play the worker for one mission (tests/e2e/test_pipelines.py has real workers)."""
    settings = client.application.config["BRAIN_SETTINGS"]
    with session_scope(settings.database_url) as session:
        queued = session.query(Mission).filter(Mission.status == "queued").order_by(Mission.created_at).first()
        mission = execution.claim(session, queued.id, "unit")
    with session_scope(settings.database_url) as session:
        error = None if status == "succeeded" else {"code": "NR-E004", "message": "broke"}
        execution.finish(session, mission, status, result=mission.payload, error=error, attempt=1, settings=settings)
    return mission.name


def test_start_read_list_cancel_and_retry_a_run(client):
    headers = _auth(client)
    assert client.put("/api/pipelines/ml-training", json={"source": ML}, headers=headers).status_code == 201
    started = client.post(
        "/api/pipelines/ml-training/runs",
        json={"inputs": {"accuracy": 0.95}},
        headers={**headers, "Idempotency-Key": "r1"},
    )
    assert started.status_code == 202, started.get_json()
    run = started.get_json()
    assert started.headers["Location"] == f"/api/pipeline-runs/{run['id']}"
    assert (run["status"], run["version"], run["inputs"]) == (
        "running",
        1,
        {"dataset": "datasets/churn", "accuracy": 0.95, "threshold": 0.85},
    )
    assert [(n["node"], n["status"]) for n in run["nodes"]] == [
        ("fetch", "running"),
        ("preprocess", "pending"),
        ("train", "pending"),
        ("evaluate", "pending"),
        ("deploy", "pending"),
    ]
    assert run["nodes"][0]["mission_status"] == "queued" and run["nodes"][0]["ready_at"]
    again = client.post(
        "/api/pipelines/ml-training/runs",
        json={"inputs": {"accuracy": 0.95}},
        headers={**headers, "Idempotency-Key": "r1"},
    )
    assert again.get_json()["id"] == run["id"]
    conflict = client.post(
        "/api/pipelines/ml-training/runs",
        json={"inputs": {"accuracy": 0.5}},
        headers={**headers, "Idempotency-Key": "r1"},
    )
    assert conflict.status_code == 409 and conflict.get_json()["error"] == "idempotency_conflict"

    assert _finish_first_queued(client) == "ml-training.fetch"
    assert _finish_first_queued(client, "failed") == "ml-training.preprocess"
    failed = client.get(f"/api/pipeline-runs/{run['id']}", headers=headers).get_json()
    assert failed["status"] == "failed" and failed["error"]["node"] == "preprocess" and failed["duration_s"] >= 0
    assert [n["status"] for n in failed["nodes"]] == ["succeeded", "failed", "cancelled", "cancelled", "cancelled"]
    assert '"dataset":"datasets/churn"' in failed["nodes"][0]["result_summary"]
    assert client.post(f"/api/pipeline-runs/{run['id']}/cancel", headers=headers).status_code == 409

    retried = client.post(f"/api/pipeline-runs/{run['id']}/retry", headers=headers)
    assert retried.status_code == 200 and retried.get_json()["status"] == "running"
    assert client.post(f"/api/pipeline-runs/{run['id']}/retry", headers=headers).status_code == 409
    for expected in ("preprocess", "train", "deploy"):
        assert _finish_first_queued(client) == f"ml-training.{expected}"
    done = client.get(f"/api/pipeline-runs/{run['id']}", headers=headers).get_json()
    assert done["status"] == "succeeded" and done["outputs"] == {"accuracy": 0.95, "deployed": True}

    second = client.post("/api/pipelines/ml-training/runs", json={}, headers=headers).get_json()
    cancelled = client.post(f"/api/pipeline-runs/{second['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["nodes"][0]["mission_status"] == "cancelled"

    listed = client.get("/api/pipeline-runs?pipeline=ml-training", headers=headers).get_json()["items"]
    assert [r["id"] for r in listed] == [second["id"], run["id"]] and "nodes" not in listed[0]
    assert [
        r["id"] for r in client.get("/api/pipeline-runs?status=succeeded", headers=headers).get_json()["items"]
    ] == [run["id"]]
    page = client.get("/api/pipeline-runs?limit=1", headers=headers).get_json()
    rest = client.get(f"/api/pipeline-runs?limit=1&cursor={page['next_cursor']}", headers=headers).get_json()
    assert [r["id"] for r in page["items"] + rest["items"]] == [second["id"], run["id"]]


def test_bad_run_requests_are_4xx_in_the_error_shape(client):
    headers = _auth(client)
    assert client.put("/api/pipelines/ml-training", json={"source": ML}, headers=headers).status_code == 201
    bad = client.post("/api/pipelines/ml-training/runs", json={"inputs": {"accuracy": "high", "x": 1}}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"] == "invalid_pipeline"
    assert sorted(p["field"] for p in bad.get_json()["errors"]["problems"]) == ["inputs.accuracy", "inputs.x"]
    for body in ({"inputs": []}, {"inputs": {"accuracy": float("inf")}}, {"other": 1}):
        resp = client.post("/api/pipelines/ml-training/runs", json=body, headers=headers)
        assert resp.status_code == 422, (body, resp.get_data(as_text=True))
    assert client.post("/api/pipelines/nope/runs", json={}, headers=headers).status_code == 404
    missing = uuid.uuid4()
    for path in (
        f"/api/pipeline-runs/{missing}",
        f"/api/pipeline-runs/{missing}/cancel",
        f"/api/pipeline-runs/{missing}/retry",
    ):
        method = client.get if path.endswith(str(missing)) else client.post
        assert method(path, headers=headers).status_code == 404
    assert client.get("/api/pipeline-runs?status=bogus", headers=headers).status_code == 422
    assert client.get("/api/pipeline-runs/not-a-uuid", headers=headers).status_code == 404
    viewer = _auth(client, roles=("viewer",))
    assert client.post("/api/pipelines/ml-training/runs", json={}, headers=viewer).status_code == 403
    assert client.get("/api/pipeline-runs", headers=viewer).status_code == 200
