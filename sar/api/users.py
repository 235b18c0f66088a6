"""``/api/users``: the admin lists and adds users."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from sar.api.auth import UserOut
from sar.api.security import ADMINS, allow, app_auth
from sar.auth.service import Auth
from sar.auth.users import PASSWORD_MAX, PASSWORD_MIN, Language, Role, User, UserError, UserExists
from sar.dispatch.fleet import Agency, Fleet

router = APIRouter(prefix="/api/users", tags=["auth"], dependencies=[allow(ADMINS, ADMINS)])


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, description="lower case: letters, digits, . _ @ -")
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    role: Role
    agency: Agency
    asset_id: str | None = Field(default=None, description="crew: the boat they crew (a fleet asset id)")
    language: Language = Language.EN


@router.get("", response_model=list[UserOut])
async def list_users(auth: Annotated[Auth, Depends(app_auth)]) -> list[UserOut]:
    return [UserOut(**u.to_dict()) for u in auth.users.list()]


@router.post("", response_model=UserOut, status_code=201)
async def add_user(body: UserIn, request: Request) -> UserOut:
    """A new user (hashed with argon2; written to the users file when one is configured)."""
    fleet: Fleet = request.app.state.fleet
    if body.asset_id is not None and body.asset_id not in {a.id for a in fleet.all()}:
        raise HTTPException(422, f"asset_id: no asset {body.asset_id!r} in the fleet")
    user = User(body.username, body.role, body.agency, body.asset_id, body.language)
    try:
        added = await asyncio.to_thread(app_auth(request).users.add, user, body.password)
    except UserExists as exc:
        raise HTTPException(409, str(exc)) from None
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    return UserOut(**added.to_dict())
