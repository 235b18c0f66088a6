"""Settings: file plus environment, validated once, unknown keys refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from sar.settings import SettingsError, load_settings
from tests.conftest import REPO


def test_example_config_loads() -> None:
    s = load_settings(REPO / "data" / "example-config.toml")
    assert s.geo.water_half_width_m == 100.0
    assert s.routing.current_mps == {"north": 0.8, "south": 0.8}


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[geo]\nwater_half_width_m = 120\n[server]\nport = 9001\n")
    monkeypatch.setenv("DWATCH_SERVER__PORT", "9100")
    s = load_settings(cfg)
    assert (s.geo.water_half_width_m, s.server.port) == (120.0, 9100)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[geo]\nwater_half_wdth_m = 120\n", "geo.water_half_wdth_m: Extra inputs are not permitted"),
        ("[nonsense]\na = 1\n", "nonsense: Extra inputs are not permitted"),
        ("[geo]\nwater_half_width_m = -5\n", "geo.water_half_width_m: Input should be greater than 0"),
        ("[geo\n", "not valid TOML"),
    ],
)
def test_bad_config_is_refused_with_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_settings(cfg)
    assert fragment in str(err.value)
