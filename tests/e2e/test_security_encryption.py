"""Encryption at rest: the raw mission row holds no plaintext; `brain keys rotate` re-encrypts old rows."""

from __future__ import annotations

import json
import uuid

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import create_engine, text

from tests.stack import PROFILES, make_stack

pytestmark = pytest.mark.e2e

OLD_KEY = Fernet.generate_key().decode()


@pytest.fixture(scope="module", params=PROFILES)
def encrypted_stack(request):
    s = make_stack(
        request.param,
        request,
        f"encrypted_{request.param}",
        BRAIN_ENCRYPT_PAYLOADS="true",
        BRAIN_ENCRYPTION_KEYS=OLD_KEY,
    )
    try:
        s.start_api(BRAIN_API_WORKERS="1")
        s.start_worker(concurrency=1)
        yield s
    finally:
        s.stop()


def _raw_row(stack, mission_id: str) -> tuple[str, str]:
    url = stack.env.get("BRAIN_DATABASE_URL") or f"sqlite:///{stack.data_dir}/brain.db"
    key = mission_id if url.startswith("postgres") else uuid.UUID(mission_id).hex
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT CAST(payload AS TEXT), CAST(result AS TEXT) FROM missions WHERE id = :id"), {"id": key}
            ).one()
    finally:
        engine.dispose()
    return row[0], row[1]


def _token(raw: str) -> bytes:
    return json.loads(raw)["$fernet"].encode()


def test_payload_and_result_are_encrypted_at_rest_and_rotate(encrypted_stack):
    stack = encrypted_stack
    marker = "card-4111-" + uuid.uuid4().hex
    mission = stack.submit("echo", {"card": marker})
    assert mission["payload"] == {"card": marker}  # the API answers in plaintext
    done = stack.wait_status(mission["id"])
    assert done["status"] == "succeeded" and done["result"] == {"card": marker}
    payload_raw, result_raw = _raw_row(stack, mission["id"])
    assert marker not in payload_raw and marker not in result_raw
    assert json.loads(Fernet(OLD_KEY).decrypt(_token(payload_raw))) == {"card": marker}

    new_key = Fernet.generate_key().decode()
    out = stack.brain("keys", "rotate", env={**stack.env, "BRAIN_ENCRYPTION_KEYS": f"{new_key},{OLD_KEY}"})
    assert "re-encrypted" in out.stdout
    payload_raw, result_raw = _raw_row(stack, mission["id"])
    assert marker not in payload_raw and marker not in result_raw
    assert json.loads(Fernet(new_key).decrypt(_token(result_raw))) == {"card": marker}
    with pytest.raises(InvalidToken):
        Fernet(OLD_KEY).decrypt(_token(payload_raw))


def test_keys_generate_prints_a_fernet_key(encrypted_stack):
    key = encrypted_stack.brain("keys", "generate").stdout.strip()
    Fernet(key.encode())
