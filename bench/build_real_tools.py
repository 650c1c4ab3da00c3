"""Build labelled pairs from real tools' cut-outs and erasures, labelled from ground-truth masks.

    python bench/build_real_tools.py PHOTOS_DIR OUT [--backgrounds DIR] [--seed S] [--side 640]
        [--families u2netp_pass,grabcut_box,colour_key,maskgate_fast,maskgate_default,gt]
        [--fills telea,ns,patchmatch] [--limit N] [--holdout]

PHOTOS_DIR holds photos and their ground-truth product masks (``images/*.jpg`` + ``masks/<stem>.png``,
or GrabCut-benchmark style ``imgs/`` + ``seg_GT/``). Each photo, at ``--side`` px at most, is cut out
by every family (``maskgate.synth.tools``): one rembg-style u2netp pass, GrabCut from the GT box,
a colour key, maskgate's own ``--fast`` and default product masks, and the GT mask itself grown or
shrunk a pixel or two and feathered. Each cut-out becomes an ``isolated`` edit (white, off-white or
transparent, drawn at random) and an ``inpainted`` one (pasted where it stood onto a background
from ``--backgrounds``, else a drawn scene). Then promo lines and a badge are drawn beside the
product and erased by each fill (Telea, Navier-Stokes, PatchMatch when pypatchmatch works here):
completely, and once with a line missed, a hole too tight or a line half erased, drawn at random.

Labels follow the rule in ``maskgate.synth.tools`` (its module docstring has the table). Pairs in
its dead zone are no training labels. A cut-out in it is written to ``OUT/dead_zone.jsonl`` as
``maskgate synth`` writes its own (the uncertain criterion null, ``"acceptable": null``,
``"dead_zone"``: the criterion), composed with a generator of its own so the labelled pairs are
what they were without it; what could not be made, and the erasures in their dead zone, go to
``OUT/left_out.jsonl`` with their measurements. Writes
``OUT/originals``, ``OUT/edited``, ``OUT/labels.jsonl`` (the benchmark's fields plus ``family``,
``measured``, ``group`` = the photo, ``source``) and ``OUT/manifest.jsonl``.

Photos that measure the project (the DreamBooth subjects, the dev set's products, the GrabCut and
poster folders) are refused as training sources; ``--holdout`` builds from them anyway and marks
every record ``"split": "holdout"`` (for a validation set, never for fitting).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from maskgate.io.images import load_image, save_image
from maskgate.synth import tools
from maskgate.synth.draw import scene

# A family: (rgb, gt mask, rng) -> uint8 alpha, or None when the tool cannot run on this photo.
Family = Callable[[np.ndarray, np.ndarray, np.random.Generator], "np.ndarray | None"]

FILLS = ("telea", "ns", "patchmatch")


def _maskgate(fast: bool) -> Family:
    """maskgate's own product mask (bench scripts may import make; the synth package may not)."""

    def run(rgb: np.ndarray, gt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        from maskgate.make.product import product_mask
        from maskgate.vision.segment import FAST_PASSES

        return product_mask(rgb, passes=FAST_PASSES if fast else None).alpha

    return run


FAMILIES: dict[str, Family] = {
    "u2netp_pass": lambda rgb, gt, rng: tools.u2netp_pass(rgb),
    "grabcut_box": lambda rgb, gt, rng: tools.grabcut_box(rgb, gt, margin=float(rng.uniform(0.03, 0.12))),
    "colour_key": lambda rgb, gt, rng: tools.colour_key(rgb, tol=float(rng.uniform(15, 40))),
    "maskgate_fast": _maskgate(True),
    "maskgate_default": _maskgate(False),
    "gt": lambda rgb, gt, rng: tools.gt_cutout(gt, int(rng.integers(-1, 3)), float(rng.uniform(0.5, 1.0))),
}


def backgrounds_of(folder: Path | None, seed: int) -> list[tuple[str, np.ndarray]]:
    """(name, rgb) of the new backgrounds: the folder's images, else a few drawn scenes. Masks are
    skipped, and so is the "before" image of a before/after pair (``x.jpg`` beside ``x_clean.jpg``
    or ``x_cleanup.jpg``, as in IOPaint's samples): it carries the text or watermark that was to go,
    and a background with text in it would be residue the labels do not know about."""
    if folder is None:
        return [(f"drawn:scene({seed * 10 + k})", scene(seed * 10 + k, 640)) for k in range(4)]
    exts = (".jpg", ".jpeg", ".png", ".webp")
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in exts)
    stems = {p.stem for p in files}
    out = []
    for p in files:
        if "mask" in p.stem.lower() or {p.stem + "_clean", p.stem + "_cleanup"} & stems:
            continue
        out.append((str(p), load_image(p, max_side=1024).rgb))
    if not out:
        raise SystemExit(f"no background images in {folder}")
    return out


