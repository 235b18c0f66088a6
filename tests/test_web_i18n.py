"""The label catalogues of the web pages (en, ro, uk): every key the pages use is in all three,
none is missing or empty, the placeholders agree, the labels made from server values (``t("order_
state." + state)``) cover every value the server can send, and the translations are written in
their own alphabet: Romanian with ș ț (comma below, not the cedilla look-alikes), Ukrainian in
Cyrillic without Russian-only letters."""

from __future__ import annotations

import json
import re
import typing
from enum import StrEnum
from importlib import resources
from pathlib import Path

import pytest

from geo.river import Bank
from sar.dispatch.crew import IN_TYPES
from sar.dispatch.fleet import AssetKind, AssetStatus
from sar.dispatch.orders import CrewStatus, OrderState
from sar.incidents.model import Impact, IncidentStatus, IncidentType, SarPhase
from sar.sarplan.patterns import PatternKind
from sensors.adapter import HealthStatus
from sensors.model import TargetClass
from tests.conftest import REPO

WEB = REPO / "sar" / "web"
LANGS = ("en", "ro", "uk")
# t("literal") and t("prefix." + value); comments are left out first so examples in them do not count
T_CALL = re.compile(r"""\bt\(\s*"([^"]+)"\s*([,)+])""")
HTML_KEY = re.compile(r'data-i18n(?:-[a-z]+)?="([^"]+)"')
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _values(enum: type[StrEnum]) -> set[str]:
    return {e.value for e in enum}


