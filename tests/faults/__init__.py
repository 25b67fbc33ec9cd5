"""Fault injection against the real stack (`python -m tests.faults [--long] [--seed S]`).

Replayed searches run on real RabbitMQ and PostgreSQL (a private virtual host and
database) while faults are injected at seeded random moments; after each search the
invariants in `checks.py` must hold. `tests/integration/faults/` runs the short form.
"""
