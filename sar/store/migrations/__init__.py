"""Alembic migration scripts of the store (run programmatically by :mod:`sar.store.migrate`)."""
