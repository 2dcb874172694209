"""BRAiN: mission orchestration for AI agents on Celery."""

__version__ = "0.1.0"
