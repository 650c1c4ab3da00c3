"""The check engine: one (original, edit) pair in, six criterion verdicts and one overall verdict out.

A ``Checker`` holds the loaded models and calibration for one worker; build one per process and
call ``check`` per pair. Per pair it runs one full-size PP-OCR detection (on the edit) and, per
original, one u2netp pass (the edit's product comes from its alpha/backdrop or from alignment) and
a 384-px detection for ``source_overlay``; the next pairs of an original reuse those (the last
``ORIGINALS_KEPT`` originals are kept). An erasure (``text_removed``) is judged on the text lines
themselves: both images' text is found at 384 px and full size, and the u2netp pass waits for it,
as it runs on the original with that text filled in.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from maskgate.check.context import PairContext, build_context, fit_edit
from maskgate.check.criteria import REGISTRY
from maskgate.check.kind import edit_kind
from maskgate.check.measure import dilate
from maskgate.check.model import LearnedModel, load_scoring
from maskgate.check.verdict import Calibration, Scoring, decide
from maskgate.core.record import CriterionRecord, PairRecord, evidence_path
from maskgate.core.types import Kind, LoadedImage, TextRegion
from maskgate.io.images import rgba_over
from maskgate.io.manifest import PairSpec
from maskgate.models.registry import resolve_model
from maskgate.models.sessions import thread_budget, use_threads
from maskgate.vision.fill import without_text
from maskgate.vision.segment import saliency
from maskgate.vision.text import detect_text, detect_text_scales, regions_mask

Texts = tuple[list[TextRegion], list[TextRegion]]


@dataclass(frozen=True)
class Judgement:
    """A checked pair: its complete record and the evidence images the record's paths name (the
    runner writes them; a test reads them)."""

    record: PairRecord
    images: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def measure_all(ctx: PairContext, order=REGISTRY, pool: Executor | None = None) -> dict[str, dict]:
    """Every criterion's measurements, then what each borrows from the criterion that makes it.

    Criteria only read the context, whose shared members compute on first use, so ``order``
    changes nothing (a test runs shuffled orders); borrowing comes after everything is measured.
    For the same reason they can run side by side on ``pool``'s threads: their NumPy and OpenCV
    work releases the GIL, and a second core is otherwise idle while one pair's criteria run (the
    text passes of the next pair wait for them). A shared member two criteria ask for at once is
    computed once on Python 3.11 (``cached_property`` locks per member; the members depend on each
    other without cycles, so the locks cannot deadlock) and may be computed twice on 3.12+, which
    dropped the lock: the members are deterministic, so either copy is the same."""

    def one(c) -> dict:
        return dict(c.measure(ctx)) if c.judgeable(ctx) else {}

    order = list(order)
    measured = pool.map(one, order) if pool is not None else map(one, order)
    feats = dict(zip((c.name for c in order), measured, strict=True))
    for c in REGISTRY:
        if feats[c.name]:
            for k, lender in c.borrows.items():
                if k in feats[lender] and k not in feats[c.name]:
                    feats[c.name][k] = feats[lender][k]
    return {c.name: feats[c.name] for c in REGISTRY}


# Originals whose text and u2netp pass are kept for the pairs after them: the edits of one photo
# come together in a manifest, so a few suffice, and each costs a saliency map (4 MB at 1024 px).
ORIGINALS_KEPT = 4


@dataclass(frozen=True)
class _OriginalKey:
    digest: bytes  # of the decoded pixels: a path can be rewritten between two pairs, pixels cannot
    erasure: bool  # an erasure's original is read at two sizes, and its pass runs with the text filled


@dataclass(frozen=True)
class _Original:
    texts: list[TextRegion]
    saliency: Future[np.ndarray] | None  # None for a pair with a given mask (no pass was made)


class _RecentOriginals:
    """The last few originals' work, most recent last. Read and written by the calling thread,
    dropped from the helper thread when a pass fails, hence the lock."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[_OriginalKey, _Original] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _OriginalKey) -> _Original | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: _OriginalKey, value: _Original) -> None:
        with self._lock:
            old = self._items.get(key)
            if old is not None and value.saliency is None:  # keep a pass a given-mask pair did not need
                value = _Original(value.texts, old.saliency)
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def forget(self, key: _OriginalKey) -> None:
        with self._lock:
            self._items.pop(key, None)


def _digest(rgb: np.ndarray) -> bytes:
    h = hashlib.blake2b(np.ascontiguousarray(rgb).data, digest_size=16)
    h.update(repr((rgb.shape, rgb.dtype.str)).encode())
    return h.digest()


def _frozen(a: np.ndarray) -> np.ndarray:
    """Shared by later pairs: a criterion writing into it would change their evidence, so it cannot."""
    a.setflags(write=False)
    return a


