"""Alembic migrations for BRAiN's database (SQLite and PostgreSQL)."""
