"""``dwatch history`` and ``dwatch report`` as a user runs them: files written, a progress bar on
stderr, JSON on stdout; exit 2 and one line for bad dates, an unknown extension, a missing
database or a history written twice."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def dwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sar", *args], cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'history.db'}"
    r = dwatch("history", "--days", "10", "--seed", "4", "--start", "2025-05-01", "--db", url, "--no-progress")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["start"] == "2025-05-01" and body["incidents"] > 10 and body["orders"] > 0
    return url


def test_report_writes_csv_with_a_progress_bar(db: str, tmp_path: Path) -> None:
    out = tmp_path / "may.csv"
    r = dwatch("report", "--from", "2025-05-01", "--to", "2025-05-31", "--out", str(out), "--db", db)
    assert r.returncode == 0, r.stderr
    assert "report: 100%" in r.stderr and "4/4" in r.stderr
    summary = json.loads(r.stdout)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    total = next(x for x in rows if x["group_kind"] == "all" and x["from_stage"] == "detected"
                 and x["to_stage"] == "alerted")  # fmt: skip
    assert int(total["count"]) == summary["incidents"] > 10
    assert summary["format"] == "csv" and summary["bytes"] == out.stat().st_size


@pytest.mark.parametrize(("suffix", "magic"), [("pdf", b"%PDF-"), ("html", b"<!DOCTYPE html>"), ("json", b"{")])
def test_report_formats(db: str, tmp_path: Path, suffix: str, magic: bytes) -> None:
    out = tmp_path / f"may.{suffix}"
    r = dwatch("report", "--from", "2025-05-01", "--to", "2025-05-10", "--out", str(out), "--db", db, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert out.read_bytes().startswith(magic)


def test_history_twice_is_refused(db: str) -> None:
    r = dwatch("history", "--days", "10", "--seed", "4", "--start", "2025-05-01", "--db", db, "--no-progress")
    assert r.returncode == 2
    assert r.stderr.strip() == "dwatch: error: the history of seed 4 from 2025-05-01 is already in the database"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--from", "2025-05-32", "--to", "2025-06-01", "--out", "r.csv"], "from: expected a date YYYY-MM-DD"),
        (
            ["--from", "2025-05-01", "--to", "2025-06-01", "--out", "r.xlsx"],
            "FILE must end in .json, .csv, .html, .pdf",
        ),
        (["--from", "2025-06-01", "--to", "2025-05-01", "--out", "r.csv"], "to (2025-05-01) is before from"),
        (["--from", "2024-01-01", "--to", "2025-06-01", "--out", "r.csv"], "a report covers at most 400"),
        (["--from", "2025-05-01", "--out", "r.csv"], "the following arguments are required: --to"),
    ],
)
def test_bad_report_input_exits_2_with_one_line(db: str, tmp_path: Path, args: list[str], fragment: str) -> None:
    args = [a if a.startswith("-") or not a.startswith("r.") else str(tmp_path / a) for a in args]
    r = dwatch("report", *args, "--db", db)
    assert r.returncode == 2
    assert r.stdout == "" and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert fragment in r.stderr
    assert not list(tmp_path.iterdir())


def test_missing_database_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    r = dwatch("report", "--from", "2025-05-01", "--to", "2025-05-02", "--out", str(tmp_path / "r.csv"),
               "--db", f"sqlite:///{missing}")  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip() == f"dwatch: error: no database at {missing}"
    assert not missing.exists()
