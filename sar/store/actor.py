"""Who is acting in the current request: set by :class:`sar.store.http.StoreMiddleware` from the
request's token, read by the store when it writes audit rows and response stages, so they name
the logged-in user rather than the ``by`` a client typed. A context variable, because the
request's task (and the worker threads it starts with ``asyncio.to_thread``) carry it without
threading it through every call."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    agency: str


current_actor: ContextVar[Actor | None] = ContextVar("dwatch_current_actor", default=None)


def actor_name(fallback: str) -> str:
    """The logged-in user's name, else ``fallback`` (a crew, the system, a command line)."""
    actor = current_actor.get()
    return actor.username if actor is not None else fallback


def actor_agency() -> str | None:
    actor = current_actor.get()
    return actor.agency if actor is not None else None
