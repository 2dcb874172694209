"""BRAiN's test suite: unit tests and end-to-end tests against real servers."""
