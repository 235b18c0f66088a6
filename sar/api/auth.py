"""``/api/auth``: log in for a token, who am I, switch my language, log out."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from sar.api.security import CurrentIdentity, CurrentUser, app_auth
from sar.auth.service import Auth, LoginThrottled
from sar.auth.users import Language

router = APIRouter(prefix="/api/auth", tags=["auth"])

WRONG = "wrong username or password"


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    username: str
    role: str
    agency: str
    asset_id: str | None
    language: str


class LoginOut(BaseModel):
    token: str
    expires_at: datetime
    user: UserOut


class MeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language


AuthDep = Annotated[Auth, Depends(app_auth)]


@router.post("/login", response_model=LoginOut)
async def login(body: LoginIn, auth: AuthDep) -> LoginOut:
    """A token for ``Authorization: Bearer`` (and ``?token=`` on websockets), valid for
    ``auth.token_ttl_h`` hours. A wrong name and a wrong password get the same 401."""
    try:
        found = await asyncio.to_thread(auth.login, body.username, body.password)  # argon2 is slow on purpose
    except LoginThrottled as exc:
        retry = max(1, round(exc.retry_after_s))
        raise HTTPException(429, str(exc), headers={"Retry-After": str(retry)}) from None
    if found is None:
        raise HTTPException(401, WRONG, headers={"WWW-Authenticate": "Bearer"})
    session, user = found
    return LoginOut(token=session.token, expires_at=session.expires_at, user=UserOut(**user.to_dict()))


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return UserOut(**user.to_dict())


@router.patch("/me", response_model=UserOut)
async def set_language(body: MeIn, user: CurrentUser, auth: AuthDep) -> UserOut:
    """Switch my language (en, ro, uk); kept with the user."""
    changed = await asyncio.to_thread(auth.users.set_language, user.username, body.language)
    return UserOut(**changed.to_dict())


@router.post("/logout")
async def logout(found: CurrentIdentity, auth: AuthDep) -> dict[str, Any]:
    """Revoke this token (the user's other sessions stay)."""
    return {"revoked": auth.logout(found), "username": found.user.username}
