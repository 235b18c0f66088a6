"""Users in the database: a :class:`~sar.auth.users.UserStore` whose saved users are the ``users``
table instead of the JSON users file.

Where users live: in the users file when ``auth.users_file`` is set (as before storage existed);
otherwise in the database when storage is enabled; otherwise in memory only. ``dwatch user add``
follows the same rule, so the command and the server always agree. Changes are written in one
transaction on the table's current content (a name taken meanwhile by ``dwatch user add`` is
refused, not overwritten); users added by another process are seen within ``refresh_s``.
"""

from __future__ import annotations

import contextlib
import getpass
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from argon2 import PasswordHasher
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from sar.auth.config import AuthSettings
from sar.auth.service import Auth
from sar.auth.sessions import LoginBackoff, Sessions
from sar.auth.users import UserExists, UserRecord, UserStore
from sar.settings import Settings
from sar.store.engine import StoreError, describe
from sar.store.schema import AuditRow, UserRow
from sar.store.store import Store
from sensors.adapter import Clock, SystemClock


class DbUserStore(UserStore):
    """Users of the ``users`` table (plus in-memory ones: demo users, the admin from the
    environment). The table is read lazily (not before the store is open), then again when
    ``refresh_s`` old. With ``audit_as`` (the command line), each user added is audited as
    ``user_add`` by that actor in the same transaction (the server audits at its HTTP edge)."""

    def __init__(
        self, store: Store, hasher: PasswordHasher | None = None, refresh_s: float = 2.0, audit_as: str | None = None
    ) -> None:
        self.store, self.refresh_s, self.audit_as = store, refresh_s, audit_as
        self._read_at: float | None = None
        super().__init__(None, hasher)

    def _refresh(self) -> None:
        if not self.store.opened:
            return
        with self._lock:
            if self._read_at is not None and time.monotonic() - self._read_at < self.refresh_s:
                return
            try:
                with self.store.engine.connect() as conn:
                    self._saved = {r.username: _record(r) for r in conn.execute(select(UserRow))}
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read users from {self.store.where}: {describe(exc)}") from None
            self._read_at = time.monotonic()

    def _write(self, apply: Callable[[dict[str, UserRecord]], None]) -> None:
        """Apply a change to the table's current users, in one transaction."""
        try:
            with self.store.engine.begin() as conn:
                before = {r.username: _record(r) for r in conn.execute(select(UserRow))}
                after = dict(before)
                apply(after)
                for name, rec in after.items():
                    values = rec.model_dump(mode="json")
                    if name not in before:
                        now = datetime.now(UTC)
                        conn.execute(insert(UserRow).values(**values, created_at=now))
                        if self.audit_as is not None:
                            detail = {k: values[k] for k in ("role", "agency", "asset_id")}
                            row = {"time": now, "actor": self.audit_as, "action": "user_add", "target": name}
                            conn.execute(insert(AuditRow).values(**row, detail=detail))
                    elif rec != before[name]:
                        conn.execute(update(UserRow).where(UserRow.username == name).values(**values))
        except IntegrityError:
            raise UserExists("a user of that name was added meanwhile") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot write users to {self.store.where}: {describe(exc)}") from None
        self._saved, self._read_at = after, time.monotonic()


def _record(row: object) -> UserRecord:
    return UserRecord.model_validate(row, from_attributes=True)


@contextlib.contextmanager
def command_users(settings: Settings) -> Iterator[tuple[UserStore, str] | None]:
    """For ``dwatch user``: the users (file, else database) and where they are; None when there
    is neither a users file nor storage."""
    if settings.auth.users_file is not None:
        yield UserStore(settings.auth.users_file), str(settings.auth.users_file)
        return
    if not settings.storage.enabled:
        yield None
        return
    store = Store(settings.storage)
    try:
        store.open()
        yield DbUserStore(store, audit_as=f"cli:{getpass.getuser()}"), f"the database {store.where}"
    finally:
        store.close()


def users_for(settings: AuthSettings, store: Store | None) -> UserStore:
    """The users file when configured, else the database when storage is on, else memory."""
    if settings.users_file is not None or store is None:
        return UserStore(settings.users_file)
    return DbUserStore(store)


def make_auth(settings: AuthSettings, store: Store | None, clock: Clock | None = None) -> Auth:
    """:meth:`Auth.from_settings` with the users where :func:`users_for` says."""
    clock = clock or SystemClock()
    return Auth(
        users_for(settings, store),
        Sessions(settings.token_ttl_h * 3600.0, clock),
        LoginBackoff(clock, settings.login_free_failures, settings.login_backoff_max_s),
    )
