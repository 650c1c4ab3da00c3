"""Heatmap evidence as an overlay: transparent where the heat is low, over real HTTP too."""

import io

import cv2
import numpy as np
from PIL import Image

from maskgate.review.overlays import heat_rgba, heat_value

from .conftest import login


def _jet(v: np.ndarray) -> np.ndarray:
    return cv2.applyColorMap((v * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]


def test_colour_map_heat_is_recovered_and_low_heat_is_transparent():
    ramp = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (4, 1))
    v = heat_value(_jet(ramp))
    assert np.abs(v - ramp).max() < 0.05
    a = heat_rgba(_jet(ramp))[..., 3]
    assert (a[:, ramp[0] <= 0.2] == 0).all()  # cold: fully see-through
    assert (a[:, ramp[0] >= 0.5] > 200).all()  # hot: clearly visible
    assert (np.diff(a[0].astype(int)) >= 0).all()  # more heat, never less opaque


def test_check_engine_style_blend_over_the_edit():
    """check's residue heatmap: the edit with JET blended in by 0.6 * heat."""
    rng = np.random.default_rng(1)
    edit = rng.integers(0, 256, (80, 120, 3), dtype=np.uint8)
    heat = np.zeros((80, 120), np.float32)
    heat[20:40, 30:70] = 1
    heat = cv2.GaussianBlur(heat, (0, 0), 3)
    a = (0.6 * heat)[..., None]
    blended = (edit * (1 - a) + _jet(heat) * a).astype(np.uint8)
    out = heat_rgba(blended, edit)
    assert (out[heat < 0.02, 3] == 0).all()
    # Hot pixels show, except the few where the random edit already had the JET colour.
    assert (out[heat > 0.9, 3] > 150).mean() > 0.95


def test_app_serves_heatmap_with_alpha(live):
    c, _ = login(live.url, "alice")
    task = c.get("/api/next").json()["task"]
    url = task["item"]["evidence"]["heatmap"]
    assert url.startswith(f"/api/tasks/{task['assignment_id']}/evidence/")
    r = c.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = np.asarray(Image.open(io.BytesIO(r.content)))
    assert img.shape == (task["item"]["height"], task["item"]["width"], 4)
    h, w = img.shape[:2]
    # The fixture's heat is 0 on the product (a centred circle) and 0.78 around it.
    assert img[h // 2, w // 2, 3] == 0
    assert img[3, 3, 3] > 150
    assert c.get(url.replace("heatmap", "product_mask")).status_code == 404
    other, _ = login(live.url, "bob")
    assert other.get(url).status_code == 409  # only the lease holder
