"""Fair scheduling: which queued missions the broker gets next, weighted across tenants."""
