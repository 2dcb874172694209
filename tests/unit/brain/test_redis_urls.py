"""sentinel:// URLs: every part read back, kombu's form, and each mistake named."""

from __future__ import annotations

import pytest

from brain import broker, redis_urls
from brain.config import load_settings
from brain.errors import ConfigError


def test_a_full_url_is_read_back_and_converted_for_kombu():
    url = "sentinel://:s%40cret@10.0.0.1:26379,10.0.0.2,[::1]:26381/3?master_name=brain&sentinel_password=sp"
    parsed = redis_urls.parse(url)
    assert parsed.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26381))
    assert (parsed.master_name, parsed.db, parsed.password, parsed.sentinel_password) == ("brain", 3, "s@cret", "sp")
    kombu_url, options = broker.celery_broker(url)
    assert kombu_url.split(";") == [
        "sentinel://:s@cret@10.0.0.1:26379/3",
        "sentinel://:s@cret@10.0.0.2:26379/3",
        "sentinel://:s@cret@[::1]:26381/3",
    ]
    assert options == {"master_name": "brain", "sentinel_kwargs": {"password": "sp"}}
    assert broker.celery_broker("redis://h:6379/0") == ("redis://h:6379/0", {})


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sentinel://h:1/0", "master_name"),
        ("sentinel:///0?master_name=b", "names no sentinel"),
        ("sentinel://h:port/0?master_name=b", "host:port"),
        ("sentinel://h:1/zero?master_name=b", "not a number"),
    ],
)
def test_a_bad_url_is_a_config_error_naming_the_setting(url, problem):
    with pytest.raises(ConfigError, match=problem):
        redis_urls.parse(url)
    env = {"BRAIN_PROFILE": "standard", "BRAIN_DATABASE_URL": "postgresql://u@h/d", "BRAIN_REDIS_URL": url}
    with pytest.raises(ConfigError, match="BRAIN_REDIS_URL"):
        load_settings(env=env)


def test_the_broker_follows_a_sentinel_redis_url_by_default():
    url = "sentinel://127.0.0.1:26379/0?master_name=brain"
    settings = load_settings(
        env={"BRAIN_PROFILE": "standard", "BRAIN_DATABASE_URL": "postgresql://u@h/d", "BRAIN_REDIS_URL": url}
    )
    assert settings.broker_url == url
