"""scripts/report_screenshot.py (docs/report.png) runs end to end, so it cannot rot. A module of its
own: Playwright's sync API cannot start while another module's browser fixture is open."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import CHROMIUM, shot

pytestmark = pytest.mark.browser


def test_report_screenshot_script(tmp_path):
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    out = shot.take_screenshot(tmp_path / "report.png", CHROMIUM)
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (900, 1280, 3)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 300  # a rendered page, not a blank one
    red = (img[..., 0] > 170) & (img[..., 1] < 80) & (img[..., 2] < 80)
    assert red.sum() > 200  # the wrong verdicts' red borders and pills
