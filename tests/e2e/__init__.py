"""End-to-end tests: the API and workers run as real processes; tests speak HTTP."""
