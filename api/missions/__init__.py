"""The missions resource: enqueue, read, list, cancel, info."""
