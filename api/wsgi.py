"""WSGI entry point for gunicorn: `gunicorn api.wsgi:app`."""

from __future__ import annotations

import sys

from brain.errors import BrainError

try:
    from api import create_app

    app = create_app()
except BrainError as exc:
    print(f"brain: error: {exc}", file=sys.stderr)
    sys.exit(2)
