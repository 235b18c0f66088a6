"""Settings of storage (section ``storage`` of the one settings object).

By default the server keeps everything in the SQLite file ``dwatch.db`` inside ``data_dir``
(``dwatch-data`` under the working directory, made when missing). ``url`` names another
database instead: ``sqlite:////abs/path.db`` or ``postgresql+pg8000://user:password@host/db``
(``postgresql://`` is read as pg8000, the pure-Python driver; no other driver is supported).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

SQLITE_FILE = "dwatch.db"


class StorageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="false: keep nothing (a restart loses everything)")
    data_dir: Path = Field(default=Path("dwatch-data"), description="holds dwatch.db unless url is given")
    url: str | None = Field(
        default=None, description="sqlite:///FILE or postgresql+pg8000://USER:PASSWORD@HOST:PORT/DB; default: data_dir"
    )
    track_every_s: float = Field(default=10.0, gt=0, le=3600, description="one kept point per track this often")
    track_retention_days: float = Field(default=30.0, gt=0, le=3660, description="track points older are deleted")
    closed_restore_days: float = Field(
        default=30.0, ge=0, le=3660, description="closed incidents this recent are back in the API after a restart"
    )
    busy_timeout_s: float = Field(default=5.0, gt=0, le=600, description="SQLite: wait this long for a lock")
    echo: bool = Field(default=False, description="log every SQL statement")

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, sep, rest = value.partition("://")
        if not sep:
            raise ValueError("give a URL such as sqlite:///var/lib/dwatch/dwatch.db or postgresql+pg8000://...")
        if scheme in ("postgresql", "postgres"):
            return f"postgresql+pg8000://{rest}"
        if scheme not in ("sqlite", "sqlite+pysqlite", "postgresql+pg8000"):
            raise ValueError(f"unsupported database {scheme!r}: use sqlite:/// or postgresql+pg8000://")
        return value

    def database_url(self) -> str:
        """The SQLAlchemy URL: ``url`` if given, else the SQLite file in ``data_dir``."""
        if self.url is not None:
            return self.url
        return f"sqlite:///{(self.data_dir / SQLITE_FILE).resolve()}"
