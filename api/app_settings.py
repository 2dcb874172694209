"""The one way API code reads settings during a request: the Settings the app was created with."""

from __future__ import annotations

from flask import current_app

from brain.config import Settings

KEY = "BRAIN_SETTINGS"


def app_settings() -> Settings:
    return current_app.config[KEY]
