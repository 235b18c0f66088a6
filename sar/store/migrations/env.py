"""Alembic environment: runs on the connection :mod:`sar.store.migrate` hands over (no ini file,
no URL here), against the one definition of the tables, :mod:`sar.store.schema`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from sar.store.schema import Base


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through sar.store.migrate (dwatch db upgrade), which passes a connection")
run(connection)
