"""Take docs/review-screen.png: a demo pair imported into a temporary database, the real app on a
free localhost port, headless Chromium (Debian's) logged in as a reviewer mid-task.

    python scripts/review_screenshot.py [--out docs/review-screen.png]
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from maskgate.review.accounts import add_user
from maskgate.review.app import Settings, create_app
from maskgate.review.db import open_db
from maskgate.review.importer import import_results

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def demo(folder: Path) -> Path:
    """A bottle on a studio background with a price sticker; the edit removed most of the sticker."""
    h, w = 600, 800
    yy, xx = np.mgrid[0:h, 0:w]
    bg = (225 + 20 * (yy / h)).astype(np.uint8)
    orig = np.dstack([bg, bg, bg - 6])
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (400, 330), (110, 200), 0, 0, 360, 255, -1)
    cv2.rectangle(mask, (370, 70), (430, 150), 255, -1)
    shade = (0.55 + 0.45 * np.cos((xx - 400) / 140)).clip(0, 1)
    body = np.dstack([40 + 60 * shade, 110 + 90 * shade, 60 + 50 * shade]).astype(np.uint8)
    orig[mask > 0] = body[mask > 0]
    cv2.rectangle(orig, (360, 250), (440, 360), (245, 240, 230), -1)
    cv2.putText(orig, "OLIVE", (366, 312), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (30, 60, 30), 2)
    cv2.rectangle(orig, (560, 430), (730, 500), (20, 20, 200), -1)
    cv2.putText(orig, "-30% SALE", (568, 476), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    edit = orig.copy()
    edit[425:505, 555:735] = orig[330:410, 555:735]
    edit[470:500, 700:735] = (20, 20, 200)  # leftover corner of the sticker
    heat = np.zeros((h, w), np.uint8)
    heat[465:505, 695:740] = 255
    heat = cv2.applyColorMap(cv2.GaussianBlur(heat, (51, 51), 0), cv2.COLORMAP_JET)
    pre = mask.copy()
    pre[100:150, 370:430] = 0  # the model missed the cap: the reviewer fixes it
    (folder / "evidence" / "bottle").mkdir(parents=True)
    cv2.imwrite(str(folder / "original.png"), orig[..., ::-1])
    cv2.imwrite(str(folder / "edited.png"), edit[..., ::-1])
    cv2.imwrite(str(folder / "evidence" / "bottle" / "residue_heatmap.png"), heat)
    cv2.imwrite(str(folder / "evidence" / "bottle" / "product_mask.png"), pre)
    rec = {
        "id": "bottle",
        "original": "original.png",
        "edited": "edited.png",
        "kind": "text_removed",
        "verdict": "review",
        "score": 0.48,
        "source_overlay": True,
        "error": None,
        "notes": ["residue near the bottom-right corner"],
        "criteria": {
            "residue": {
                "pass": False,  # the score is under the decide threshold (0.5): the doubtful criterion
                "score": 0.48,
                "evidence": {
                    "images": {
                        "heatmap": "evidence/bottle/residue_heatmap.png",
                        "product_mask": "evidence/bottle/product_mask.png",
                    }
                },
            },
            "background": None,
        },
    }
    (folder / "results.jsonl").write_text(json.dumps(rec) + "\n")
    return folder / "results.jsonl"


HEAT_DRAWN = """() => {
  const c = document.querySelector('#pane-right canvas');
  if (!c || !c.width) return false;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 0; i < d.length; i += 16) if (d[i] > 180 && d[i + 1] < 80 && d[i + 2] < 80) return true;
  return false;
}"""


def take_screenshot(out: str | Path, chromium: str = "/usr/bin/chromium") -> Path:
    """Write the screenshot to ``out`` (1280x640 PNG) and return its path. Tested in
    tests/review/test_screenshot.py so this script cannot rot."""
    out = Path(out)
    import uvicorn
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as d:
        engine = open_db(f"sqlite:///{d}/review.db")
        import_results(engine, demo(Path(d)), segment=None)
        add_user(engine, "alice", "screenshot-pw")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(engine, Settings(gold_every=0)), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        th = threading.Thread(target=server.run, daemon=True)
        th.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        try:
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=chromium, args=ARGS)
                page = b.new_page(viewport={"width": 1280, "height": 640})
                page.goto(f"http://127.0.0.1:{port}/review")
                page.fill("input[name=username]", "alice")
                page.fill("input[name=password]", "screenshot-pw")
                page.click("button[type=submit]")
                page.wait_for_selector("body[data-ready='1']")
                for key in ("1", "1", "1"):
                    page.keyboard.press(key)
                to_client = (
                    "([x, y]) => { const v = window.maskgate.viewer; const c = v.toClient(v.panes[0], x, y);"
                    " return [c.x, c.y]; }"
                )
                page.keyboard.press("b")
                pts = [
                    page.evaluate(to_client, xy) for xy in ([385, 110], [400, 115], [415, 110], [400, 135])
                ]
                page.mouse.move(*pts[0])
                page.mouse.down()
                for pt in pts[1:]:
                    page.mouse.move(*pt, steps=5)
                page.mouse.up()
                page.keyboard.press("h")
                # the heatmap loads on first use: wait until the edit's pane shows its hot colours
                # (a fixed pause was too short on a loaded machine)
                page.wait_for_function(HEAT_DRAWN, timeout=20000)
                page.wait_for_timeout(200)
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out))
                b.close()
        finally:
            server.should_exit = True
            th.join(timeout=10)
            engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/review-screen.png")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    a = ap.parse_args()
    print(f"wrote {take_screenshot(a.out, a.chromium)}")


if __name__ == "__main__":
    main()
