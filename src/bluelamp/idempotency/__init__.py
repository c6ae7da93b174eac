"""Exactly-once requests: a client's Idempotency-Key remembered with the answer it got."""
