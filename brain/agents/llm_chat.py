"""The `llm.chat` agent: one OpenAI-compatible chat completion (Ollama, vLLM, OpenAI)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import marshmallow as ma

from brain.agents.base import Agent
from brain.agents.context import RunContext
from brain.agents.registry import register
from brain.config import get_settings
from brain.errors import AgentError, RetryableAgentError


class Message(ma.Schema):
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["system", "user", "assistant"]))
    content = ma.fields.String(required=True)


class ChatPayload(ma.Schema):
    messages = ma.fields.List(ma.fields.Nested(Message), load_default=None)
    prompt = ma.fields.String(load_default=None)
    model = ma.fields.String(load_default=None)
    temperature = ma.fields.Float(load_default=None, validate=ma.validate.Range(min=0, max=2))
    max_tokens = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))

    @ma.validates_schema
    def _one_input(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("messages") and not data.get("prompt"):
            raise ma.ValidationError("give `messages` or `prompt`", "messages")


def _post(url: str, body: dict[str, Any], api_key: str, timeout: float) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace")
        cls = RetryableAgentError if exc.code == 429 or exc.code >= 500 else AgentError
        raise cls(f"LLM provider answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RetryableAgentError(f"LLM provider unreachable at {url}: {reason}") from None
    except json.JSONDecodeError:
        raise AgentError("LLM provider sent a reply that is not JSON") from None


def price_usd(prices: dict[str, Any], model: str, usage: dict[str, Any]) -> float:
    """Cost of one reply from the per-model price table (USD per 1k prompt/completion tokens)."""
    price = prices.get(model) or prices.get("*") or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    per_1k = prompt * float(price.get("prompt_per_1k", 0)) + completion * float(price.get("completion_per_1k", 0))
    return per_1k / 1000


@register
class LLMChatAgent(Agent):
    name = "llm.chat"
    description = "One chat completion from an OpenAI-compatible provider."
    risk_tier = "STANDARD"
    io_bound = True
    payload_schema = ChatPayload

    def run(self, ctx: RunContext, payload: dict[str, Any]) -> Any:
        settings = get_settings()
        messages = payload.get("messages") or [{"role": "user", "content": payload["prompt"]}]
        body: dict[str, Any] = {"model": payload.get("model") or settings.llm_model, "messages": messages}
        for key in ("temperature", "max_tokens"):
            if payload.get(key) is not None:
                body[key] = payload[key]
        url = settings.llm_base_url.rstrip("/") + "/chat/completions"
        timeout = min(settings.llm_timeout_s, max(1.0, ctx.remaining()))
        reply = _post(url, body, settings.llm_api_key, timeout)
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise AgentError("LLM provider reply has no choices[0].message.content") from None
        usage = reply.get("usage") or {}
        tokens = int(usage.get("total_tokens") or 0)
        model = reply.get("model", body["model"])
        ctx.charge(tokens=tokens, cost_usd=price_usd(settings.neurorail_llm_prices, model, usage))
        return {
            "model": reply.get("model", body["model"]),
            "reply": content,
            "usage": {
                "prompt_tokens": int(usage.get("prompt_tokens") or 0),
                "completion_tokens": int(usage.get("completion_tokens") or 0),
                "total_tokens": tokens,
            },
        }
