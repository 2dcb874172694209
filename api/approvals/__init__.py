"""The approvals resource: list, read, approve and reject held missions."""
