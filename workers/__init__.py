"""Worker process concerns: pool checks, per-process hooks, the metrics endpoint."""
