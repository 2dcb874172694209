"""The pipelines resource: definitions and their versions."""
