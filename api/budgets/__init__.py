"""Budgets: limit, spent, reserved and remaining per scope and period."""
