"""The report's fixtures: the drawn, labelled check run of scripts/report_screenshot.py (the same one
docs/report.png shows), and headless Chromium (Debian's) through Playwright."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MASKGATE_CHROMIUM", "/usr/bin/chromium")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "report_screenshot.py"


def _script():
    spec = importlib.util.spec_from_file_location("report_screenshot", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


shot = _script()
demo_run = shot.demo_run


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=shot.ARGS, headless=True)
        yield b
        b.close()
