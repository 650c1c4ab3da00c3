"""The check engine: one (original, edit) pair in, six criterion verdicts and one overall verdict out.

A ``Checker`` holds the loaded models and calibration for one worker; build one per process and
call ``check`` per pair. Per pair it runs exactly one u2netp pass (on the original; the edit's
product comes from its alpha/backdrop or from alignment) and one full-size PP-OCR detection (on the
edit), plus a 384-px detection on the original for ``source_overlay``. An erasure (``text_removed``)
is judged on the text lines themselves: both images' text is found at 384 px and full size, and
the u2netp pass waits for it, as it runs on the original with that text filled in.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from maskgate.check.context import PairContext, build_context, fit_edit
from maskgate.check.criteria import background, comprehensibility, consistency, quality, residue, segmentation
from maskgate.check.evidence import evidence_images
from maskgate.check.kind import is_cutout, looks_text_removed
from maskgate.check.measure import dilate
from maskgate.check.result import CRITERIA, CriterionResult, PairResult
from maskgate.check.scoring import probability
from maskgate.check.verdict import Calibration, decide
from maskgate.io.images import LoadedImage, rgba_over
from maskgate.make.product import without_text
from maskgate.make.segment import saliency
from maskgate.make.text import detect_text, detect_text_scales, regions_mask
from maskgate.models.registry import resolve_model
from maskgate.models.sessions import thread_budget, use_threads

MODULES = {
    "residue": residue,
    "segmentation": segmentation,
    "quality": quality,
    "comprehensibility": comprehensibility,
    "consistency": consistency,
    "background": background,
}


# Below this share of the frame the edit's product is a thumbnail: its detail cannot be compared
# with the original's, so the detail criteria are not judged (comprehensibility fails it anyway).
MIN_JUDGEABLE_AREA = 0.015
DETAIL_CRITERIA = ("segmentation", "quality", "consistency")


def applies(criterion: str, kind: str) -> bool:
    if criterion == "background":
        return kind == "inpainted"
    return True


def judgeable(criterion: str, ctx: PairContext) -> bool:
    if not applies(criterion, ctx.kind):
        return False
    if criterion in DETAIL_CRITERIA and ctx.product_share < MIN_JUDGEABLE_AREA:
        return False
    return True


# Measurements a criterion borrows from another: a cut (segmentation) and a changed product
# (consistency) both make the edit differ inside the product; each needs the other's evidence to
# know which of the two it is looking at.
SHARED = {
    "segmentation": ("hue_shift", "lp_ncc_med"),
    "consistency": ("outline_lost", "mean_shift"),
    # a hue change or a warp also moves colours and the outline band: they are consistency's
    "quality": ("hue_rot", "warp_gain"),
}


def measure_all(ctx: PairContext) -> dict[str, dict]:
    feats = {name: MODULES[name].features(ctx) if judgeable(name, ctx) else {} for name in CRITERIA}
    for name, keys in SHARED.items():
        if feats[name]:
            for other in CRITERIA:
                for k in keys:
                    if k in feats[other] and k not in feats[name]:
                        feats[name][k] = feats[other][k]
    return feats


class Checker:
    max_side = 1024  # working resolution: big enough for faint text, small enough for speed
    original_text_side = 384  # source_overlay and overlay regions only need overlay-sized text

    def __init__(
        self,
        calibration: str | Path | Calibration | None = None,
        model: str = "u2netp",
        model_path: str | None = None,
    ):
        self.calibration = (
            calibration if isinstance(calibration, Calibration) else Calibration.load(calibration)
        )
        self.model = model
        self.model_path = model_path
        self._pool: ThreadPoolExecutor | None = None
        resolve_model(model, model_path)  # fail now, with the fix, rather than on the first pair

    def start(
        self,
        original: LoadedImage,
        edited: LoadedImage,
        kind: str | None = None,
        mask: np.ndarray | None = None,
    ) -> Callable[[], PairResult]:
        """Begin checking a pair; calling the returned function finishes it.

        The u2netp pass and then the pair's context are built on a helper thread while this thread
        runs the text detections and returns. A caller that starts pair i+1 before finishing pair
        i thus runs one pair's criteria beside the next pair's model passes, and neither core
        waits on the other (``runner.process_pairs`` does this)."""
        fut = self._begin(original, edited, kind, mask)

        def finish() -> PairResult:
            ctx = fut.result()
            return self.judge(ctx, self.features(ctx))

        return finish

    def check(
        self,
        original: LoadedImage,
        edited: LoadedImage,
        kind: str | None = None,
        mask: np.ndarray | None = None,
    ) -> PairResult:
        return self.start(original, edited, kind, mask)()

    def context(
        self,
        original: LoadedImage,
        edited: LoadedImage,
        kind: str | None = None,
        mask: np.ndarray | None = None,
    ) -> PairContext:
        return self._begin(original, edited, kind, mask).result()

    def _begin(
        self, original: LoadedImage, edited: LoadedImage, kind: str | None, mask: np.ndarray | None
    ) -> Future:
        orig = rgba_over(original.rgb, original.alpha)
        h, w = orig.shape[:2]
        edit_rgb, edit_alpha, notes = fit_edit(rgba_over(edited.rgb, edited.alpha), edited.alpha, (h, w))
        given = None
        if mask is not None:
            m = mask if mask.ndim == 2 else mask[..., 0]
            given = cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST) > 127
        # An erasure is judged on the original's overlay text, which must be told from the text
        # printed on the product: the original's text is found first (at 384 px and full size: a
        # big headline shows on the small view, a logo's caption on the large one) and hidden from
        # u2netp, which otherwise calls bold promo text and its banners the product.
        erasure = kind == "text_removed" or (
            kind is None and not is_cutout(edit_rgb, edit_alpha) and looks_text_removed(orig, edit_rgb)
        )
        if erasure:
            kind = "text_removed"

        def build(sal: np.ndarray, texts) -> PairContext:
            return build_context(
                orig,
                edit_rgb,
                edit_alpha,
                sal,
                *texts,
                kind=kind,
                given_mask=given,
                notes=notes,
                edit_side=max(edited.rgb.shape[:2]),
            )

        def original_saliency(texts=None) -> np.ndarray:
            if given is not None:
                return given.astype(np.float32)
            src = orig if texts is None else without_text(orig, texts[0], orig.shape)
            return saliency(src, self.model, self.model_path)

        total = thread_budget()
        if total < 2:  # one core: nothing runs beside anything else
            done: Future = Future()
            texts = self._texts(orig, edit_rgb, erasure)
            done.set_result(build(original_saliency(texts if erasure else None), texts))
            return done
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="maskgate-helper")
        # u2netp and PP-OCR do not depend on each other, and one pass on half the cores wastes less
        # than one pass on all of them (a network's layers do not all split across threads); with a
        # given mask there is no u2netp pass and the text passes take every core
        half = 0 if given is not None else total // 2

        def on_helper(texts=None) -> np.ndarray:
            with use_threads(half):
                return original_saliency(texts)

        if erasure:  # u2netp waits for the text: the text passes take every core first
            with use_threads(total):
                texts = self._texts(orig, edit_rgb, True)
            sal_fut = self._pool.submit(on_helper, texts)
        else:
            sal_fut = self._pool.submit(on_helper)
            with use_threads(total - half):
                texts = self._texts(orig, edit_rgb)
        # queued behind the u2netp pass on the helper thread, so the caller is free right away
        return self._pool.submit(lambda: build(sal_fut.result(), texts))

    def _texts(self, orig: np.ndarray, edit: np.ndarray, erasure: bool = False):
        if erasure:  # overlay lines are the evidence, in both images: big headlines and small captions
            sides = (self.original_text_side, None)
            return detect_text_scales(orig, sides), detect_text_scales(edit, sides)
        return detect_text(orig, max_side=self.original_text_side), detect_text(edit)

    def features(self, ctx: PairContext) -> dict[str, dict]:
        return measure_all(ctx)

    def judge(self, ctx: PairContext, feats: dict[str, dict]) -> PairResult:
        cal = self.calibration
        keys = {n: cal.scorer(n, ctx.kind) for n in CRITERIA}
        scores = {
            n: (probability(keys[n], feats[n], cal.models.get(keys[n])) if judgeable(n, ctx) else None)
            for n in CRITERIA
        }
        passed, verdict, overall = decide(scores, cal, keys)
        images = evidence_images(ctx, passed)
        criteria = {}
        for n in CRITERIA:
            ev = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in feats[n].items()}
            if scores[n] is None and applies(n, ctx.kind):
                ev["not_judged"] = "product too small in the edit to compare its detail with the original"
            criteria[n] = CriterionResult(
                passed[n], 1.0 if scores[n] is None else scores[n], ev, images.get(n, {})
            )
        return PairResult(
            id="",
            original="",
            edited="",
            kind=ctx.kind,
            verdict=verdict,
            score=overall,
            criteria=criteria,
            source_overlay=source_overlay(ctx),
            notes=ctx.notes,
        )


def source_overlay(ctx: PairContext) -> bool:
    """Did the original carry text/logos/graphics outside the product (the reviewer's Q1)?"""
    if not ctx.text_o:
        return False
    outside = ~dilate(ctx.mask_o, 4)
    tm = regions_mask(ctx.shape, ctx.text_o) > 0
    return bool((tm & outside).sum() > 0.3 * tm.sum())