def _outcome(labels: dict[str, bool | None]) -> str:
    parts = [
        name for c, name in (("residue", "residue_bg"), ("segmentation", "cutoff")) if labels[c] is False
    ]
    return "+".join(parts) or "ok"


def _cutout_pairs(
    src: tools.Source,
    rgb: np.ndarray,
    original: str,
    families: dict[str, Family],
    backgrounds: list[tuple[str, np.ndarray]],
    rng: np.random.Generator,
    out: Path,
) -> tuple[list[dict], list[dict], list[dict]]:
    """The cut-out pairs (labelled), what was left out (tool failures), and the dead-zone pairs."""
    rows: list[dict] = []
    dead: list[dict] = []
    dz: list[dict] = []
    for family, fn in families.items():
        t0 = time.perf_counter()
        alpha = fn(rgb, src.mask, rng)
        if alpha is None:
            dead.append({"id": f"{src.name}__{family}", "family": family, "reason": "tool could not run"})
            continue
        alpha = tools.to_alpha(alpha, rgb.shape)
        m = tools.measure_cutout(src.mask, alpha)
        measured = {**m.as_dict(), "seconds": round(time.perf_counter() - t0, 3)}
        for kind in ("isolated", "inpainted"):
            prefix = "iso" if kind == "isolated" else "bg"
            pid = f"{src.name}__{prefix}_{family}"
            labels = tools.label_cutout(m, kind)
            uncertain = tools.dead_zone_cutout(m, kind) if labels is None else None
            if uncertain is not None:
                # a pair of its own, composed with a generator of its own, so the labelled pairs
                # stay what they were without it (same seed, same set)
                dz_rng = np.random.default_rng(list(pid.encode()))
                dz.append(_compose(rgb, alpha, kind, f"{pid}__dz", original, backgrounds, dz_rng, out))
                dz[-1] |= {
                    "labels": uncertain[0],
                    "acceptable": None,
                    "dead_zone": uncertain[1],
                    "family": family,
                    "measured": measured,
                    "group": src.name,
                    "defect": f"{prefix}_dead_zone",
                }
                dz[-1]["source"] |= {"product": src.path, "generator": family}
                continue
            if labels is None:
                dead.append(
                    {"id": pid, "kind": kind, "family": family, "group": src.name, "measured": measured}
                )
                continue
            row = _compose(rgb, alpha, kind, pid, original, backgrounds, rng, out)
            row |= {
                "defect": f"{prefix}_{_outcome(labels)}",
                "labels": labels,
                "acceptable": tools.acceptable(labels),
                "family": family,
                "measured": measured,
                "group": src.name,
            }
            row["source"] |= {"product": src.path, "generator": family}
            rows.append(row)
    return rows, dead, dz


def _compose(
    rgb, alpha, kind: str, pid: str, original: str, backgrounds, rng: np.random.Generator, out: Path
) -> dict:
    """Compose one cut-out edit, write it, and return its line's first fields."""
    if kind == "isolated":
        backdrop = str(rng.choice(["white", "offwhite", "transparent"]))
        edit, edit_alpha = tools.compose_isolated(rgb, alpha, backdrop, rng)  # type: ignore[arg-type]
        bg_name = backdrop
        rel = f"edited/{pid}.png"
    else:
        bg_name, bg = backgrounds[int(rng.integers(len(backgrounds)))]
        edit, edit_alpha = tools.compose_inpainted(rgb, alpha, bg), None
        rel = f"edited/{pid}.jpg"
    save_image(out / rel, edit, edit_alpha, quality=92)
    return {"id": pid, "original": original, "edited": rel, "kind": kind, "source": {"background": bg_name}}


def _erasure_pairs(
    src: tools.Source, rgb: np.ndarray, fills: list[str], rng: np.random.Generator, out: Path, seed: int
) -> tuple[list[dict], list[dict]]:
    drawn, overlays = tools.draw_overlays(rgb, src.mask, rng)
    if len(overlays) < 2:
        return [], [{"id": f"{src.name}__tr", "reason": "no room beside the product for two lines"}]
    original = f"originals/{src.name}__text.png"
    save_image(out / original, drawn)  # lossless: the erasure and its measure see exactly this
    rows, dead = [], []
    for method in fills:
        failing = str(rng.choice([v for v in tools.ERASE_VARIANTS if v != "complete"]))
        for variant in ("complete", failing):
            hole, target = tools.erase_mask(overlays, rgb, drawn, variant, rng)  # type: ignore[arg-type]
            t0 = time.perf_counter()
            erased = tools.erase(drawn, hole, method, seed)
            me = tools.measure_erasure(rgb, drawn, erased, overlays)
            family = f"fill_{method}"
            pid = f"{src.name}__tr_{method}_{variant}"
            measured = {
                **me.as_dict(),
                "wrong_line": target,
                "hole_share": round(float((hole > 0).mean()), 5),
                "seconds": round(time.perf_counter() - t0, 3),
            }
            labels = tools.label_erasure(me)
            if labels is None:
                dead.append(
                    {
                        "id": pid,
                        "kind": "text_removed",
                        "family": family,
                        "group": src.name,
                        "measured": measured,
                    }
                )
                continue
            rel = f"edited/{pid}.png"
            save_image(out / rel, erased)
            rows.append(
                {
                    "id": pid,
                    "original": original,
                    "edited": rel,
                    "kind": "text_removed",
                    "defect": "tr_ok" if labels["residue"] else "tr_residue_text",
                    "labels": labels,
                    "acceptable": tools.acceptable(labels),
                    "family": family,
                    "variant": variant,
                    "measured": measured,
                    "group": src.name,
                    "source": {
                        "product": src.path,
                        "background": None,
                        "generator": family,
                        "overlays": [
                            {"box": list(o.box), "text": o.text, "badge": o.badge} for o in overlays
                        ],
                    },
                }
            )
    return rows, dead


