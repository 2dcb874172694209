"""BRAiN's benchmark: BRAiN and a bare Flask + Celery peer measured side by side (`python -m bench`)."""
