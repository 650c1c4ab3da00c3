"""WebP and AVIF in the review app: imported like PNG, served with their own content type (a guess
of text/plain under nosniff is a broken image), shown by a real Chromium; and, where Pillow cannot
decode AVIF, an item stored with that reason instead of a broken image."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from sqlalchemy import select

from maskgate.io import images
from maskgate.review.accounts import add_user
from maskgate.review.app import Settings, create_app
from maskgate.review.importer import import_results
from maskgate.review.schema import Item

from .conftest import PW, LiveServer, login, make_pair

AVIF = ".avif" in images.IMAGE_EXTS


def _results(folder, fmt: str) -> tuple:
    """Two review pairs, p0 as PNG and p1 with both images re-saved as ``fmt``."""
    recs = [make_pair(folder, f"p{i}", seed=i) for i in range(2)]
    for role in ("original", "edited"):
        png = folder / recs[1][role]
        other = png.with_suffix(f".{fmt}")
        with Image.open(png) as im:
            im.save(other, quality=90)
        recs[1][role] = str(other.relative_to(folder))
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return folder / "results.jsonl", recs[1]


@pytest.mark.parametrize(
    "fmt", ["webp", pytest.param("avif", marks=pytest.mark.skipif(not AVIF, reason="no AVIF"))]
)
def test_webp_and_avif_are_imported_and_served_with_their_content_type(engine, tmp_path, fmt):
    results, rec = _results(tmp_path / "check", fmt)
    rep = import_results(engine, results, segment=None)
    assert rep.imported == 2 and not rep.problems, rep.problems
    with engine.connect() as c:
        errors = dict(c.execute(select(Item.ext_id, Item.error)).all())
    assert errors == {"p0": None, "p1": None}
    add_user(engine, "alice", PW)
    with LiveServer(create_app(engine, Settings(gold_every=0))) as srv:
        c, _ = login(srv.url, "alice")
        for role in ("original", "edited"):
            r = c.get(f"/files/1/{rec[role]}")
            assert r.status_code == 200, (role, r.status_code)
            assert r.headers["content-type"] == f"image/{fmt}"
            assert r.content == (tmp_path / "check" / rec[role]).read_bytes()


def test_avif_without_a_decoder_is_an_item_error_not_a_broken_image(engine, tmp_path, monkeypatch):
    if not AVIF:  # this Pillow has no AVIF: the real case
        pytest.skip("this Pillow cannot write an AVIF to import; the monkeypatched run below stands for it")
    folder = tmp_path / "check"
    results, rec = _results(folder, "avif")
    # As on a Pillow built without AVIF: the format is neither identified nor listed as read.
    monkeypatch.setattr(images, "READ_FORMATS", tuple(f for f in images.READ_FORMATS if f != "AVIF"))
    monkeypatch.setattr(images, "UNREAD_IMAGE_EXTS", images.UNREAD_IMAGE_EXTS | {".avif"})
    monkeypatch.setattr(images, "IMAGE_EXTS", images.IMAGE_EXTS - {".avif"})
    rep = import_results(engine, results, segment=None)
    with engine.connect() as c:
        errors = dict(c.execute(select(Item.ext_id, Item.error)).all())
    assert errors["p0"] is None
    assert errors["p1"].startswith(
        "cannot read edited: cannot decode image p1_edit.avif: unsupported image format .avif"
    )
    assert any("p1" in p and "unsupported image format .avif" in p for p in rep.problems)


@pytest.mark.browser
@pytest.mark.skipif(not AVIF, reason="this Pillow cannot write the AVIF to serve")
def test_chromium_shows_the_served_avif(engine, tmp_path):
    assert _chromium_size(engine, *_results(tmp_path / "check", "avif")) == [160, 120]


def _chromium_size(engine, results, rec) -> list[int]:
    """Imports ``results`` and returns the size a real Chromium decodes ``rec``'s served edit at."""
    from .test_browser import ARGS, CHROMIUM, log_in

    pw = pytest.importorskip("playwright.sync_api")
    import shutil
    from pathlib import Path

    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    import_results(engine, results, segment=None)
    add_user(engine, "alice", PW)
    with LiveServer(create_app(engine, Settings(gold_every=0))) as srv, pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = b.new_page()
            log_in(page, srv.url, "alice")
            return page.evaluate(
                """async (url) => { const im = new Image(); im.src = url; await im.decode();
                   return [im.naturalWidth, im.naturalHeight]; }""",
                f"{srv.url}/files/1/{rec['edited']}",
            )
        finally:
            b.close()


def _tiff_results(folder) -> tuple:
    """Two pairs, p1's images re-saved as TIFF: the original as RGB, the edit as a cut-out with alpha."""
    recs = [make_pair(folder, f"p{i}", seed=i) for i in range(2)]
    for role, ext in (("original", "tif"), ("edited", "tiff")):
        png = folder / recs[1][role]
        other = png.with_suffix(f".{ext}")
        with Image.open(png) as im:
            rgb = im.convert("RGB")
            if role == "edited":
                a = Image.new("L", rgb.size, 0)
                a.paste(255, (10, 10, rgb.size[0] - 10, rgb.size[1] - 10))
                rgb.putalpha(a)
            rgb.save(other)
        recs[1][role] = str(other.relative_to(folder))
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return folder / "results.jsonl", recs[1]


def test_tiff_is_served_as_png_with_the_same_pixels(engine, tmp_path):
    import io

    import numpy as np

    results, rec = _tiff_results(tmp_path / "check")
    rep = import_results(engine, results, segment=None)
    assert rep.imported == 2 and not rep.problems, rep.problems
    add_user(engine, "alice", PW)
    with LiveServer(create_app(engine, Settings(gold_every=0))) as srv:
        c, _ = login(srv.url, "alice")
        for role, mode in (("original", "RGB"), ("edited", "RGBA")):
            r = c.get(f"/files/1/{rec[role]}")
            assert r.status_code == 200, (role, r.status_code)
            assert r.headers["content-type"] == "image/png"
            with Image.open(io.BytesIO(r.content)) as got, Image.open(tmp_path / "check" / rec[role]) as want:
                assert got.format == "PNG" and got.mode == mode
                assert np.array_equal(np.asarray(got), np.asarray(want.convert(mode)))
        # a TIFF that does not decode is a clear 404, not a broken response
        (tmp_path / "check" / rec["original"]).write_bytes(b"II*\x00 not a tiff")
        r = c.get(f"/files/1/{rec['original']}")
        assert r.status_code == 404 and "cannot show this image" in r.text


@pytest.mark.browser
def test_chromium_shows_the_served_tiff(engine, tmp_path):
    assert _chromium_size(engine, *_tiff_results(tmp_path / "check")) == [160, 120]
