"""Migrations on SQLite and the real PostgreSQL: from an empty database up to head they make
exactly the tables, columns, indexes and foreign keys of ``sar.store.schema`` (and autogenerate
finds nothing to change); ``dwatch db``; a built wheel carries the scripts and migrates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from sar.store.config import StorageSettings
from sar.store.engine import make_engine
from sar.store.migrate import current, differences, head, upgrade
from sar.store.schema import Base
from tests.conftest import REPO
from tests.test_store import db_url  # noqa: F401  (the fixture: a fresh SQLite file or PostgreSQL database)

TABLES = {
    "incidents", "incident_events", "orders", "order_events", "asset_states", "sensor_health_events", "users",
    "audit_log", "track_points", "coverage_samples", "sessions",
}  # fmt: skip


def shape(tables: dict[str, Any], table: str, columns: list[dict[str, Any]], indexes: list[dict[str, Any]],
          fks: list[dict[str, Any]]) -> None:  # fmt: skip
    tables[table] = {
        "columns": {c["name"]: bool(c["nullable"]) for c in columns},
        "indexes": {i["name"]: tuple(i["column_names"]) for i in indexes},
        "fks": sorted(
            (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"])) for f in fks
        ),
    }


def test_migrations_from_empty_make_exactly_the_schema(db_url: str) -> None:  # noqa: F811
    engine = make_engine(StorageSettings(url=db_url))
    assert current(engine) is None
    assert upgrade(engine) == head() == "0003"
    assert upgrade(engine) == "0003"  # again: nothing to do
    found: dict[str, Any] = {}
    db = inspect(engine)
    assert set(db.get_table_names()) == TABLES | {"alembic_version"}
    for t in TABLES:
        shape(found, t, db.get_columns(t), db.get_indexes(t), db.get_foreign_keys(t))
    wanted: dict[str, Any] = {}
    for t in TABLES:
        table = Base.metadata.tables[t]
        columns = [{"name": c.name, "nullable": c.nullable} for c in table.columns]
        indexes = [{"name": i.name, "column_names": [c.name for c in i.columns]} for i in table.indexes]
        fks = [{"constrained_columns": [f.parent.name], "referred_table": f.column.table.name,
                "referred_columns": [f.column.name]} for f in table.foreign_keys]  # fmt: skip
        shape(wanted, t, columns, indexes, fks)
    assert found == wanted
    assert found["incident_events"]["indexes"]["ix_incident_events_incident_time"] == ("incident_id", "time")
    assert differences(engine) == []
    engine.dispose()


def dwatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sar", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env})  # fmt: skip


def test_dwatch_db_current_and_upgrade(db_url: str) -> None:  # noqa: F811
    env = {"DWATCH_STORAGE__URL": db_url}
    before = dwatch("db", "current", env=env)
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout) == {"database": db_url, "revision": None, "head": "0003", "up_to_date": False}
    up = dwatch("db", "upgrade", env=env)
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout) == {"database": db_url, "revision": "0003", "head": "0003", "up_to_date": True}
    assert json.loads(dwatch("db", "current", env=env).stdout)["up_to_date"] is True


def test_dwatch_db_refuses_when_storage_is_disabled() -> None:
    r = dwatch("db", "current", env={"DWATCH_STORAGE__ENABLED": "false"})
    assert (r.returncode, r.stderr) == (
        2,
        "dwatch: error: storage is disabled (storage.enabled = false): there is no database\n",
    )


@pytest.mark.slow
def test_a_built_wheel_carries_the_migrations_and_migrates(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next((tmp_path / "dist").glob("dniester_watch-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "sar/store/schema.py",
        "sar/store/migrations/env.py",
        "sar/store/migrations/script.py.mako",
        "sar/store/migrations/versions/0001_initial.py",
        "sar/store/migrations/versions/0002_coverage_samples.py",
        "sar/store/migrations/versions/0003_sessions.py",
    } <= names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    db = tmp_path / "w.db"
    code = "\n".join(
        [
            "import json, sar.store",
            "from sqlalchemy import inspect",
            "from sar.store.config import StorageSettings",
            "from sar.store.engine import make_engine",
            "from sar.store.migrate import upgrade",
            f"e = make_engine(StorageSettings(url='sqlite:///{db}'))",
            "rev = upgrade(e)",
            "print(json.dumps({'pkg': sar.store.__file__, 'rev': rev, 'tables': inspect(e).get_table_names()}))",
        ]
    )
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["pkg"].startswith(str(site)) and out["rev"] == "0003"
    assert set(out["tables"]) == TABLES | {"alembic_version"}
