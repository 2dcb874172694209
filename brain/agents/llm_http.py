"""llm.chat's connection to its provider: one pooled keep-alive urllib3 client per process, JSON and SSE calls."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
from collections.abc import Iterator
from typing import Any

import urllib3

from brain.errors import AgentError, RetryableAgentError
from brain.fork_safe import ForkSafeLock


class ProviderThrottled(RetryableAgentError):
    """The provider answered 429; `retry_after_s` is its Retry-After (None when it gave none)."""

    def __init__(self, message: str, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


# A provider's Retry-After past this is read as this: a typo or hostile header must not park a model for years.
MAX_RETRY_AFTER_S = 86400.0


def retry_after_s(value: str | None) -> float | None:
    """Retry-After in seconds from now, at most a day: delta-seconds or an HTTP date; None if absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(MAX_RETRY_AFTER_S, max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds()))


_lock = ForkSafeLock()
_pools: dict[int, urllib3.PoolManager] = {}


def _pool(size: int) -> urllib3.PoolManager:
    # By pid: a forked pool process must open its own sockets, never share the parent's.
    pid = os.getpid()
    with _lock:
        pool = _pools.get(pid)
        if pool is None:
            _pools.clear()
            # block=False: past `size` connections a call opens one more instead of waiting;
            # `size` is how many stay open for the next calls (a gevent node: one per mission).
            pool = _pools[pid] = urllib3.PoolManager(num_pools=8, maxsize=size, block=False, retries=False)
        return pool


def _headers(api_key: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def _request(url: str, body: dict[str, Any], api_key: str, timeout: float, pool_size: int, stream: bool):
    try:
        resp = _pool(pool_size).request(
            "POST",
            url,
            body=json.dumps(body).encode(),
            headers=_headers(api_key),
            timeout=urllib3.Timeout(connect=min(5.0, timeout), read=timeout),
            preload_content=not stream,
        )
    except urllib3.exceptions.HTTPError as exc:
        raise RetryableAgentError(f"LLM provider unreachable at {url}: {exc}") from None
    if resp.status >= 400:
        detail = (resp.data if not stream else resp.read(500))[:500].decode("utf-8", "replace")
        resp.close()
        message = f"LLM provider answered {resp.status}: {detail}"
        if resp.status == 429:
            raise ProviderThrottled(message, retry_after_s(resp.headers.get("Retry-After")))
        raise (RetryableAgentError if resp.status >= 500 else AgentError)(message)
    return resp


def post_json(url: str, body: dict[str, Any], api_key: str, timeout: float, pool_size: int) -> dict[str, Any]:
    """One chat completion; provider failures become agent errors (retryable for 429, 5xx, unreachable)."""
    resp = _request(url, body, api_key, timeout, pool_size, stream=False)
    try:
        return json.loads(resp.data)
    except json.JSONDecodeError:
        raise AgentError("LLM provider sent a reply that is not JSON") from None


def post_stream(url: str, body: dict[str, Any], api_key: str, timeout: float, pool_size: int) -> Iterator[dict]:
    """The `data:` events of a streamed completion, until `[DONE]`.

    Closing the iterator early (the budget ran out) closes the connection, so the provider
    stops sending; a stream read to its end goes back to the pool.
    """
    resp = _request(url, body, api_key, timeout, pool_size, stream=True)
    finished = False
    try:
        for raw in _lines(resp):
            if not raw.startswith(b"data:"):
                continue  # comments, event names, blank separators
            data = raw[5:].strip()
            if data == b"[DONE]":
                finished = True
                return
            try:
                yield json.loads(data)
            except json.JSONDecodeError:
                raise AgentError("LLM provider streamed an event that is not JSON") from None
        raise RetryableAgentError("LLM provider closed the stream before [DONE]")
    except urllib3.exceptions.HTTPError as exc:
        raise RetryableAgentError(f"LLM provider stream broke: {exc}") from None
    finally:
        if finished:
            resp.drain_conn()
            resp.release_conn()
        else:
            resp.close()


def _lines(resp: Any) -> Iterator[bytes]:
    pending = b""
    for chunk in resp.stream(4096, decode_content=True):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from (line.rstrip(b"\r") for line in lines)
    if pending:
        yield pending
