"""The README's command-line examples run and print what the README shows."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

_BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def _examples() -> list[tuple[str, str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    out = []
    for block in _BLOCK.findall(text):
        lines = block.strip().splitlines()
        assert lines[0].startswith("$ dwatch "), lines[0]
        out.append((lines[0][2:], "\n".join(lines[1:])))
    return out


def _expected(shown: str) -> tuple[dict[str, Any], bool]:
    """The JSON the README shows; an output cut with ', ...}' is compared on the keys shown."""
    if shown.endswith(", ...}"):
        return json.loads(shown[: -len(", ...}")] + "}"), True
    return json.loads(shown), False


def test_readme_has_examples() -> None:
    assert len(_examples()) >= 2


@pytest.mark.parametrize(("command", "shown"), _examples())
def test_readme_example(command: str, shown: str) -> None:
    args = shlex.split(command)[1:]
    r = subprocess.run([sys.executable, "-m", "sar", *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    want, partial = _expected(shown)
    if partial:
        got = {k: got[k] for k in want}
    assert got == want


def test_readme_toml_examples_are_valid_settings(tmp_path: Path) -> None:
    from sar.settings import load_settings

    blocks = re.findall(r"```toml\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    assert blocks
    for i, block in enumerate(blocks):
        path = tmp_path / f"example{i}.toml"
        path.write_text(block, encoding="utf-8")
        load_settings(path)
