"""The peer: what a team writes by hand with Flask + Celery, measured beside BRAiN."""
