"""Flower reads this file from its working directory: `celery -A brain flower` gets BRAiN's defaults."""

from brain.config import get_settings
from brain.flower import options as _options

# Loopback unless BRAIN_FLOWER_ADDRESS says otherwise; basic auth from
# BRAIN_FLOWER_USER / BRAIN_FLOWER_PASSWORD (FLOWER_* variables still win).
globals().update(_options(get_settings()))
