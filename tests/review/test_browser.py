"""Drive the real app in headless Chromium: log in, take a task, answer with the keyboard, paint
and erase on the mask, submit; the export must hold exactly those answers and that mask."""

import base64
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from maskgate.review.accounts import add_user
from maskgate.review.app import Settings, create_app
from maskgate.review.exporter import export_labels
from maskgate.review.importer import import_results
from maskgate.review.masks import decode_rle, png_to_mask

from .conftest import LiveServer

CHROMIUM = os.environ.get("MASKGATE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PW = "correct-horse-1"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def log_in(page, base: str, user: str) -> None:
    page.goto(base + "/review")
    assert "/login" in page.url
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PW)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)


def test_review_in_browser_then_export(engine, results_dir, browser, tmp_path):
    import_results(engine, results_dir / "results.jsonl", segment=None)
    add_user(engine, "alice", PW)
    with LiveServer(create_app(engine, Settings(gold_every=0))) as srv:
        page = browser.new_page(viewport={"width": 1400, "height": 800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        log_in(page, srv.url, "alice")
        task = page.evaluate("window.maskgate.task")
        keys = [q["key"] for q in task["questions"]]
        # Answer with the keyboard only: 1 = yes/pass/accept, 2 = no/fail/reject.
        presses = {
            "q1": "1",
            "q2": "2",
            "quality": "1",
            "segmentation": "2",
            "comprehensibility": "1",
            "consistency": "1",
            "background": "2",
            "acceptable": "2",
        }
        for k in keys:
            page.keyboard.press(presses[k])
        assert page.evaluate("window.maskgate.answers") == {k: presses[k] == "1" for k in keys}

        # Paint with the brush outside the product, then erase inside it, on the left pane.
        box = page.locator("#pane-left canvas").bounding_box()
        to_client = (
            "([x, y]) => { const v = window.maskgate.viewer; const c = v.toClient(v.panes[0], x, y);"
            " return [c.x, c.y]; }"
        )
        w, h = task["item"]["width"], task["item"]["height"]
        page.keyboard.press("b")
        x0, y0 = page.evaluate(to_client, [8, 8])
        x1, y1 = page.evaluate(to_client, [40, 8])
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move((x0 + x1) / 2, y0, steps=4)
        page.mouse.move(x1, y1, steps=4)
        page.mouse.up()
        page.keyboard.press("e")
        cx, cy = page.evaluate(to_client, [w / 2, h / 2])
        page.mouse.click(cx, cy)
        assert box["width"] > 0

        # What the client will send: read its mask canvas directly.
        client_png = page.evaluate("window.maskgate.mask.pngDataURL()")
        client_mask = png_to_mask(base64.b64decode(client_png.split(",", 1)[1]), size=(h, w))
        assert client_mask[8, 8] and client_mask[8, 40]  # painted
        assert not client_mask[h // 2, w // 2]  # erased inside the product
        assert client_mask[h // 2, w // 2 + 25]  # rest of the pre-label kept

        with page.expect_response(lambda r: r.url.endswith("/submit")) as resp:
            page.keyboard.press("Enter")
        assert resp.value.status == 200
        page.wait_for_function(
            "(id) => window.maskgate && window.maskgate.task.item.id !== id", arg=task["item"]["id"]
        )
        assert not errors, errors

    rep = export_labels(engine, tmp_path / "labels.jsonl")
    recs = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert rep.answers == 1 and len(recs) == 1
    rec = recs[0]
    assert rec["id"] == task["item"]["id"] and rec["reviewer"] == "alice"
    assert rec["q1_original_has_overlay"] is True and rec["q2_edit_has_leftover"] is False
    assert rec["acceptable"] is False
    expected = {
        "residue": True,
        "quality": True,
        "segmentation": False,
        "comprehensibility": True,
        "consistency": True,
        "background": (False if "background" in keys else None),
    }
    assert rec["labels"] == expected
    assert np.array_equal(decode_rle(rec["mask"]), client_mask)


def test_skip_and_flip_keys(engine, results_dir, browser):
    import_results(engine, results_dir / "results.jsonl", segment=None)
    add_user(engine, "bob", PW)
    with LiveServer(create_app(engine, Settings(gold_every=0))) as srv:
        page = browser.new_page(viewport={"width": 1200, "height": 700})
        log_in(page, srv.url, "bob")
        first = page.evaluate("window.maskgate.task.item.id")
        page.keyboard.press("f")
        assert page.text_content("#label-left").startswith("edit")
        page.keyboard.press("h")
        page.wait_for_function("() => document.querySelector('#evidence-toggles input').checked")
        page.keyboard.press("s")
        page.wait_for_function(
            "(first) => window.maskgate && window.maskgate.task.item.id !== first", arg=first
        )
