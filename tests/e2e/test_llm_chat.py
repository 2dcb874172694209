"""The llm.chat agent against an OpenAI-compatible server, through the API and a worker."""

from __future__ import annotations

import pytest

from tests.fake_llm import FakeLLM

pytestmark = pytest.mark.e2e


@pytest.fixture
def llm():
    server = FakeLLM()
    yield server
    server.close()


def test_llm_chat_reply_usage_and_provider_error(bare_stack, llm):
    bare_stack.start_worker(
        concurrency=1, BRAIN_LLM_BASE_URL=llm.url, BRAIN_LLM_MODEL="tiny", BRAIN_LLM_API_KEY="sk-test"
    )
    ok = bare_stack.submit("llm.chat", {"prompt": "hello there"})
    done = bare_stack.wait_status(ok["id"])
    assert done["status"] == "succeeded", done
    assert done["result"]["reply"] == "echo: hello there"
    assert done["result"]["model"] == "tiny"
    assert done["result"]["usage"]["total_tokens"] == 12
    assert llm.requests[0]["auth"] == "Bearer sk-test"
    assert llm.requests[0]["body"]["messages"] == [{"role": "user", "content": "hello there"}]

    llm.fail_with = 400
    bad = bare_stack.wait_status(bare_stack.submit("llm.chat", {"messages": [{"role": "user", "content": "x"}]})["id"])
    assert bad["status"] == "failed"
    assert bad["error"]["code"] == "NR-E004"
    assert "LLM provider answered 400" in bad["error"]["message"]


def test_llm_chat_payload_checked_at_enqueue(stack):
    resp = stack.request("POST", "/api/missions", json={"name": "x", "agent": "llm.chat", "payload": {}})
    assert resp.status_code == 422
    assert "payload" in resp.json()["errors"]["json"]
    resp = stack.request(
        "POST",
        "/api/missions",
        json={"name": "x", "agent": "llm.chat", "payload": {"messages": [{"role": "robot", "content": "hi"}]}},
    )
    assert resp.status_code == 422
