"""The orjson provider answers what Flask's stdlib provider would (same values after parsing)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import uuid

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from api.json_provider import OrjsonProvider


@dataclasses.dataclass
class Point:
    x: int
    y: int


VALUE = {
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "when": dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC),
    "day": dt.date(2026, 11, 27),
    "price": decimal.Decimal("1.25"),
    "point": Point(1, 2),
    "text": "Grüße ✓",
    1: "int key",
    "nested": [{"a": None, "b": True, "c": 1.5}],
}


def test_same_values_as_the_stdlib_provider():
    app = Flask("t")
    ours, stdlib = OrjsonProvider(app), DefaultJSONProvider(app)
    stdlib.sort_keys = False
    assert json.loads(ours.dumps(VALUE)) == json.loads(stdlib.dumps(VALUE))
    with app.app_context():
        response = ours.response(VALUE)
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data()) == json.loads(stdlib.dumps(VALUE))


def test_decoding_keeps_any_number_size():
    app = Flask("t")
    assert OrjsonProvider(app).loads('{"n": 123456789012345678901234567890}')["n"] == 123456789012345678901234567890


def test_database_json_codec_falls_back_for_what_orjson_refuses():
    from brain.db import json_dumps, json_loads

    big = {"n": 2**70, "nested": [1, "x", None]}
    assert json_loads(json_dumps(big)) == big
    assert json_loads(json_dumps({1: "int key"})) == {"1": "int key"}
    assert json_loads('{"a": [1.5, true]}') == {"a": [1.5, True]}
