"""Schema migrations, run programmatically from the packaged scripts (``sar/store/migrations``):
the server upgrades its database to the head revision at start; ``dwatch db upgrade`` and
``dwatch db current`` do it by hand. Works from an installed wheel (the scripts are package
data, found by ``package:resource`` location)."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from sar.store.engine import StoreError, describe, make_folder, safe_url
from sar.store.schema import Base

SCRIPTS = "sar.store:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPTS)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision of the packaged scripts."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if found is None:
        raise StoreError("no migration scripts found in the package")
    return found


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the database to ``revision`` (a new SQLite file's folder is made); returns the
    revision it is at then."""
    make_folder(engine)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
        return current(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate {safe_url(str(engine.url))}: {describe(exc)}") from None


def current(engine: Engine) -> str | None:
    """The database's revision (None: never migrated)."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read {safe_url(str(engine.url))}: {describe(exc)}") from None


def differences(engine: Engine) -> list[Any]:
    """What autogenerate would change to make the database match :mod:`sar.store.schema`:
    empty when the migrations and the models agree (as ``alembic check`` tests)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))
