"""The peer's Flask app: POST /enqueue queues noop(body) and answers 202."""

from __future__ import annotations

from flask import Flask, jsonify, request

from bench.peer.tasks import noop

app = Flask("peer")


@app.post("/enqueue")
def enqueue():
    body = request.get_json(silent=True) or {}
    result = noop.delay(body)
    return jsonify({"id": result.id, "status": "queued"}), 202


@app.get("/health")
def health():
    return jsonify({"ok": True})
