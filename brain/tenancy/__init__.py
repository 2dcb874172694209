"""Tenants: records, plans with their default limits, the status every process checks."""