class Checker:
    max_side = 1024  # working resolution: big enough for faint text, small enough for speed
    original_text_side = 384  # source_overlay and overlay regions only need overlay-sized text

    def __init__(
        self,
        calibration: str | Path | Calibration | LearnedModel | None = None,
        model: str | Path | LearnedModel | None = None,
        segmenter: str = "u2netp",
        segmenter_path: str | None = None,
    ):
        """Scored with ``model`` (a MODEL_DIR from ``maskgate learn``) or ``calibration`` (a
        calibration JSON, or a MODEL_DIR too: one loader tells them apart), never both: two
        sources of thresholds would leave it unclear which one decided. ``model`` names the
        scoring, as ``maskgate check --model`` does; the saliency network is ``segmenter``."""
        if calibration is not None and model is not None:
            raise ValueError("give a calibration or a model to score with, not both")
        self.calibration: Scoring = load_scoring(model if model is not None else calibration)
        self.segmenter = segmenter
        self.segmenter_path = segmenter_path
        self._pool: ThreadPoolExecutor | None = None
        self._criteria_pool: ThreadPoolExecutor | None = None
        self._originals = _RecentOriginals(ORIGINALS_KEPT)
        resolve_model(segmenter, segmenter_path)  # fail now, with the fix, rather than on the first pair

    def start(
        self,
        original: LoadedImage,
        edited: LoadedImage,
        kind: Kind | None = None,
        mask: np.ndarray | None = None,
        *,
        pair: PairSpec | None = None,
    ) -> Callable[[], Judgement]:
        """Begin checking a pair; calling the returned function finishes it.

        The u2netp pass and then the pair's context are built on a helper thread while this thread
        runs the text detections and returns. A caller that starts pair i+1 before finishing pair
        i thus runs one pair's criteria beside the next pair's model passes, and neither core
        waits on the other (``runner.process_pairs`` does this). ``pair``: the manifest entry the
        record is built from (id, paths, pass-through fields); by default one named after the files."""
        spec = pair or PairSpec(id="pair", original=original.path, edited=edited.path, kind=kind)
        fut = self._begin(original, edited, kind, mask)

        def finish() -> Judgement:
            ctx = fut.result()
            return self.judge(ctx, self.features(ctx), spec)

        return finish

    def check(
        self,
        original: LoadedImage,
        edited: LoadedImage,
        kind: Kind | None = None,
        mask: np.ndarray | None = None,
        *,
        pair: PairSpec | None = None,
    ) -> Judgement:
        return self.start(original, edited, kind, mask, pair=pair)()

    def context(
        self,
        original: LoadedImage,
        edited: LoadedImage,
        kind: Kind | None = None,
        mask: np.ndarray | None = None,
    ) -> PairContext:
        return self._begin(original, edited, kind, mask).result()

    def _begin(
        self, original: LoadedImage, edited: LoadedImage, kind: Kind | None, mask: np.ndarray | None
    ) -> Future[PairContext]:
        orig = rgba_over(original.rgb, original.alpha)
        h, w = orig.shape[:2]
        edit_rgb, edit_alpha, notes = fit_edit(rgba_over(edited.rgb, edited.alpha), edited.alpha, (h, w))
        given = None
        if mask is not None:
            m = mask if mask.ndim == 2 else mask[..., 0]
            given = cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST) > 127
        decided: Kind = kind or edit_kind(orig, edit_rgb, edit_alpha)
        # An erasure is judged on the original's overlay text, which must be told from the text
        # printed on the product: the original's text is found first (at 384 px and full size: a
        # big headline shows on the small view, a logo's caption on the large one) and hidden from
        # u2netp, which otherwise calls bold promo text and its banners the product.
        erasure = decided == "text_removed"

        def build(sal: np.ndarray, texts: Texts) -> PairContext:
            return build_context(
                orig,
                edit_rgb,
                edit_alpha,
                sal,
                *texts,
                kind=decided,
                given_mask=given,
                notes=notes,
                edit_side=max(edited.rgb.shape[:2]),
            )

        def original_saliency(texts: Texts | None = None) -> np.ndarray:
            if given is not None:
                return given.astype(np.float32)
            src = orig if texts is None else without_text(orig, texts[0], orig.shape)
            return saliency(src, self.segmenter, self.segmenter_path)

        # What the original alone yields (its text, its u2netp pass) is reused by the next pairs of
        # the same original: a catalogue sends several edits of one photo (HFPC compares several
        # generations of one original), and the pass is half a pair's model time.
        key = _OriginalKey(_digest(orig), erasure)
        known = self._originals.get(key)
        made: Future[np.ndarray] | None = known.saliency if known is not None and given is None else None

        def remember(texts_o: list[TextRegion], sal_fut: Future[np.ndarray] | None) -> None:
            self._originals.put(key, _Original(texts_o, sal_fut if given is None else None))

        total = thread_budget()
        if total < 2:  # one core: nothing runs beside anything else
            done: Future[PairContext] = Future()
            texts_o = known.texts if known is not None else self._original_texts(orig, erasure)
            texts = (texts_o, self._edit_texts(edit_rgb, erasure))
            sal_done = made
            if sal_done is None:
                sal_done = Future()
                sal_done.set_result(_frozen(original_saliency(texts if erasure else None)))
            remember(texts_o, sal_done)
            done.set_result(build(sal_done.result(), texts))
            return done
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="maskgate-helper")
        # u2netp and PP-OCR do not depend on each other, and one pass on half the cores wastes less
        # than one pass on all of them (a network's layers do not all split across threads); with a
        # given mask, or the original's pass already made, the text passes take every core
        half = 0 if given is not None or made is not None else total // 2

        def on_helper(texts: Texts | None = None) -> np.ndarray:
            with use_threads(half):
                return _frozen(original_saliency(texts))

        sal_fut: Future[np.ndarray]
        if erasure:  # u2netp waits for the text: the text passes take every core first
            with use_threads(total):
                texts_o = known.texts if known is not None else self._original_texts(orig, True)
                texts = (texts_o, self._edit_texts(edit_rgb, True))
            sal_fut = made if made is not None else self._pool.submit(on_helper, texts)
        else:
            sal_fut = made if made is not None else self._pool.submit(on_helper)
            with use_threads(total - half):
                texts_o = known.texts if known is not None else self._original_texts(orig, False)
                texts = (texts_o, self._edit_texts(edit_rgb, False))
        remember(texts_o, sal_fut)

        def finish() -> PairContext:
            try:
                sal = sal_fut.result()
            except BaseException:
                self._originals.forget(key)  # a failed pass is not reused: the next pair tries again
                raise
            return build(sal, texts)

        # queued behind the u2netp pass on the helper thread, so the caller is free right away
        return self._pool.submit(finish)

    def _original_texts(self, orig: np.ndarray, erasure: bool) -> list[TextRegion]:
        if erasure:  # overlay lines are the evidence, in both images: big headlines and small captions
            return detect_text_scales(orig, (self.original_text_side, None))
        return detect_text(orig, max_side=self.original_text_side)

    def _edit_texts(self, edit: np.ndarray, erasure: bool) -> list[TextRegion]:
        if erasure:
            return detect_text_scales(edit, (self.original_text_side, None))
        return detect_text(edit)

    def features(self, ctx: PairContext) -> dict[str, dict]:
        if thread_budget() < 2:  # one core: threads would only take turns
            return measure_all(ctx)
        if self._criteria_pool is None:
            self._criteria_pool = ThreadPoolExecutor(2, thread_name_prefix="maskgate-criteria")
        return measure_all(ctx, pool=self._criteria_pool)

    def judge(self, ctx: PairContext, feats: dict[str, dict], pair: PairSpec) -> Judgement:
        """The pair's complete record (and its evidence images) from its measurements."""
        cal = self.calibration
        keys = {c.name: cal.scorer(c.name, ctx.kind) for c in REGISTRY}
        scores = {
            c.name: (cal.probability(keys[c.name], feats[c.name]) if c.judgeable(ctx) else None)
            for c in REGISTRY
        }
        reward = getattr(cal, "reward", None)
        rewarded: dict[str, Any] | None = None
        if reward is not None:  # without one, the record is exactly what it was before rewards
            scores, rewarded = reward.adjust(ctx.orig, ctx.edit, ctx.kind, feats, scores)
        passed, verdict, overall = decide(scores, cal, keys, ctx.kind)
        if reward is not None and rewarded is not None:
            verdict, overall = reward.overrule(verdict, overall, rewarded)
        criteria: dict[str, CriterionRecord] = {}
        images: dict[str, dict[str, np.ndarray]] = {}
        for c in REGISTRY:
            ev: dict[str, Any] = {
                k: (round(v, 4) if isinstance(v, float) else v) for k, v in feats[c.name].items()
            }
            score = scores[c.name]
            if score is None and c.applies(ctx.kind):
                ev["not_judged"] = "product too small in the edit to compare its detail with the original"
            imgs = c.evidence(ctx, passed[c.name]) if c.evidence is not None else {}
            if imgs:
                images[c.name] = imgs
            criteria[c.name] = CriterionRecord(
                passed[c.name],
                1.0 if score is None else round(float(score), 4),
                ev,
                {n: evidence_path(pair.id, c.name, n) for n in imgs},
            )
        record = PairRecord(
            id=pair.id,
            original=pair.original,
            edited=pair.edited,
            kind=ctx.kind,
            verdict=verdict,
            score=round(float(overall), 4),
            criteria=criteria,
            source_overlay=source_overlay(ctx),
            notes=tuple(ctx.notes),
            extra=pair.passthrough() | ({"reward": rewarded} if rewarded is not None else {}),
            model_version=getattr(cal, "version", None),
        )
        return Judgement(record, images)


def source_overlay(ctx: PairContext) -> bool:
    """Did the original carry text/logos/graphics outside the product (the reviewer's Q1)?"""
    if not ctx.text_o:
        return False
    outside = ~dilate(ctx.mask_o, 4)
    tm = regions_mask(ctx.shape, ctx.text_o) > 0
    return bool((tm & outside).sum() > 0.3 * tm.sum())
