"""NeuroRail operator endpoints: circuit breakers and rollout state."""
