"""scripts/review_screenshot.py (docs/review-screen.png) runs end to end, so it cannot rot."""

import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = os.environ.get("MASKGATE_CHROMIUM", "/usr/bin/chromium")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "review_screenshot.py"

pytestmark = pytest.mark.browser


def test_review_screenshot_script(tmp_path):
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    spec = importlib.util.spec_from_file_location("review_screenshot", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.take_screenshot(tmp_path / "shot" / "review.png", CHROMIUM)
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (640, 1280, 3)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 500  # a rendered screen, not a blank page
    # The heatmap (key H) is on: its hot colours show, the rest of the edit stays uncovered.
    jet_red = (img[..., 0] > 180) & (img[..., 1] < 80) & (img[..., 2] < 80)
    assert jet_red.any()
