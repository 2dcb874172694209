"""The `llm.chat` agent: one OpenAI-compatible chat completion (Ollama, vLLM, OpenAI)."""

from __future__ import annotations

import contextlib
from contextlib import closing
from typing import Any

import marshmallow as ma

from brain.agents import llm_http, provider_quota
from brain.agents.base import Agent
from brain.agents.context import RunContext
from brain.agents.registry import register
from brain.config import Settings, get_settings
from brain.errors import AgentError

# 429s one run waits out (the model backed off for every worker) before it fails as retryable.
MAX_THROTTLED_CALLS = 3


class Message(ma.Schema):
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["system", "user", "assistant"]))
    content = ma.fields.String(required=True)


class ChatPayload(ma.Schema):
    messages = ma.fields.List(ma.fields.Nested(Message), load_default=None)
    prompt = ma.fields.String(load_default=None)
    model = ma.fields.String(load_default=None)
    temperature = ma.fields.Float(load_default=None, validate=ma.validate.Range(min=0, max=2))
    max_tokens = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1))
    stream = ma.fields.Boolean(load_default=False)

    @ma.validates_schema
    def _one_input(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("messages") and not data.get("prompt"):
            raise ma.ValidationError("give `messages` or `prompt`", "messages")


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
        _cap_completion(ctx, body)
        quota = provider_quota.Quota.of(settings, body["model"])
        own = provider_quota.Quota.of_tenant(settings, ctx.tenant)
        estimate = _estimated_tokens(messages, body.get("max_tokens"))
        for throttles in range(1, MAX_THROTTLED_CALLS + 1):
            try:
                with contextlib.ExitStack() as quotas:
                    if own is not None:  # the tenant's own tokens per minute first, then the provider's
                        quotas.enter_context(provider_quota.metered(ctx, settings, own, estimate))
                    quotas.enter_context(provider_quota.metered(ctx, settings, quota, estimate))
                    return _complete(ctx, settings, body, bool(payload.get("stream")))
            except llm_http.ProviderThrottled as exc:
                if exc.retry_after_s is None or throttles == MAX_THROTTLED_CALLS:
                    raise  # retryable: the retry rail backs this mission off
                provider_quota.throttled(settings, quota, exc.retry_after_s)
        raise AssertionError("unreachable")


def _complete(ctx: RunContext, settings: Settings, body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """One call to the provider, charged to the mission."""
    url = settings.llm_base_url.rstrip("/") + "/chat/completions"
    timeout = min(settings.llm_timeout_s, max(1.0, ctx.remaining()))
    if stream:
        return _streamed(ctx, settings, url, body, timeout)
    reply = llm_http.post_json(url, body, settings.llm_api_key, timeout, settings.llm_pool_size)
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise AgentError("LLM provider reply has no choices[0].message.content") from None
    model = reply.get("model", body["model"])
    usage = _usage(reply.get("usage") or {})
    ctx.charge(tokens=usage["total_tokens"], cost_usd=price_usd(settings.neurorail_llm_prices, model, usage))
    return {"model": model, "reply": content, "usage": usage}


def _cap_completion(ctx: RunContext, body: dict[str, Any]) -> None:
    """Ask the provider for no more completion than the mission's own token cap leaves after the prompt.

    The provider then never generates what could not be charged (a stream is still cut at the
    refused charge, for tenant budgets that move while the call runs).
    """
    left = ctx.tokens_left()
    if left is None:
        return
    room = max(1, left - _estimated_tokens(body["messages"], None))
    body["max_tokens"] = min(body.get("max_tokens") or room, room)


def _estimated_tokens(messages: list[dict[str, str]], max_tokens: int | None) -> int:
    """What a call takes from the tokens-per-minute quota before the provider says: ~4 characters a token."""
    return sum(len(m.get("content") or "") for m in messages) // 4 + (max_tokens or 0)


def _usage(raw: dict[str, Any]) -> dict[str, int]:
    prompt = int(raw.get("prompt_tokens") or 0)
    completion = int(raw.get("completion_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": int(raw.get("total_tokens") or 0)}


def _streamed(ctx: RunContext, settings: Settings, url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Charge each streamed token as it arrives; the charge the budget refuses ends the stream there.

    OverBudget from ctx.charge propagates (status over_budget, NR-E002) after the connection is
    closed, so the provider stops generating; the mission's usage is what was received and
    charged. At the end the provider's own usage (prompt tokens, its token count) is charged
    on top of what was counted.
    """
    prices = settings.neurorail_llm_prices
    model = body["model"]
    per_token = price_usd(prices, model, {"completion_tokens": 1})
    parts: list[str] = []
    counted = 0
    final: dict[str, Any] = {}
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    events = llm_http.post_stream(url, body, settings.llm_api_key, timeout, settings.llm_pool_size)
    with closing(events):
        for event in events:
            model = event.get("model") or model
            final = event.get("usage") or final
            for choice in event.get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    ctx.charge(tokens=1, cost_usd=per_token)
                    counted += 1
                    parts.append(text)
    usage = _usage(final) if final else {"prompt_tokens": 0, "completion_tokens": counted, "total_tokens": counted}
    extra_tokens = max(0, usage["total_tokens"] - counted)
    extra_cost = max(0.0, price_usd(prices, model, usage) - counted * per_token)
    if extra_tokens or extra_cost:
        ctx.charge(tokens=extra_tokens, cost_usd=extra_cost)
    return {"model": model, "reply": "".join(parts), "usage": usage}
