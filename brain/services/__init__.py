"""Domain logic; functions take a session (and a Redis client), never Flask or Celery."""
