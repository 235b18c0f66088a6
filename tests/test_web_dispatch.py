"""Boats, orders and SAR plans on the command-centre map, in headless Chromium against a real
``dwatch demo`` (which loads the example fleet)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import REPO, Server, token_init_script
from tests.test_web_live import get, post, wait_until

SOROCA_WATER = (28.3047, 48.1580)


@pytest.fixture(scope="module")
def page(browser: Browser, demo_server: Server) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    p = context.new_page()
    errors: list[str] = []
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    context.add_init_script(token_init_script(demo_server.token))  # as the page's login form leaves it
    p.goto(demo_server.url + "/")
    yield p
    context.close()
    assert errors == []


def js(page: Page, expr: str) -> Any:
    return page.evaluate(expr)


def test_both_agencies_boats_are_on_the_map(page: Page, demo_server: Server) -> None:
    assets = get(demo_server, "/api/assets")
    wait_until("every asset drawn", lambda: js(page, "live.assets.size") == len(assets), 20, page)
    assert len(assets) == 13 and {a["agency"] for a in assets} == {"MD", "UA"}
    ll = js(
        page, "[...live.assets.values()].map(x => [x.asset.id, x.marker.getLatLng().lat, x.marker.getLatLng().lng])"
    )
    where = {a["id"]: (a["position"]["lat"], a["position"]["lon"]) for a in assets}
    for asset_id, lat, lon in ll:
        assert (lat, lon) == pytest.approx(where[asset_id], abs=1e-9)


def test_a_dispatch_and_a_sar_plan_show_up_live(page: Page, demo_server: Server) -> None:
    code, inc = post(demo_server, "/api/incidents", {"type": "person_in_water", "lon": SOROCA_WATER[0],
                                                      "lat": SOROCA_WATER[1], "reporter": "fisherman",
                                                      "sar_phase": "distress"})  # fmt: skip
    assert code == 201, inc
    recs = get(demo_server, f"/api/incidents/{inc['id']}/recommendations")["recommendations"]
    best = next(r for r in recs if r["proposed"])
    code, order = post(demo_server, f"/api/incidents/{inc['id']}/dispatch", {"asset_id": best["asset_id"], "by": "op"})
    assert code == 201, order
    wait_until(
        "the boat shown as assigned",
        lambda: js(page, f"live.assets.get('{best['asset_id']}').asset.status") == "assigned",
        10,
        page,
    )
    assert js(page, f"live.orders.has('{order['id']}')")
    code, plan = post(demo_server, f"/api/incidents/{inc['id']}/sar-plan", {"seed": 1})
    assert code == 201, plan
    wait_until("the plan drawn", lambda: js(page, f"live.plans.has('{inc['id']}')"), 10, page)
    drawn = js(page, f"live.plans.get('{inc['id']}').getLayers().length")
    assert drawn == 1 + 1 + len(plan["assignments"])  # drift cells, datum, one line per pattern
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(REPO / "test-artifacts" / "operator-dispatch.png"), full_page=True)
