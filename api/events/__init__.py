"""The audit events resource: pages, a mission's life and a Server-Sent Events tail."""
