"""Who may call what: the token on a request or websocket, and the role a route needs.

Routers declare access with :func:`allow` (the roles that may read with GET, and those that may
change with any other method); the handler gets the user with :data:`CurrentUser`. A missing,
unknown or expired token is 401, a role without the right is 403 naming the roles needed.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sar.auth.service import Auth, Identity
from sar.auth.users import Role, User

OPERATIONAL = frozenset({Role.OPERATOR, Role.ADMIN})
READERS = OPERATIONAL | {Role.ANALYST}
ANYONE = READERS | {Role.CREW}
ADMINS = frozenset({Role.ADMIN})

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403

_ORDER = (Role.OPERATOR, Role.ADMIN, Role.ANALYST, Role.CREW)
_READ_METHODS = frozenset({"GET", "HEAD"})
Bearer = Depends(HTTPBearer(auto_error=False, description="the token from POST /api/auth/login"))


def role_names(roles: frozenset[Role]) -> str:
    names = [r.value for r in _ORDER if r in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def app_auth(request: Request) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def identity(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Bearer]) -> Identity:
    if credentials is None:
        raise unauthorized("missing token: log in with POST /api/auth/login and send Authorization: Bearer <token>")
    found = app_auth(request).identify(credentials.credentials)
    if found is None:
        raise unauthorized("invalid or expired token: log in again")
    return found


async def current_user(found: Annotated[Identity, Depends(identity)]) -> User:
    return found.user


CurrentIdentity = Annotated[Identity, Depends(identity)]
CurrentUser = Annotated[User, Depends(current_user)]


def forbidden(request: Request, user: User, roles: frozenset[Role]) -> HTTPException:
    return HTTPException(
        403, f"{request.method} {request.url.path} needs role {role_names(roles)} (you are {user.role.value})"
    )


def allow(read: frozenset[Role], write: frozenset[Role] = OPERATIONAL) -> Any:
    """A dependency: a valid token whose role is in ``read`` (GET, HEAD) or ``write`` (others)."""

    async def check(request: Request, user: CurrentUser) -> None:
        roles = read if request.method in _READ_METHODS else write
        if user.role not in roles:
            raise forbidden(request, user, roles)

    return Depends(check)


def websocket_token(ws: WebSocket) -> str:
    """``Authorization: Bearer <token>``, else ``?token=`` (browsers cannot set headers); '' if none."""
    scheme, _, value = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return ws.query_params.get("token", "")


async def websocket_identity(ws: WebSocket, roles: frozenset[Role]) -> Identity | None:
    """The identity of an accepted socket's token when its role is in ``roles``; otherwise the
    socket is closed (4401 no or bad token, 4403 wrong role) and None returned."""
    auth: Auth = ws.app.state.auth
    token = websocket_token(ws)
    found = auth.identify(token) if token else None
    if found is None:
        await ws.close(code=CLOSE_UNAUTHORIZED, reason="missing, invalid or expired token")
        return None
    if found.user.role not in roles:
        await ws.close(code=CLOSE_FORBIDDEN, reason=f"needs role {role_names(roles)}")
        return None
    return found


class RedactTokens(logging.Filter):
    """Blanks ``token=...`` in log records: uvicorn logs websocket URLs with their query, and a
    token in a log file is a token anyone with the log can use."""

    _TOKEN = re.compile(r"(token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self._TOKEN.sub(r"\1***", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._TOKEN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


def redact_tokens_in_server_logs() -> None:
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(RedactTokens())
