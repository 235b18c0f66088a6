"""``GET /api/reports/response-times``: formats and media types, bad periods (422), roles
(analyst, operator and admin read; crew 403; no token 401), and no database (503). The figures
are the hand-made cases of ``tests/test_reports.py``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from geo.river import RiverModel
from geo.routing import RouteGraph
from sar.api.app import create_app
from sar.settings import Settings
from tests.conftest import api_client
from tests.test_reports import CASES, write_cases

URL = "/api/reports/response-times"
PERIOD = {"from": "2025-03-24", "to": "2025-04-06"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, river: RiverModel, graph: RouteGraph) -> Iterator[FastAPI]:
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('api') / 'cases.db'}")
    write_cases(engine, CASES)
    app = create_app(Settings(), river, graph)
    app.state.engine = engine
    yield app
    engine.dispose()


@pytest.fixture(scope="module")
def analyst(app: FastAPI) -> Iterator[TestClient]:
    with api_client(app, role="analyst") as c:
        yield c


def test_json(analyst: TestClient) -> None:
    r = analyst.get(URL, params=PERIOD)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["incidents"] == 10
    first = body["rows"][0]
    assert (first["group_kind"], first["from_stage"], first["to_stage"], first["count"]) == (
        "all", "detected", "alerted", 10)  # fmt: skip
    assert (first["median_s"], first["max_s"]) == (2.75, 6.0)


def test_csv_is_an_attachment_with_the_documented_columns(analyst: TestClient) -> None:
    r = analyst.get(URL, params={**PERIOD, "format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="response-times-2025-03-24-2025-04-06.csv"'
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["group_kind", "group", "from_stage", "to_stage", "count", "median_s", "p90_s", "max_s"]
    assert rows[1] == ["all", "all", "detected", "alerted", "10", "2.750", "5.100", "6.000"]


def test_html_is_a_page(analyst: TestClient) -> None:
    r = analyst.get(URL, params={**PERIOD, "format": "html"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    tags: list[str] = []

    class Page(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append(tag)
            assert all(not (v or "").startswith(("http:", "https:", "//")) for _, v in attrs)

    Page().feed(r.text)
    assert tags.count("img") == 6 and tags.count("table") == 10  # with coverage over time
    assert "Response times, 2025-03-24 to 2025-04-06" in r.text


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"from": "2025-02-30", "to": "2025-03-01"}, "from: expected a date YYYY-MM-DD"),
        ({"from": "2025-03-02", "to": "2025-03-01"}, "to (2025-03-01) is before from (2025-03-02)"),
        ({"from": "2024-01-01", "to": "2025-12-31"}, "the period has 731 days; a report covers at most 400"),
        ({"from": "2025-03-01"}, "to: Field required"),
        ({**PERIOD, "format": "pdf"}, "format: Input should be 'json', 'csv' or 'html'"),
    ],
)
def test_bad_queries_are_422_with_a_message(analyst: TestClient, query: dict[str, str], fragment: str) -> None:
    r = analyst.get(URL, params=query)
    assert r.status_code == 422
    assert fragment in r.json()["detail"]


@pytest.mark.parametrize(("role", "asset", "status"), [("operator", None, 200), ("admin", None, 200),
                                                       ("crew", "MD-B1", 403)])  # fmt: skip
def test_roles(app: FastAPI, role: str, asset: str | None, status: int) -> None:
    with api_client(app, role=role, asset_id=asset) as c:
        r = c.get(URL, params=PERIOD)
    assert r.status_code == status
    if status == 403:
        assert "needs role operator, admin or analyst" in r.json()["detail"]


def test_no_token_is_401(app: FastAPI) -> None:
    with TestClient(app) as c:
        r = c.get(URL, params=PERIOD)
    assert r.status_code == 401


def test_no_database_is_503(river: RiverModel, graph: RouteGraph) -> None:
    bare = create_app(Settings(), river, graph)
    with api_client(bare, role="analyst") as c:
        r = c.get(URL, params=PERIOD)
    assert r.status_code == 503
    assert "database" in r.json()["detail"]
