"""Write a labelled set (originals/, edited/, manifest.jsonl, labels.jsonl, summary.json) in the
benchmark's format, plus what a training protocol needs: each edit's family and severity, its
product's group (so folds never split a product) and its sources (so whole product sources,
background sources and generators can be held out).

Two modes. Without ``per_product`` (the demo): every family once per kind at a blatant severity,
plus a clean edit per kind, no benign variation. With it: that many edits per product, each a
clean edit (``ok_share`` of them) or a family at a severity drawn uniformly over its range, with
benign variation on every edit, and the dead zone around each threshold left out.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskgate.core.types import CRITERIA, Criterion, Kind
from maskgate.io.images import save_image
from maskgate.synth import benign as bn
from maskgate.synth import defects
from maskgate.synth.families import DEMO_FAMILIES, DEMO_KINDS, Family, select
from maskgate.synth.sources import (
    Backgrounds,
    Original,
    ProductSource,
    drawn_products,
    folder_products,
    make_original,
)

SYNTH_KINDS: tuple[Kind, ...] = ("isolated", "inpainted")
TAG = {"isolated": "iso", "inpainted": "bg"}
ORIGINAL_BACKDROPS = ("calm", "studio", "scene")
ATTEMPTS = 6  # drawn mode: tries per wanted edit, since dead-zone and inapplicable draws are dropped


@dataclass(frozen=True)
class Plan:
    family: Family | None  # None: a clean edit
    kind: Kind
    severity: float | None  # None: drawn from the family's range


def labels_for(kind: Kind, fails: Criterion | None) -> dict[str, bool | None]:
    lab: dict[str, bool | None] = {c: True for c in CRITERIA}
    if kind == "isolated":
        lab["background"] = None
    if fails:
        lab[fails] = False
    return lab


def build_set(
    out_dir: Path,
    n_products: int = 4,
    seed: int = 0,
    products: Path | None = None,
    per_product: int | None = None,
    size: int | tuple[int, int] = 384,
    backgrounds: Path | None = None,
    families: str | Sequence[str] | None = None,
    kinds: Sequence[str] = SYNTH_KINDS,
    ok_share: float = 0.2,
) -> Path:
    """Build the set and return its labels.jsonl.

    ``families`` None means the demo's families in plan mode (no ``per_product``) and all of them
    in drawn mode. ``size`` is the originals' long side, or a (low, high) range drawn per product.
    """
    out_dir = Path(out_dir)
    (out_dir / "originals").mkdir(parents=True, exist_ok=True)
    (out_dir / "edited").mkdir(parents=True, exist_ok=True)
    demo = per_product is None
    chosen = select(DEMO_FAMILIES if demo and families is None else families)
    unknown = [k for k in kinds if k not in SYNTH_KINDS]
    wanted_kinds = tuple(k for k in SYNTH_KINDS if k in kinds)
    if unknown or not wanted_kinds:
        raise ValueError(f"unknown or no edit kinds: {list(kinds)} (synth makes: {', '.join(SYNTH_KINDS)})")
    bgs = Backgrounds(backgrounds)
    size_of = _sizes(size, seed)
    sources = (
        folder_products(Path(products), size_of) if products else drawn_products(n_products, size_of, demo)
    )
    writer = _Writer(out_dir)
    for i, (group, load) in enumerate(sources):
        rng = np.random.default_rng([seed, i])
        try:
            src = load()
        except (ValueError, OSError) as e:
            writer.errors.append(f"{group}: {e}")
            continue
        stem = writer.stem(i, group, drawn=not products)
        original = _original(src, bgs, rng, seed * 100 + i, demo)
        save_image(out_dir / "originals" / f"{stem}.jpg", original.image)
        if per_product is None:
            for plan in _demo_plans(chosen, wanted_kinds, DEMO_KINDS if families is None else {}):
                writer.edit(stem, src, original, plan, bgs, rng, demo_bg=seed * 100 + 50 + i)
        else:
            _drawn_edits(writer, stem, src, original, chosen, wanted_kinds, bgs, rng, per_product, ok_share)
    return writer.finish()


def _sizes(size: int | tuple[int, int], seed: int):
    if isinstance(size, int):
        return lambda i: size
    lo, hi = size
    return lambda i: int(np.random.default_rng([seed, i, 7]).integers(lo, hi + 1))


def _original(src: ProductSource, bgs: Backgrounds, rng: np.random.Generator, n: int, demo: bool) -> Original:
    shape = src.rgb.shape[:2]
    if demo:
        kind = "calm"
    else:
        options = list(ORIGINAL_BACKDROPS) + (["photo"] * 3 if bgs.photos else [])
        kind = options[int(rng.integers(len(options)))]
        n = int(rng.integers(1 << 20))
    scene_id, scene_img = bgs.make(kind, n, shape)
    return make_original(src, scene_id, scene_img, rng)


def _demo_plans(chosen, kinds, kinds_of) -> list[Plan]:
    plans = [Plan(None, k, None) for k in kinds]
    for fam in chosen:
        for k in kinds_of.get(fam.name, fam.kinds):
            if k in kinds:
                plans.append(Plan(fam, k, fam.blatant))
    order = {k: j for j, k in enumerate(kinds)}
    return sorted(plans, key=lambda p: (0 if p.family is None else 1 + chosen.index(p.family), order[p.kind]))


def _drawn_edits(
    writer, stem, src, original, chosen, kinds, bgs, rng, per_product: int, ok_share: float
) -> None:
    options = [(f, k) for f in chosen for k in f.kinds if k in kinds]
    written, tries = 0, 0
    while written < per_product and tries < ATTEMPTS * per_product:
        tries += 1
        if not options or rng.random() < ok_share:
            plan = Plan(None, kinds[int(rng.integers(len(kinds)))], None)
        else:
            fam, kind = options[int(rng.integers(len(options)))]
            plan = Plan(fam, kind, None)
        written += writer.edit(stem, src, original, plan, bgs, rng, number=written)


class _Writer:
    """Writes each kept edit and its lines, each dead-zone edit and its line, and counts what was
    left out and why."""

    def __init__(self, out_dir: Path):
        self.out = out_dir
        self.manifest: list[dict] = []
        self.labels: list[dict] = []
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.errors: list[str] = []
        self.stems: set[str] = set()
        self.dead_zone: list[dict] = []

    def stem(self, i: int, group: str, drawn: bool) -> str:
        base = f"product{i:02d}" if drawn else re.sub(r"[^A-Za-z0-9_-]+", "_", group.split(":", 1)[1])
        stem = base if base not in self.stems else f"{base}_{i}"
        self.stems.add(stem)
        return stem

    def edit(self, stem, src, original, plan: Plan, bgs, rng, demo_bg: int | None = None, number=None) -> int:
        fam = plan.family
        name = fam.name if fam else "ok"
        if demo_bg is not None:
            variation = bn.plain(plan.kind, f"scene:{demo_bg}")
        else:
            shape = original.image.shape[:2]
            bg = bgs.draw(rng, shape, avoid=original.background)[0] if plan.kind == "inpainted" else ""
            variation = bn.draw(rng, plan.kind, bg)
        st = bn.stage(original, plan.kind, variation, bgs)
        made: defects.Made | None
        if fam is None:
            made = defects.ok(st, 0.0, rng)
        else:
            severity = plan.severity if plan.severity is not None else fam.draw(rng)
            made = fam.make(st, severity, rng)
        if made is None:
            self.counts[name]["not_applicable"] += 1
            return 0
        passes = True if fam is None else fam.passes(made.severity)
        tag = TAG[plan.kind]
        if passes is None:
            # Not a training label (a coin toss), but what a gate must not accept: the edits a
            # real generator makes land there too, and accept bounds set without them are too
            # sure (``dead_zone.jsonl``; ``learn`` counts them bad for accepts).
            self.counts[name]["left_out"] += 1
            assert fam is not None
            pid = f"{stem}__dz{self.counts[name]['left_out']:03d}_{tag}_{name}"
            path = bn.write(made.edit, self.out / "edited" / pid, variation.encoding)
            rec = {"id": pid, "original": f"originals/{stem}.jpg", "edited": f"edited/{path.name}"}
            lab = labels_for(plan.kind, None)
            lab[fam.fails] = None
            self.dead_zone.append(self._line(rec, plan, name, tag, made, lab, src, variation, original))
            self.dead_zone[-1] |= {"acceptable": None, "dead_zone": fam.fails}
            return 0
        self.counts[name]["pass" if passes else "fail"] += 1
        pid = f"{stem}__{tag}_{name}" if number is None else f"{stem}__{number:03d}_{tag}_{name}"
        path = bn.write(made.edit, self.out / "edited" / pid, variation.encoding)
        rec = {"id": pid, "original": f"originals/{stem}.jpg", "edited": f"edited/{path.name}"}
        lab = labels_for(plan.kind, None if passes else fam.fails if fam else None)
        self.manifest.append(rec)
        self.labels.append(self._line(rec, plan, name, tag, made, lab, src, variation, original))
        return 1

    @staticmethod
    def _line(rec, plan: Plan, name: str, tag: str, made, lab, src, variation, original) -> dict:
        return {
            **rec,
            "kind": plan.kind,
            "defect": name if name.startswith("bg_") else f"{tag}_{name}",  # the dev set's names
            "family": name,
            "severity": round(float(made.severity), 4),
            "labels": lab,
            "acceptable": all(v is not False for v in lab.values()),
            "group": src.group,
            "source": {
                "product": src.group,
                "background": variation.backdrop,
                "original_background": original.background,
                "generator": "synth",
            },
            "benign": variation.as_json(),
        }

    def finish(self) -> Path:
        (self.out / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in self.manifest))
        path = self.out / "labels.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in self.labels))
        (self.out / "dead_zone.jsonl").write_text("".join(json.dumps(r) + "\n" for r in self.dead_zone))
        summary = {
            "pairs": len(self.labels),
            "dead_zone_pairs": len(self.dead_zone),
            "families": {k: dict(v) for k, v in self.counts.items()},
            "errors": self.errors,
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        return path