def _place_kinds() -> set[str]:
    fc = json.loads(resources.files("dwatch_data").joinpath("places.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["kind"] for f in fc["features"]}


# Every prefix the pages complete with a value from the server, and all the values it can take.
DYNAMIC = {
    "incident_type.": _values(IncidentType),
    "impact.": _values(Impact),
    "sar_phase.": _values(SarPhase),
    "incident_status.": _values(IncidentStatus),
    "order_state.": _values(OrderState),
    "asset_status.": _values(AssetStatus),
    "crew_status.": _values(CrewStatus),
    "kind.": _values(AssetKind),
    "class.": _values(TargetClass),
    "sensor_status.": _values(HealthStatus),
    "bank.": set(typing.get_args(Bank)),
    "pattern.": set(typing.get_args(PatternKind)),
    "place_kind.": _place_kinds(),
    "crew.msg_": set(IN_TYPES) - {"hello"},  # the crew messages an ack or error can be about
}


def _strip_js_comments(text: str) -> str:
    return re.sub(r"(?m)^\s*//.*$|\s//\s.*$", "", text)


def used_keys() -> tuple[set[str], set[str]]:
    """(literal keys, dynamic prefixes) used by the pages' scripts and HTML."""
    literal: set[str] = set()
    prefixes: set[str] = set()
    for js in WEB.glob("*.js"):
        for key, after in T_CALL.findall(_strip_js_comments(js.read_text("utf-8"))):
            (prefixes if after == "+" else literal).add(key)
    for html in WEB.glob("*.html"):
        literal |= set(HTML_KEY.findall(html.read_text("utf-8")))
    return literal, prefixes


def catalogue(lang: str) -> dict[str, str]:
    data = json.loads((WEB / "i18n" / f"{lang}.json").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def catalogues() -> dict[str, dict[str, str]]:
    return {lang: catalogue(lang) for lang in LANGS}


def test_the_pages_use_many_keys_and_only_known_prefixes() -> None:
    literal, prefixes = used_keys()
    assert len(literal) > 120, "the parser found too few keys: is it still reading the scripts?"
    assert {"crew.accept", "recs.dispatch", "login.submit", "status.connected"} <= literal
    assert prefixes == set(DYNAMIC), "a label made from a value the test does not know the values of"


@pytest.mark.parametrize("lang", LANGS)
def test_every_used_key_is_in_the_catalogue(lang: str, catalogues: dict[str, dict[str, str]]) -> None:
    literal, prefixes = used_keys()
    needed = literal | {p + v for p in prefixes for v in DYNAMIC[p]}
    assert sorted(needed - set(catalogues[lang])) == []


@pytest.mark.parametrize("lang", LANGS)
def test_no_value_is_missing_or_empty(lang: str, catalogues: dict[str, dict[str, str]]) -> None:
    cat = catalogues[lang]
    assert set(cat) == set(catalogues["en"]), set(catalogues["en"]) ^ set(cat)
    empty = [k for k, v in cat.items() if not isinstance(v, str) or not v.strip()]
    assert empty == []
    for key, text in cat.items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(catalogues["en"][key])), (lang, key, text)


def test_no_key_is_left_unused(catalogues: dict[str, dict[str, str]]) -> None:
    literal, prefixes = used_keys()
    unused = [k for k in catalogues["en"] if k not in literal and not any(k.startswith(p) for p in prefixes)]
    assert unused == []


# the same in every language: the product's name, GPS, SI unit symbols (Latin in Romanian)
UNTRANSLATED = {"app.name", "crew.use_gps", "crew.source_gps", "crew.gps_error", "unit.km", "unit.m", "unit.kmh",
                "unit.h", "unit.min", "unit.s", "common.km"}  # fmt: skip


def test_romanian_is_written_with_its_diacritics(catalogues: dict[str, dict[str, str]]) -> None:
    ro, en = catalogues["ro"], catalogues["en"]
    text = " ".join(ro.values())
    assert not set(text) & set("şţŞŢ"), "cedilla letters instead of ș ț (comma below)"
    for letter in "ăâîșț":
        assert letter in text, letter
    assert not re.search(r"[\u0400-\u04ff]", text)
    assert ro["incident_type.person_in_water"] == "persoană în apă"
    assert ro["crew_status.on_scene"] == "La fața locului"
    same = [k for k in ro if ro[k] == en[k] and k not in UNTRANSLATED and not re.fullmatch(r"[^a-zA-Z]*", ro[k])]
    assert len(same) <= 4, same  # a few are the same word in both (Impact, Accept)


def test_ukrainian_is_written_in_cyrillic(catalogues: dict[str, dict[str, str]]) -> None:
    uk, en = catalogues["uk"], catalogues["en"]
    text = " ".join(uk.values())
    assert not set(text.lower()) & set("ыэъё"), "Russian letters in the Ukrainian catalogue"
    assert "'" not in text, "the Ukrainian apostrophe is ’"
    latin_only = [k for k, v in uk.items() if not re.search(r"[\u0400-\u04ff]", v) and k not in UNTRANSLATED]
    assert len(latin_only) <= 6, latin_only  # names and codes: Dniester Watch, GPS, OK…
    assert uk["incident_type.person_in_water"] == "людина у воді"
    assert uk["crew.accept"] == "Прийняти" and uk["unit.kmh"] == "км/год"
    assert [k for k in uk if uk[k] == en[k] and re.search("[a-z]{4}", en[k]) and k not in UNTRANSLATED] == []


def test_the_wheel_ships_the_catalogues() -> None:
    text = (REPO / "pyproject.toml").read_text("utf-8")
    line = next(x for x in text.splitlines() if x.startswith('"sar.web"'))
    assert '"i18n/*.json"' in line
    assert sorted(p.name for p in (WEB / "i18n").glob("*.json")) == [f"{lang}.json" for lang in sorted(LANGS)]


def test_the_pages_fetch_nothing_from_elsewhere() -> None:
    """No page script fetches anything but the server's own paths (no CDN, no outside fetch)."""
    for js in [*WEB.glob("*.js"), *WEB.glob("*.html")]:
        text = js.read_text("utf-8")
        assert not re.search(r"https?://", _strip_js_comments(text)), js.name
    assert Path(WEB / "crew.html").read_text("utf-8").count("/static/i18n.js") == 1
