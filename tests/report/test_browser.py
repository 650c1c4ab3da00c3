"""The report in headless Chromium: filters hide cards, pages hold every pair once, the full-size
view shows the files with an evidence image laid over the edit."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from maskgate.core.record import read_records
from maskgate.report.html import PAGE_SIZE, write_report
from maskgate.report.labels import read_labels

from .conftest import demo_run

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    results, labels = demo_run(folder / "run", n=60, seed=1)
    lab = read_labels([labels])
    return write_report(results, labels=lab), read_records(results), lab


@pytest.fixture
def page(browser, run):
    p = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(run[0].as_uri())
    p.wait_for_selector("body[data-ready='1']")
    yield p
    p.close()
    assert errors == []


def shown(page) -> list[str]:
    return page.eval_on_selector_all("#gallery .card", "cs => cs.map(c => c.dataset.id)")


def all_pages(page) -> list[str]:
    """Every id the current filter shows, page by page through the pager."""
    ids = shown(page)
    while not page.is_disabled(".pager .next >> nth=0"):
        page.click(".pager .next >> nth=0")
        ids += shown(page)
    return ids


def test_filters_hide_cards(page, run):
    _, records, labels = run
    assert len(shown(page)) == PAGE_SIZE and page.get_attribute("body", "data-matching") == str(len(records))
    page.select_option("#f-verdict", "reject")
    want = {r.id for r in records if r.verdict == "reject"}
    assert want and len(want) < len(records)
    assert set(all_pages(page)) == want
    assert set(page.eval_on_selector_all("#gallery .pill", "ps => ps.map(p => p.textContent)")) <= {"reject"}
    page.select_option("#f-verdict", "")
    page.select_option("#f-outcome", "false reject")
    false_rejects = {r.id for r in records if r.verdict == "reject" and labels[r.id]["acceptable"]}
    assert set(all_pages(page)) == false_rejects
    page.select_option("#f-outcome", "wrong")
    wrong = {
        r.id
        for r in records
        if (r.verdict == "accept") != labels[r.id]["acceptable"] and r.verdict != "review"
    }
    assert set(all_pages(page)) == wrong
    assert page.locator("#gallery .card.wrong").count() == page.locator("#gallery .card").count()
    page.select_option("#f-outcome", "")
    page.select_option("#f-kind", "text_removed")
    page.select_option("#f-criterion", "segmentation")  # never applies to text removal here
    assert shown(page) == [] and "no pair matches" in page.inner_text("#status")
    page.select_option("#f-kind", "")
    page.fill("#f-text", records[7].id)
    page.select_option("#f-criterion", "")
    assert shown(page) == [records[7].id]


def test_label_and_doubtful_criteria_on_the_card(page, run):
    _, records, labels = run
    r = next(r for r in records if r.verdict == "review")
    page.fill("#f-text", r.id)
    card = page.locator("#gallery .card").first
    text = card.inner_text()
    assert ("label: acceptable" if labels[r.id]["acceptable"] else "label: not acceptable") in text
    assert "review" in text and "doubtful" in text


def test_paging_holds_every_pair_once_and_sorts(page, run):
    _, records, _ = run
    pages = -(-len(records) // PAGE_SIZE)
    assert page.get_attribute("body", "data-pages") == str(pages)
    first = shown(page)
    ids = all_pages(page)
    assert page.get_attribute("body", "data-page") == str(pages)
    assert len(ids) == len(set(ids)) == len(records) and set(ids) == {r.id for r in records}
    assert page.locator("#gallery img").count() <= 3 * PAGE_SIZE  # one page of images in the DOM
    scores = {r.id: r.score for r in records}
    assert [scores[i] for i in ids] == sorted(scores[i] for i in ids)  # default: lowest score first
    page.select_option("#f-sort", "-score")  # a new order starts again at page 1
    assert page.get_attribute("body", "data-page") == "1" and shown(page) != first
    assert scores[shown(page)[0]] == max(scores.values())


def test_full_size_view_with_evidence_overlay(page, run):
    _, records, _ = run
    r = next(r for r in records if r.criteria["residue"].images)
    page.fill("#f-text", r.id)
    page.click("#gallery .card")
    page.wait_for_selector("#viewer:not([hidden])")
    assert page.get_attribute("body", "data-viewer") == r.id
    natural = page.wait_for_function("() => document.getElementById('v-base').naturalWidth").json_value()
    assert natural == Image.open(r.edited).width  # the file itself, not its thumbnail
    page.click("#v-layers button:has-text('residue: heatmap')")
    page.wait_for_selector("body[data-viewer-mode='overlay']")
    box = page.evaluate(
        "() => { const b = document.getElementById('v-base'), o = document.getElementById('v-over');"
        " return [b.clientWidth, b.clientHeight, o.clientWidth, o.clientHeight, o.hidden, getComputedStyle(o).opacity] }"
    )
    assert box[:2] == box[2:4] and box[4] is False and float(box[5]) == pytest.approx(0.6)
    page.click("#v-layers button:has-text('original')")
    assert page.evaluate("() => document.getElementById('v-over').hidden")
    page.keyboard.press("Escape")
    assert page.is_hidden("#viewer")
    # side-by-side crops are not in the edit's frame: shown on their own, not stretched over it
    r = next(r for r in records if r.criteria["quality"].images)
    page.fill("#f-text", r.id)
    page.click("#gallery .card")
    page.click("#v-layers button:has-text('quality: crop')")
    page.wait_for_selector("body[data-viewer-mode='alone']")
    assert page.evaluate("() => getComputedStyle(document.getElementById('v-base')).visibility") == "hidden"
    page.keyboard.press("Escape")
    page.fill("#f-text", "")
    page.click("#gallery .card >> nth=0")
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("body", "data-viewer") == shown(page)[1]


def test_ten_thousand_pairs_in_the_browser(browser, tmp_path):
    results, labels = demo_run(tmp_path, n=10_000, images=False)
    out = write_report(results, labels=read_labels([labels]), thumbs=False)
    p = browser.new_page()
    p.goto(out.as_uri())
    p.wait_for_selector("body[data-ready='1']", timeout=60_000)
    assert p.locator("#gallery .card").count() == PAGE_SIZE
    assert p.get_attribute("body", "data-pages") == str(-(-10_000 // PAGE_SIZE))
    p.select_option("#f-verdict", "accept")
    n = sum(json.loads(x)["verdict"] == "accept" for x in results.read_text().splitlines())
    assert p.get_attribute("body", "data-matching") == str(n)
    p.close()


def test_filters_travel_in_the_address(browser, run, page):
    report, records, labels = run
    page.select_option("#f-verdict", "reject")
    page.select_option("#f-criterion", "residue")
    page.select_option("#f-outcome", "right")
    url = page.url
    assert "verdict=reject" in url and "criterion=residue" in url
    want = shown(page)
    other = browser.new_page()
    other.goto(url)
    other.wait_for_selector("body[data-ready='1']")
    assert shown(other) == want and other.input_value("#f-outcome") == "right"
    other.goto(report.as_uri() + "#verdict=nonsense&page=2")  # unknown values are ignored
    other.reload()
    other.wait_for_selector("body[data-ready='1']")
    assert other.input_value("#f-verdict") == "" and other.get_attribute("body", "data-page") == "2"
    other.close()
