"""Storage: what survives a restart and what reports measure (SQLite by default, PostgreSQL).

``schema.py`` the tables; ``store.py`` the write-through store the incident and order books call
before they publish; ``load.py`` what a restart reads back; ``wiring.py`` restore and hooks in the
app; ``migrate.py`` + ``migrations/`` the Alembic scripts. See ``docs/storage.md``.
"""
