"""Database connections with the durability the system promises, and the one-server lock.

SQLite: WAL journal (readers never wait for the writer), ``synchronous=FULL`` (a commit is on
disk before it returns: WAL + NORMAL can lose the last commits on power loss, and an order is
acknowledged only once committed), foreign keys enforced, a busy timeout instead of instant
"database is locked" errors. PostgreSQL (pg8000): every session runs ``synchronous_commit = on``
whatever the server default, in UTC.

Two servers on one database would hand out the same incident and order ids, so a server holds
:class:`ServerLock` while it runs: an exclusive ``flock`` on ``<file>.lock`` for SQLite, a session
advisory lock for PostgreSQL. Both are released by the kernel or the database when the process
dies, even by SIGKILL.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from sar.store.config import StorageSettings


class StoreError(Exception):
    """The database cannot be used (unreachable, locked by another server, not migratable);
    the message is one line and never shows a password."""


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def make_engine(settings: StorageSettings) -> Engine:
    """An engine for the configured database. Lazy: nothing (not even a folder) is touched
    before the first statement; :func:`make_folder` first for a SQLite file that may be new."""
    url = make_url(settings.database_url())
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=settings.echo,
            connect_args={"check_same_thread": False, "timeout": settings.busy_timeout_s},
        )
        event.listen(engine, "connect", _sqlite_pragmas(settings.busy_timeout_s))
        return engine
    engine = create_engine(url, echo=settings.echo, pool_pre_ping=True)
    event.listen(engine, "connect", _postgres_session)
    return engine


def make_folder(engine: Engine) -> None:
    """Make the folder of a SQLite file when missing (nothing to do for PostgreSQL)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        try:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot make the folder of {url.database}: {exc.strerror}") from None


def _sqlite_pragmas(busy_timeout_s: float) -> Any:
    def on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        finally:
            cursor.close()

    return on_connect


def _postgres_session(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SET synchronous_commit TO on")
        cursor.execute("SET TIME ZONE 'UTC'")
    finally:
        cursor.close()
    dbapi_connection.commit()


def describe(exc: BaseException) -> str:
    """One line about a database error (the driver's own message, without SQL or parameters;
    pg8000 gives the server's fields as a dict: its message ``M`` and code ``C`` are kept)."""
    orig = getattr(exc, "orig", None) or exc
    first = orig.args[0] if orig.args else None
    if isinstance(first, dict) and "M" in first:
        text_ = f"{first['M']} (SQLSTATE {first.get('C', '?')})"
    else:
        text_ = " ".join(str(orig).split())
    return text_[:300] or type(orig).__name__


class ServerLock:
    """Held while a server runs on a database; ``acquire`` raises StoreError when another
    server holds it (after ``wait_s``: a killed server's PostgreSQL session may take a moment
    to end)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._fd: int | None = None
        self._conn: Connection | None = None

    def acquire(self, wait_s: float = 10.0) -> None:
        deadline = time.monotonic() + wait_s
        while not self._try():
            if time.monotonic() >= deadline:
                where = safe_url(str(self.engine.url))
                raise StoreError(f"another dwatch server is running on {where}: stop it first")
            time.sleep(0.2)

    def _try(self) -> bool:
        url = self.engine.url
        if url.get_backend_name() == "sqlite":
            return self._try_file(Path(f"{url.database}.lock"))
        try:
            if self._conn is None:
                self._conn = self.engine.connect()
            key = "hashtext(current_database() || '.' || current_schema() || '.dwatch-server')"
            got = bool(self._conn.execute(text(f"SELECT pg_try_advisory_lock({key})")).scalar())
            self._conn.commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot lock {safe_url(str(url))}: {describe(exc)}") from None
        return got

    def _try_file(self, path: Path) -> bool:
        if self._fd is None:
            try:
                self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise StoreError(f"cannot open lock file {path}: {exc.strerror}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            try:
                self._conn.invalidate()  # really close the session (and its lock), not back to the pool
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None
