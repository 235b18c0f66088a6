"""Login tokens and the back-off after failed logins.

A token is ``secrets.token_urlsafe(32)`` (256 random bits) handed out once; the server keeps only
its SHA-256 with the user and the expiry, so a leaked session table gives nobody a working token.
Tokens live in memory and, when storage is on, in the database too (``on_issue`` commits a new
grant before its token is handed out, ``on_revoke`` deletes it, ``load`` puts the kept ones back
after a restart). The clock is injected (wall time, not the demo's fast scenario time).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sensors.adapter import Clock


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Session:
    token: str  # in clear: given to the client once, never kept
    username: str
    expires_at: datetime


@dataclass(frozen=True)
class Grant:
    """What a valid token stands for."""

    username: str
    expires_at: datetime
    token_sha256: str


class Sessions:
    """Issued tokens by SHA-256, with expiry; expired ones are dropped as new ones are issued."""

    def __init__(self, ttl_s: float, clock: Clock) -> None:
        if not ttl_s > 0:
            raise ValueError(f"ttl_s must be positive, got {ttl_s}")
        self.ttl = timedelta(seconds=ttl_s)
        self.clock = clock
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()
        self.on_issue: Callable[[Grant], None] | None = None
        self.on_revoke: Callable[[str], None] | None = None

    def load(self, grants: Iterable[Grant]) -> int:
        """Put back grants kept from an earlier run (expired ones are skipped); how many."""
        now = self.clock.now()
        fresh = [g for g in grants if g.expires_at > now]
        with self._lock:
            self._grants.update((g.token_sha256, g) for g in fresh)
        return len(fresh)

    def issue(self, username: str) -> Session:
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        grant = Grant(username, now + self.ttl, token_sha256(token))
        if self.on_issue is not None:
            self.on_issue(grant)  # kept before the token is given to anyone
        with self._lock:
            for digest in [d for d, g in self._grants.items() if g.expires_at <= now]:
                del self._grants[digest]
            self._grants[grant.token_sha256] = grant
        return Session(token, username, grant.expires_at)

    def resolve(self, token: str) -> Grant | None:
        """The grant of a token that is known and not expired, else None."""
        return self.resolve_digest(token_sha256(token))

    def resolve_digest(self, digest: str) -> Grant | None:
        grant = self._grants.get(digest)  # keyed by a hash: lookup time tells nothing about the token
        if grant is None or grant.expires_at <= self.clock.now():
            return None
        return grant

    def revoke_digest(self, digest: str) -> bool:
        if self.on_revoke is not None:
            self.on_revoke(digest)
        with self._lock:
            return self._grants.pop(digest, None) is not None


class LoginBackoff:
    """After ``free_failures`` failed logins in a row for one username, the next attempt must wait
    1 s, then 2, 4, ... up to ``max_s``; a success clears the count. Unknown names are counted
    alike, so the back-off tells nothing about which names exist. At most ``capacity`` names are
    remembered (the oldest forgotten first)."""

    def __init__(self, clock: Clock, free_failures: int = 5, max_s: float = 60.0, capacity: int = 10_000) -> None:
        self.clock, self.free_failures, self.max_s, self.capacity = clock, free_failures, max_s, capacity
        self._failures: OrderedDict[str, tuple[int, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def wait_s(self, username: str) -> float:
        """Seconds before this username may try again (0: now)."""
        with self._lock:
            count, last = self._failures.get(username, (0, None))
        if last is None or count < self.free_failures:
            return 0.0
        delay_s = min(self.max_s, 2.0 ** (count - self.free_failures))
        left_s = delay_s - (self.clock.now() - last).total_seconds()
        return max(0.0, left_s)

    def failed(self, username: str) -> None:
        with self._lock:
            count, _ = self._failures.pop(username, (0, None))
            self._failures[username] = (count + 1, self.clock.now())
            while len(self._failures) > self.capacity:
                self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)
