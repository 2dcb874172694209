"""The llm.chat agent against an OpenAI-compatible server, through the API and a worker."""

from __future__ import annotations

import pytest

from tests.fake_llm import FakeLLM, FakeProvider

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
    assert "max_tokens" not in llm.requests[0]["body"]

    # A mission's own token cap bounds what the provider is asked for (the prompt's ~2 tokens left out).
    capped = bare_stack.submit("llm.chat", {"prompt": "hello there", "max_tokens": 500}, budget={"max_tokens": 30})
    assert bare_stack.wait_status(capped["id"])["status"] == "succeeded"
    assert llm.requests[-1]["body"]["max_tokens"] == 28

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


@pytest.fixture
def streaming_provider(tmp_path):
    """bench's asyncio provider: 20 completion tokens per reply, streamed 10 ms apart."""
    provider = FakeProvider(tmp_path, latency=0.1, tokens=20)
    yield provider.url
    provider.close()


def test_a_streamed_reply_is_charged_token_by_token_and_cut_off_at_the_budget(bare_stack, streaming_provider):
    bare_stack.start_worker(concurrency=1, BRAIN_LLM_BASE_URL=streaming_provider, BRAIN_LLM_MODEL="tiny")
    whole = bare_stack.wait_status(bare_stack.submit("llm.chat", {"prompt": "hi", "stream": True})["id"])
    assert whole["status"] == "succeeded", whole
    assert whole["result"]["reply"] == " ".join(["tok"] * 20)
    assert whole["result"]["usage"] == {"prompt_tokens": 7, "completion_tokens": 20, "total_tokens": 27}
    assert whole["usage"]["tokens"] == 27  # the provider's count, prompt included

    cut = bare_stack.submit("llm.chat", {"prompt": "hi", "stream": True}, budget={"max_tokens": 12})
    done = bare_stack.wait_status(cut["id"])
    assert done["status"] == "over_budget" and done["error"]["code"] == "NR-E002"
    assert done["usage"]["tokens"] == 12  # every token received up to the cap was charged, none beyond it

    plain = bare_stack.wait_status(bare_stack.submit("llm.chat", {"prompt": "hi"})["id"])
    assert plain["status"] == "succeeded" and plain["result"]["usage"]["total_tokens"] == 27
