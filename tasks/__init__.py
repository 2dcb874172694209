"""Thin Celery tasks: they take ids and call brain's runner and services."""
