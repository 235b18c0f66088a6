"""Users of the system: role, agency, the boat a crew member crews, language, argon2 password hash.

:class:`UserStore` keeps them in memory and, when given a file, in that JSON file too (written
atomically under a lock; re-read when another process, such as ``dwatch user add``, changed it).
Users added with ``persist=False`` (demo users, the admin from the environment) live in memory
only. Passwords are never stored, only their argon2id hashes (RFC 9106 low-memory profile).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sar.auth.userfile import ALWAYS, read_users, update_users
from sar.dispatch.fleet import Agency

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._@-]{0,63}$"
PASSWORD_MIN = 10
PASSWORD_MAX = 1024


class Role(StrEnum):
    OPERATOR = "operator"
    CREW = "crew"
    ANALYST = "analyst"
    ADMIN = "admin"


class Language(StrEnum):
    EN = "en"
    RO = "ro"
    UK = "uk"


class UserError(ValueError):
    """A user cannot be made or changed as asked; the message is one line."""


class UserExists(UserError):
    pass


class UnknownUser(UserError):
    pass


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    agency: Agency
    asset_id: str | None = None
    language: Language = Language.EN

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role.value,
            "agency": self.agency.value,
            "asset_id": self.asset_id,
            "language": self.language.value,
        }


class UserRecord(BaseModel):
    """A user as written in the users file (and validated from any input)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str
    role: Role
    agency: Agency
    asset_id: str | None = Field(default=None, min_length=1, max_length=40)
    language: Language = Language.EN
    password_hash: str = Field(pattern=r"^\$argon2(id|i|d)\$", max_length=512)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not re.fullmatch(USERNAME_PATTERN, value):
            raise ValueError("use 1 to 64 lower-case letters, digits and . _ @ - (first a letter or digit)")
        return value

    @model_validator(mode="after")
    def _crew_has_a_boat(self) -> UserRecord:
        if self.role is Role.CREW and self.asset_id is None:
            raise ValueError("a crew user needs asset_id (the boat they crew)")
        if self.role is not Role.CREW and self.asset_id is not None:
            raise ValueError(f"asset_id is only for crew users, not {self.role.value}")
        return self

    def user(self) -> User:
        return User(self.username, self.role, self.agency, self.asset_id, self.language)


def normalise(username: str) -> str:
    """Usernames are case-insensitive: kept and compared in lower case."""
    return username.strip().lower()


def _record(user: User, password_hash: str) -> UserRecord:
    try:
        return UserRecord(**user.to_dict(), password_hash=password_hash)
    except ValidationError as exc:
        raise UserError("; ".join(_problem(e) for e in exc.errors())) from None


def _problem(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


class UserStore:
    """Users by name. ``add``, ``get``, ``verify``, ``list``, ``set_language``; thread-safe (the
    login runs in a worker thread, everything else on the event loop)."""

    def __init__(self, path: Path | None = None, hasher: PasswordHasher | None = None) -> None:
        self.path = path
        self.hasher = hasher or PasswordHasher()
        self._lock = threading.RLock()
        self._saved: dict[str, UserRecord] = {}  # the file's users (or, without a file, the added ones)
        self._memory: dict[str, UserRecord] = {}  # never written
        self._seen: object = ALWAYS  # the file's signature when last read
        self._dummy_hash: str | None = None
        self._refresh()

    # -- reading -------------------------------------------------------------------------------

    def get(self, username: str) -> User | None:
        rec = self._lookup(normalise(username))
        return rec.user() if rec else None

    def list(self) -> list[User]:
        self._refresh()
        with self._lock:
            records = {**self._saved, **self._memory}
        return [records[name].user() for name in sorted(records)]

    def verify(self, username: str, password: str) -> User | None:
        """The user when the password is theirs, else None. An unknown name costs one hash
        check too, so the time taken does not tell whether the name exists."""
        name = normalise(username)
        rec = self._lookup(name)
        if rec is None:
            self._burn(password)
            return None
        try:
            self.hasher.verify(rec.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if self.hasher.check_needs_rehash(rec.password_hash):
            self._replace(name, lambda r: r.model_copy(update={"password_hash": self.hasher.hash(password)}))
        return rec.user()

    # -- changing ------------------------------------------------------------------------------

    def add(self, user: User, password: str, *, persist: bool = True) -> User:
        """Add a new user with the hash of ``password``; raise UserExists or UserError."""
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise UserError(f"password: give {PASSWORD_MIN} to {PASSWORD_MAX} characters")
        user = replace(user, username=normalise(user.username))
        _record(user, "$argon2id$check")  # validate before the costly hash
        return self.add_hashed(user, self.hasher.hash(password), persist=persist)

    def add_hashed(self, user: User, password_hash: str, *, persist: bool = True) -> User:
        """Add a new user whose password is already hashed (argon2)."""
        rec = _record(replace(user, username=normalise(user.username)), password_hash)
        with self._lock:
            self._refresh()
            if rec.username in self._memory or rec.username in self._saved:
                raise UserExists(f"user {rec.username!r} exists")
            if not persist:
                self._memory[rec.username] = rec
                return rec.user()

            def insert(saved: dict[str, UserRecord]) -> None:
                if rec.username in saved:
                    raise UserExists(f"user {rec.username!r} exists")
                saved[rec.username] = rec

            self._write(insert)
        return rec.user()

    def set_language(self, username: str, language: Language) -> User:
        return self._replace(normalise(username), lambda r: r.model_copy(update={"language": language})).user()

    # -- internals -----------------------------------------------------------------------------

    def _lookup(self, name: str) -> UserRecord | None:
        self._refresh()
        with self._lock:
            return self._memory.get(name) or self._saved.get(name)

    def _burn(self, password: str) -> None:
        """One hash check whose answer is thrown away: against some user's hash (the same cost
        as a real check), or a dummy when there is no user yet."""
        with self._lock:
            some = next(iter(self._saved.values()), None) or next(iter(self._memory.values()), None)
        if some is None and self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("not a password of anyone")
        try:
            self.hasher.verify(some.password_hash if some else str(self._dummy_hash), password)
        except (VerificationError, InvalidHashError):
            pass

    def _replace(self, name: str, change: Callable[[UserRecord], UserRecord]) -> UserRecord:
        with self._lock:
            self._refresh()
            if name in self._memory:
                self._memory[name] = change(self._memory[name])
                return self._memory[name]
            out: list[UserRecord] = []

            def apply(saved: dict[str, UserRecord]) -> None:
                if name not in saved:
                    raise UnknownUser(f"no user {name!r}")
                saved[name] = change(saved[name])
                out.append(saved[name])

            self._write(apply)
            return out[0]

    def _write(self, apply: Callable[[dict[str, UserRecord]], None]) -> None:
        """Apply a change to the saved users: to the file's current content when there is a file."""
        if self.path is None:
            apply(self._saved)
            return
        self._saved, self._seen = update_users(self.path, apply, UserRecord)

    def _refresh(self) -> None:
        if self.path is None:
            return
        with self._lock:
            users, seen = read_users(self.path, UserRecord, self._seen)
            if users is not None:
                self._saved, self._seen = users, seen
