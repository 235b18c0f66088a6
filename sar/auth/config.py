"""Settings of authentication (section ``auth`` of the one settings object)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class AuthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token_ttl_h: float = Field(default=12.0, gt=0, le=24 * 30, description="a login token expires after this")
    users_file: Path | None = Field(
        default=None, description="JSON file of users with argon2 hashes; `dwatch user add` writes it"
    )
    login_free_failures: int = Field(default=5, ge=1, le=100, description="failed logins of a user before back-off")
    login_backoff_max_s: float = Field(default=60.0, ge=0, le=3600, description="longest wait after failed logins")
