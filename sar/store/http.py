"""What the store learns at the HTTP edge: who is acting, who opened an incident, who logged in.

:class:`StoreMiddleware` (pure ASGI, HTTP only) sets :data:`~sar.store.actor.current_actor` to the
user of the request's token, so audit rows and stages name the logged-in user. Before the
response starts (so it is committed before the client sees the answer) it records:

- ``acknowledged`` when an operator or admin opens an open incident's detail
  (``GET /api/incidents/{id}``) or recommendations (``GET /api/incidents/{id}/recommendations``)
  with a 2xx answer; dispatching and closing acknowledge in the store's own hooks;
- audit entries ``login`` / ``login_failed`` (``POST /api/auth/login``, 200 / 401) and ``user_add``
  (``POST /api/users``, 201), the name read from the request body (at most 8 KB kept).

These records never fail a request: a database error is logged and the answer goes out.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sar.auth.service import Auth
from sar.auth.users import Role, normalise
from sar.store.actor import Actor, current_actor
from sar.store.engine import StoreError
from sar.store.schema import Stage
from sar.store.store import Store

log = logging.getLogger("sar.store")

_OPENED = re.compile(r"^/api/incidents/([^/]+)(?:/recommendations)?$")
_ACKNOWLEDGERS = frozenset({Role.OPERATOR.value, Role.ADMIN.value})
_BODY_PATHS = frozenset({"/api/auth/login", "/api/users"})
_BODY_MAX = 8192


class StoreMiddleware:
    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app, self.store = app, store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        actor = _actor(scope)
        body = bytearray()
        keep_body = scope["method"] == "POST" and scope["path"] in _BODY_PATHS

        async def receive_kept() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < _BODY_MAX:
                body.extend(message.get("body", b"")[: _BODY_MAX - len(body)])
            return message

        async def send_after_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                try:
                    self._record(scope, int(message["status"]), actor, bytes(body))
                except StoreError:
                    log.exception("stage or audit of %s %s not recorded", scope["method"], scope["path"])
            await send(message)

        token = current_actor.set(actor)
        try:
            await self.app(scope, receive_kept if keep_body else receive, send_after_record)
        finally:
            current_actor.reset(token)

    def _record(self, scope: Scope, status: int, actor: Actor | None, body: bytes) -> None:
        method, path = scope["method"], scope["path"]
        if method == "GET" and 200 <= status < 300 and actor is not None and actor.role in _ACKNOWLEDGERS:
            match = _OPENED.match(path)
            if match and not self.store.has_stage(match.group(1), Stage.ACKNOWLEDGED):
                now = self.store.clock()
                self.store.record_stage(match.group(1), Stage.ACKNOWLEDGED, now, actor.username, None, actor.agency)
        elif method == "POST" and path == "/api/auth/login" and status in (200, 401):
            name = normalise(str(_field(body, "username")))[:200]
            self.store.audit("login" if status == 200 else "login_failed", name, {}, name)
        elif method == "POST" and path == "/api/users" and status == 201 and actor is not None:
            detail = {k: _field(body, k) for k in ("role", "agency", "asset_id")}
            self.store.audit("user_add", normalise(str(_field(body, "username"))), detail, actor.username)


def _actor(scope: Scope) -> Actor | None:
    """The user of the request's bearer token (None without a valid one)."""
    headers = dict(scope.get("headers") or [])
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    auth: Auth = scope["app"].state.auth
    try:
        found = auth.identify(token.strip())
    except StoreError:  # the route's own check answers 503
        return None
    if found is None:
        return None
    user = found.user
    return Actor(user.username, user.role.value, user.agency.value)


def _field(body: bytes, name: str) -> Any:
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    return doc.get(name) if isinstance(doc, dict) else None
