"""Unit tests: one module of brain/ at a time, with real SQLite/PostgreSQL where a database is needed."""
