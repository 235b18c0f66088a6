"""The authentication service the HTTP edge uses: log in, identify a token, log out; and the
first admin from the environment."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sar.auth.config import AuthSettings
from sar.auth.sessions import LoginBackoff, Session, Sessions
from sar.auth.users import Role, User, UserError, UserStore, normalise
from sar.dispatch.fleet import Agency
from sensors.adapter import Clock, SystemClock

log = logging.getLogger("sar.auth")

ADMIN_ENV = ("DWATCH_ADMIN_USERNAME", "DWATCH_ADMIN_PASSWORD")
ADMIN_AGENCY_ENV = "DWATCH_ADMIN_AGENCY"


class LoginThrottled(Exception):
    """Too many failed logins for this username just now."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many failed logins for this username: try again in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Identity:
    """The user behind a valid token."""

    user: User
    expires_at: datetime
    token_sha256: str


class Auth:
    def __init__(self, users: UserStore, sessions: Sessions, backoff: LoginBackoff) -> None:
        self.users, self.sessions, self.backoff = users, sessions, backoff

    @classmethod
    def from_settings(cls, settings: AuthSettings, clock: Clock | None = None) -> Auth:
        """Users from ``settings.users_file`` (if any); tokens on the wall clock unless told."""
        clock = clock or SystemClock()
        return cls(
            UserStore(settings.users_file),
            Sessions(settings.token_ttl_h * 3600.0, clock),
            LoginBackoff(clock, settings.login_free_failures, settings.login_backoff_max_s),
        )

    def login(self, username: str, password: str) -> tuple[Session, User] | None:
        """A new session for the right password, None for a wrong name or password (the same
        answer for both); raise LoginThrottled during the back-off. Slow on purpose (argon2):
        call it from a worker thread."""
        name = normalise(username)[:200]
        wait_s = self.backoff.wait_s(name)
        if wait_s > 0:
            raise LoginThrottled(wait_s)
        user = self.users.verify(name, password)
        if user is None:
            self.backoff.failed(name)
            log.warning("failed login for %r", name)
            return None
        self.backoff.succeeded(name)
        return self.sessions.issue(user.username), user

    def identify(self, token: str) -> Identity | None:
        """The user of a valid, unexpired token whose user still exists."""
        grant = self.sessions.resolve(token)
        if grant is None:
            return None
        user = self.users.get(grant.username)
        return Identity(user, grant.expires_at, grant.token_sha256) if user else None

    def still_valid(self, identity: Identity) -> bool:
        """False once the token expired or was revoked (for long-lived sockets)."""
        return self.sessions.resolve_digest(identity.token_sha256) is not None

    def logout(self, identity: Identity) -> bool:
        """Revoke this token (the user's other sessions stay)."""
        return self.sessions.revoke_digest(identity.token_sha256)


def admin_from_env(environ: Mapping[str, str]) -> tuple[str, str, Agency] | None:
    """The first admin's (name, password, agency) from DWATCH_ADMIN_USERNAME, DWATCH_ADMIN_PASSWORD
    and DWATCH_ADMIN_AGENCY (MD or UA, default MD); None when neither of the first two is set.
    Raise UserError when only one of them is set or the agency is not MD or UA."""
    name, password = (environ.get(k, "") for k in ADMIN_ENV)
    if not name and not password:
        return None
    if not (name and password):
        raise UserError(f"set both {ADMIN_ENV[0]} and {ADMIN_ENV[1]}, or neither")
    agency = environ.get(ADMIN_AGENCY_ENV, "MD")
    if agency not in {a.value for a in Agency}:
        raise UserError(f"{ADMIN_AGENCY_ENV} must be MD or UA, got {agency!r}")
    return name, password, Agency(agency)


def ensure_admin(users: UserStore, name: str, password: str, agency: Agency) -> User:
    """Add this admin in memory only, unless a user of that name exists (then it is left as it is)."""
    existing = users.get(name)
    if existing is not None:
        log.info("admin %r from the environment: the user exists already, left unchanged", existing.username)
        return existing
    return users.add(User(name, Role.ADMIN, agency), password, persist=False)