def build(
    photos: Path,
    out: Path,
    backgrounds: Path | None = None,
    seed: int = 0,
    side: int = 640,
    families: dict[str, Family] | None = None,
    fills: list[str] | None = None,
    limit: int | None = None,
    holdout: bool = False,
) -> dict:
    """Write the set; returns a summary (pairs per family and label, dead-zone count, seconds per photo)."""
    out = Path(out)
    (out / "originals").mkdir(parents=True, exist_ok=True)
    (out / "edited").mkdir(parents=True, exist_ok=True)
    pairs = tools.source_pairs(Path(photos))[:limit]
    refused = [r for p, _ in pairs if (r := tools.forbidden(p))]
    if refused and not holdout:
        raise SystemExit(
            "refused (these photos measure the project; --holdout builds a validation set):\n  "
            + "\n  ".join(refused)
        )
    families = FAMILIES if families is None else families
    fills = [
        f for f in (FILLS if fills is None else fills) if f != "patchmatch" or tools.patchmatch_available()
    ]
    bgs = backgrounds_of(backgrounds, seed)
    rows, dead, dz_pairs, seconds, cpu = [], [], [], [], []
    for i, (photo, mask) in enumerate(pairs):
        t0, c0 = time.perf_counter(), time.process_time()
        rng = np.random.default_rng([seed, i])
        src = tools.load_source(photo, mask, side)
        original = f"originals/{src.name}.jpg"
        save_image(out / original, src.rgb, quality=95)
        rgb = load_image(out / original).rgb  # the edits are made from the file the check will read
        r1, d1, z1 = _cutout_pairs(src, rgb, original, families, bgs, rng, out)
        r2, d2 = _erasure_pairs(src, src.rgb, fills, rng, out, seed) if fills else ([], [])
        rows += r1 + r2
        dead += d1 + d2
        dz_pairs += z1
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        print(
            f"{src.name}: {len(r1) + len(r2)} pairs, {len(z1)} in the dead zone, {len(d1) + len(d2)} left out, "
            f"{seconds[-1]:.1f} s ({cpu[-1]:.1f} s CPU)",
            flush=True,
        )
    if holdout:
        for r in rows + dz_pairs:
            r["split"] = "holdout"
    (out / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "manifest.jsonl").write_text(
        "".join(json.dumps({k: r[k] for k in ("id", "original", "edited", "kind")}) + "\n" for r in rows)
    )
    (out / "dead_zone.jsonl").write_text("".join(json.dumps(r) + "\n" for r in dz_pairs))
    (out / "left_out.jsonl").write_text("".join(json.dumps(r) + "\n" for r in dead))
    return {
        "photos": len(pairs),
        "pairs": len(rows),
        "dead_zone_pairs": len(dz_pairs),
        "left_out": len(dead),
        "by_family": dict(Counter(f"{r['family']}:{'ok' if r['acceptable'] else 'fail'}" for r in rows)),
        "seconds_per_photo": round(float(np.mean(seconds)), 2) if seconds else 0.0,
        "cpu_seconds_per_photo": round(float(np.mean(cpu)), 2) if cpu else 0.0,
        "fills": fills,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--backgrounds", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--side", type=int, default=640)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--fills", default=",".join(FILLS))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--holdout", action="store_true")
    args = ap.parse_args(argv)
    names = [f for f in args.families.split(",") if f]
    unknown = [f for f in names if f not in FAMILIES]
    if unknown:
        sys.exit(f"unknown families {unknown}; known: {list(FAMILIES)}")
    fills = [f for f in args.fills.split(",") if f]
    if "patchmatch" in fills and not tools.patchmatch_available():
        print("PatchMatch skipped: pypatchmatch does not import or load here (pip install pypatchmatch)")
    summary = build(
        args.photos,
        args.out,
        args.backgrounds,
        args.seed,
        args.side,
        {f: FAMILIES[f] for f in names},
        fills,
        args.limit,
        args.holdout,
    )
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
