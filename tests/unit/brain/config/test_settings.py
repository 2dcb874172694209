"""Settings declared outside the Settings class (a rail's own) load, validate, show and document like the rest."""

from __future__ import annotations

import pickle

import pytest

from brain.config import SPECS, load_settings, settings_table
from brain.config.parsers import _int
from brain.config.settings import all_specs, declare, setting
from brain.errors import ConfigError


@pytest.fixture
def declared_setting():
    declare("neurorail", neurorail_test_widgets=setting("NEURORAIL_TEST_WIDGETS", _int(1, 9), "Widgets per test", 3))
    yield "neurorail_test_widgets"
    del SPECS["neurorail_test_widgets"]


def test_a_declared_setting_is_read_validated_shown_and_documented(declared_setting):
    assert load_settings(env={}).neurorail_test_widgets == 3
    settings = load_settings(env={"NEURORAIL_TEST_WIDGETS": "7"})
    assert settings.neurorail_test_widgets == 7
    assert settings.masked()["neurorail_test_widgets"] == 7
    assert "| `NEURORAIL_TEST_WIDGETS` | `3` | Widgets per test |" in settings_table()
    with pytest.raises(ConfigError, match="NEURORAIL_TEST_WIDGETS=10 is out of range"):
        load_settings(env={"NEURORAIL_TEST_WIDGETS": "10"})


def test_a_setting_cannot_be_declared_twice(declared_setting):
    with pytest.raises(ValueError, match="declared twice"):
        declare("neurorail", neurorail_test_widgets=setting("NEURORAIL_TEST_WIDGETS", _int(1, 9), "again", 3))


def test_the_rails_declare_their_own_settings():
    specs = all_specs()
    for name in ("neurorail_reflex_failures", "neurorail_max_retries", "neurorail_budget_estimate_tokens"):
        assert specs[name].section == "neurorail"
    settings = load_settings(env={"NEURORAIL_REFLEX_FAILURES": "5"})
    assert settings.neurorail_reflex_failures == 5
    assert pickle.loads(pickle.dumps(settings)) == settings  # settings travel to pool processes intact


def test_an_unknown_setting_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no setting 'neurorail_nonsense'"):
        load_settings(env={}).neurorail_nonsense  # noqa: B018
