"""Settings: the active profile's defaults overridden by environment variables (declared in settings.py)."""

from brain.config.docs import settings_table
from brain.config.loading import PG_DRIVER_SCHEME, database_url, get_settings, load_settings, set_settings
from brain.config.settings import SPECS, Settings, Spec, mask

__all__ = [
    "PG_DRIVER_SCHEME",
    "SPECS",
    "Settings",
    "Spec",
    "database_url",
    "get_settings",
    "load_settings",
    "mask",
    "set_settings",
    "settings_table",
]
