"""Provider quotas on a real Redis: the GCRA buckets, settling, the shared back-off, waiting and deferring."""

from __future__ import annotations

import time

import pytest

from brain.agents import MissionCancelled, RunContext
from brain.agents import provider_quota as pq
from brain.agents.llm_http import retry_after_s
from brain.errors import ConfigError
from brain.rails import Defer
from tests.unit.conftest import unit_settings


@pytest.fixture(autouse=True)
def empty_redis(redis_server):
    redis_server.client().flushdb()


@pytest.fixture
def settings(redis_server, tmp_path):
    def make(**env: str):
        return unit_settings(f"sqlite:///{tmp_path}/q.db", redis_server.url, **env)

    return make


def _ctx(cancelled: bool = False, remaining: float = 60.0) -> RunContext:
    return RunContext("m-1", 1, time.monotonic() + remaining, lambda: cancelled)


def test_the_quota_table_is_checked_at_load(settings):
    table = settings(BRAIN_LLM_QUOTAS='{"gpt": {"rpm": 500, "tpm": 30000}, "*": {"rpm": 60, "window_s": 1}}')
    assert pq.Quota.of(table, "gpt") == pq.Quota("127.0.0.1:11434", "gpt", 500, 30000, 60.0)
    assert pq.Quota.of(table, "other").rpm == 60 and pq.Quota.of(table, "other").window_s == 1.0
    assert not pq.Quota.of(settings(), "gpt").limited
    for bad, says in [
        ('{"gpt": 5}', "must be an object"),
        ('{"gpt": {"rps": 5}}', "unknown key 'rps'"),
        ('{"gpt": {"rpm": -1}}', "from 0 to 10\\^12"),
        ('{"gpt": {"rpm": true}}', "from 0 to 10\\^12"),
        ('{"gpt": {"rpm": 1, "window_s": 0}}', "above 0"),
        ("[1]", "JSON object"),
    ]:
        with pytest.raises(ConfigError, match=says):
            settings(BRAIN_LLM_QUOTAS=bad)


def _take(client, quota, tokens=0, times=1):
    return [pq.take(client, quota, tokens, f"call-{n}-{time.monotonic()}") for n in range(times)]


def test_no_window_holds_more_requests_than_the_limit(redis_server):
    client = redis_server.client()
    quota = pq.Quota("p", "m", rpm=3, tpm=0, window_s=60)
    assert _take(client, quota, times=3) == [0, 0, 0]
    wait = _take(client, quota)[0]
    assert 59_000 < wait <= 60_000  # the burst of three leaves the window together
    assert _take(client, quota)[0] == pytest.approx(wait, abs=50)  # a refused call took nothing

    short = pq.Quota("p", "short", rpm=2, tpm=0, window_s=0.3)
    assert _take(client, short, times=2) == [0, 0]
    time.sleep(0.35)
    assert _take(client, short, times=3)[:2] == [0, 0]  # a new window, the same limit again


def test_tokens_are_taken_up_front_and_settled_to_what_was_used(redis_server):
    client = redis_server.client()
    quota = pq.Quota("p", "m", rpm=0, tpm=100, window_s=60)
    assert pq.take(client, quota, 60, "a") == 0
    assert 59_000 < pq.take(client, quota, 60, "b") <= 60_000  # 120 of 100: wait for call a to leave
    pq.settle(client, quota, "a", taken=60, used=10)  # call a used 10 of the 60 it took
    assert pq.take(client, quota, 60, "c") == 0
    assert pq.take(client, quota, 31, "d") > 0  # 10 + 60 + 31 > 100
    assert pq.take(client, quota, 500, "e") > 0  # larger than the window's tokens: runs alone, once free


def test_a_refused_token_call_takes_no_request_either(redis_server):
    client = redis_server.client()
    quota = pq.Quota("p", "m", rpm=2, tpm=10, window_s=60)
    assert pq.take(client, quota, 10, "a") == 0
    assert pq.take(client, quota, 10, "b") > 0
    assert pq.take(client, quota, 0, "c") == 0  # the second request is still free


def test_a_back_off_stops_every_caller_and_is_only_ever_lengthened(redis_server):
    client = redis_server.client()
    quota = pq.Quota("p", "m", rpm=0, tpm=0, window_s=60)
    pq.back_off(client, quota, 5)
    pq.back_off(client, quota, 1)
    assert 4_500 < _take(client, quota)[0] <= 5_000
    assert _take(client, pq.Quota("p", "other-model", rpm=0, tpm=0, window_s=60)) == [0]  # per model


def test_a_short_wait_is_spent_in_the_worker_a_long_one_defers(settings, redis_server):
    s = settings(BRAIN_LLM_QUOTAS='{"m": {"rpm": 2, "window_s": 0.4}}', BRAIN_LLM_QUOTA_MAX_WAIT_S="1")
    quota = pq.Quota.of(s, "m")
    started = time.monotonic()
    for _ in range(3):
        pq.acquire(_ctx(), s, quota, 0)
    assert time.monotonic() - started >= 0.35  # the third call waited for the window to pass

    pq.back_off(redis_server.client(), quota, 30)
    with pytest.raises(Defer) as deferred:
        pq.acquire(_ctx(), s, quota, 0)
    assert "quota of m spent" in deferred.value.reason
    ahead = (deferred.value.until - pq.dt.datetime.now(pq.dt.UTC)).total_seconds()
    assert 29 < ahead <= 31

    redis_server.client().delete(quota.key("backoff"))
    pq.back_off(redis_server.client(), quota, 0.5)
    with pytest.raises(Defer):
        pq.acquire(_ctx(remaining=0.3), s, quota, 0)  # less time left than the wait: queued instead
    with pytest.raises(MissionCancelled):
        pq.acquire(_ctx(cancelled=True), s, quota, 0)


def test_metered_settles_what_the_call_charged(settings, redis_server):
    s = settings(BRAIN_LLM_QUOTAS='{"m": {"tpm": 100}}')
    quota = pq.Quota.of(s, "m")
    ctx = _ctx()
    with pq.metered(ctx, s, quota, 90):
        ctx.charge(tokens=20)
    assert pq.take(redis_server.client(), quota, 80, "next") == 0  # 70 of the 90 came back


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after_s("7") == 7.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after_s(None) is None and retry_after_s("soon") is None
    assert retry_after_s("1" + "0" * 20) == 86400.0  # a day at most, never a timedelta overflow
    assert retry_after_s("Fri, 31 Dec 9999 23:59:59 GMT") == 86400.0
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 120))
    assert 100 < retry_after_s(future) <= 120
