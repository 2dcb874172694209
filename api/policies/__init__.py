"""The policies resource: the active policy set and reloading it."""
