"""Secrets from a real OpenBao: vault: references resolved at start, rotation within the TTL, never leaked."""

from __future__ import annotations

import json
import uuid

import pytest

from brain.config import load_settings
from tests.openbao import start_openbao
from tests.servers import free_port, wait_for
from tests.stack import mint_token

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def openbao():
    server = start_openbao()
    yield server
    server.stop()


def test_reference_resolved_with_token_auth(openbao):
    path = f"brain/{uuid.uuid4().hex[:8]}"
    openbao.put(path, llm="sk-from-bao-123")
    s = load_settings(
        {
            "BRAIN_DATA_DIR": "/tmp/brain-unit",
            "BRAIN_VAULT_ADDR": openbao.addr,
            "BRAIN_VAULT_TOKEN": openbao.root_token,
            "BRAIN_LLM_API_KEY": f"vault:{path}#llm",
        }
    )
    assert s.llm_api_key == "sk-from-bao-123"
    assert s.masked()["llm_api_key"] == "****"


def test_jwt_secret_from_openbao_approle_rotates_without_restart(stack, openbao):
    path = f"brain/{stack.profile}-{uuid.uuid4().hex[:6]}"
    first, second = "bao-jwt-first-" + uuid.uuid4().hex, "bao-jwt-second-" + uuid.uuid4().hex
    llm_key = "sk-llm-" + uuid.uuid4().hex
    openbao.put(path, jwt=first, llm=llm_key)
    role_id, secret_id = openbao.approle(f"brain-{stack.profile}")
    env = {
        "BRAIN_SECRETS_BACKEND": "vault",
        "BRAIN_VAULT_ADDR": openbao.addr,
        "BRAIN_VAULT_ROLE_ID": role_id,
        "BRAIN_VAULT_SECRET_ID": secret_id,
        "BRAIN_SECRETS_TTL_S": "1",
        "BRAIN_JWT_SECRET": f"vault:{path}#jwt",
        "BRAIN_LLM_API_KEY": f"vault:{path}#llm",
        "BRAIN_API_WORKERS": "1",
    }
    proc, url = stack.start_api(**env)
    try:
        old_token = mint_token("vault-user", roles=("viewer",), secret=first)
        assert stack.request("GET", "/api/missions", url=url, token=old_token).status_code == 200
        assert stack.request("GET", "/api/missions", url=url).status_code == 401  # the stack's own secret

        openbao.put(path, jwt=second, llm=llm_key)  # rotate in Vault; the API is not restarted
        new_token = mint_token("vault-user", roles=("viewer",), secret=second)
        wait_for(
            lambda: stack.request("GET", "/api/missions", url=url, token=new_token).status_code == 200,
            30,
            0.2,
            what="the rotated JWT secret to be picked up",
        )
        assert stack.request("GET", "/api/missions", url=url, token=old_token).status_code == 401

        info = stack.request("GET", "/api/missions/info", url=url, token=new_token).text
        shown = stack.brain("profile", "show", "--json", env={**stack.env, **env}).stdout
        assert json.loads(shown)["jwt_secret"] == "****" and json.loads(shown)["llm_api_key"] == "****"
    finally:
        proc.stop()
    logs = proc.log.read_text(errors="replace")
    for secret in (first, second, llm_key, secret_id):
        assert secret not in logs and secret not in info and secret not in shown


def test_vault_unreachable_at_start_is_one_clear_error(stack):
    env = {
        **stack.env,
        "BRAIN_VAULT_ADDR": f"http://127.0.0.1:{free_port()}",
        "BRAIN_VAULT_TOKEN": "t-123",
        "BRAIN_JWT_SECRET": "vault:brain/api#jwt",
    }
    for args in (("profile", "show"), ("api",)):
        out = stack.brain(*args, env=env, check=False, timeout=60)
        assert out.returncode == 2, out
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1, out.stderr
        assert lines[0].startswith("brain: error: cannot read BRAIN_JWT_SECRET from Vault at http://127.0.0.1:")
        assert "unreachable" in lines[0] and "t-123" not in out.stderr
