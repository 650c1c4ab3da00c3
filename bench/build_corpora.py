"""Rebuild every corpus the gate is trained and validated on, and check each, in one command.

    python bench/build_corpora.py OUT --dreambooth DATASET_DIR --davis FRAMES_DIR [--workers 2]

None of these corpora is in the repository (the photos are other people's), so a new machine has
none of them; this script is the one place that says how each is made, so the figures in
docs/benchmarks.md can be re-measured from scratch. It runs the recipes of docs/benchmarks.md
(fifth round) and skips every step whose output is already there, so a killed run resumes.

- ``--dreambooth``: the ``dataset/`` folder of ``github.com/google/dreambooth`` (one folder per
  subject). Only the subjects named below are read; the measured subjects are never touched.
- ``--davis``: ``images/<seq>.jpg`` + ``masks/<seq>.png`` (255 = object), one frame per DAVIS
  sequence, as ``bench/davis_frames.py DAVIS_ROOT FRAMES`` writes them from a DAVIS 2016 folder
  (the 45 single-object middle frames of a public copy: bench/fetch_sources.md).

Writes under OUT: ``<name>/labels.jsonl`` (and ``dead_zone.jsonl``) per corpus, ``<name>_check/``
(the check's results), and ``specs.txt``: the ``--train``/``--holdout`` arguments of
bench/generalize.py with every corpus built. Training sources: dbB, db, tiny, slab, rt_davis,
drawn (with their dead-zone pairs), and the erasure corpora er_davis_31/32 and er_db_31/32. Held out, never trained on: dev, text_removed, rt_grabcut.
The shipped gate's recipe (docs/benchmarks.md) leaves ``slab``, ``rt_davis_dz`` and the erasure
corpora out: they were built after it.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
# the subjects of the two photo corpora: neither a measured DreamBooth subject nor a dev product
DBB = ("dog", "dog5", "dog6", "dog7", "dog8")
DB = ("backpack", "backpack_dog", "cat", "cat2", "dog2", "dog3")
# backgrounds: salient-object photos and the clean halves of the inpainting pairs
CLEAN_PAIRS = ("unwant_object_clean.jpg", "unwant_text_clean.jpg", "watermark_cleanup.jpg")
# the erasure corpora's seeds: each draws other promo lines on the same photos (docs/benchmarks.md,
# tenth round)
ERASE_SEEDS = (31, 32)


def run(cmd: list[str], done: Path) -> None:
    """Run one step unless its output exists (a killed run resumes at the step it was on)."""
    if done.exists():
        print(f"skip (done): {done}", flush=True)
        return
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def maskgate(*args: str) -> list[str]:
    return [sys.executable, "-m", "maskgate", *args]


def products(dataset: Path, subjects: tuple[str, ...], out: Path) -> Path:
    """Copy a corpus's photos as ``<subject>__NN.jpg`` (the subject stays in the name, so a
    group can be traced to it) and make their masks with ``maskgate mask``."""
    out.mkdir(parents=True, exist_ok=True)
    for s in subjects:
        for i, p in enumerate(sorted((dataset / s).glob("*.jpg"))):
            dst = out / f"{s}__{i:02d}.jpg"
            if not dst.exists():
                shutil.copyfile(p, dst)
    run(maskgate("mask", str(out), "--out", str(out / "masks")), out / "masks" / f"{subjects[-1]}__00.png")
    return out


def backgrounds(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for p in sorted((SHARED / "images" / "salient_objects").iterdir()):
        if p.suffix.lower() in (".jpg", ".jpeg", ".png") and not (out / p.name).exists():
            shutil.copyfile(p, out / p.name)
    for n in CLEAN_PAIRS:
        src = SHARED / "images" / "inpainting_pairs" / n
        if src.exists() and not (out / n).exists():
            shutil.copyfile(src, out / n)
    return out


def sample(labels: Path, n: int, seed: int) -> None:
    """Keep ``n`` labelled pairs drawn at random (the check's time on 2 cores is the limit)."""
    lines = labels.read_text().splitlines()
    if len(lines) <= n:
        return
    keep = sorted(random.Random(seed).sample(range(len(lines)), n))
    shutil.copyfile(labels, labels.with_name("labels_all.jsonl"))
    labels.write_text("".join(lines[i] + "\n" for i in keep))


def check(labels: Path, out: Path, workers: int) -> Path:
    if labels.exists() and labels.stat().st_size:
        run(maskgate("check", str(labels), "--out", str(out), "--workers", str(workers)), out / ".done")
        (out / ".done").touch()
    return out / "results.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--dreambooth", type=Path, required=True)
    ap.add_argument("--davis", type=Path, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--davis-pairs", type=int, default=320)
    a = ap.parse_args()
    out = a.out.resolve()
    bgs = str(backgrounds(out / "bgs"))
    synth = ("--backgrounds", bgs)

    p_dbB = products(a.dreambooth, DBB, out / "products_dbB")
    p_db = products(a.dreambooth, DB, out / "products_db")
    p_all = out / "products_both"
    (p_all / "masks").mkdir(parents=True, exist_ok=True)
    for src in (p_dbB, p_db):
        for p in src.glob("*.jpg"):
            for s, d in (
                (p, p_all / p.name),
                (src / "masks" / f"{p.stem}.png", p_all / "masks" / f"{p.stem}.png"),
            ):
                if not d.exists():
                    shutil.copyfile(s, d)

    recipes = {
        "dbB": [str(p_dbB), "--per-product", "24", "--ok-share", "0.45", "--seed", "11"],
        "db": [str(p_db), "--per-product", "12", "--ok-share", "0.35", "--seed", "2"],
        "tiny": [str(p_all), "--families", "tiny", "--per-product", "3", "--ok-share", "0", "--seed", "11"],
        # background replacements that carry a slab of the old background (residue_bg on a new
        # background, a family the fifth round's corpora did not have)
        "slab": [
            str(p_all),
            "--families",
            "residue_bg",
            "--kinds",
            "inpainted",
            "--per-product",
            "3",
            "--ok-share",
            "0.25",
            "--seed",
            "13",
        ],
        "drawn": ["--n-products", "15", "--per-product", "20", "--ok-share", "0.35", "--seed", "1"],
    }
    for name, args in recipes.items():
        run(maskgate("synth", *args, *synth, "--out", str(out / name)), out / name / "labels.jsonl")

    tools = [sys.executable, str(HERE / "build_real_tools.py")]
    run(
        [*tools, str(a.davis), str(out / "rt_davis"), *synth, "--seed", "5", "--side", "512"],
        out / "rt_davis" / "labels.jsonl",
    )
    sample(out / "rt_davis" / "labels.jsonl", a.davis_pairs, 0)
    # erasures by real fills (Telea, Navier-Stokes, PatchMatch) of promo lines and badges drawn
    # beside the product, labelled from the text-free photo: the erasure kind's own corpora, twice
    # per photo with other lines. The DreamBooth photos' masks are maskgate's, which only place the
    # lines off the product here; the labels do not depend on them.
    er_db = out / "erase_db"
    for sub in ("images", "masks"):
        (er_db / sub).mkdir(parents=True, exist_ok=True)
    for p in p_all.glob("*.jpg"):
        for s, d in (
            (p, er_db / "images" / p.name),
            (p_all / "masks" / f"{p.stem}.png", er_db / "masks" / f"{p.stem}.png"),
        ):
            if not d.exists():
                shutil.copyfile(s, d)
    erasures = {}
    for seed in ERASE_SEEDS:
        for name, photos in ((f"er_davis_{seed}", a.davis), (f"er_db_{seed}", er_db)):
            run(
                [*tools, str(photos), str(out / name), "--families", "", "--seed", str(seed)],
                out / name / "labels.jsonl",
            )
            erasures[name] = out / name
    grabcut = str(SHARED / "images" / "grabcut")
    run([*tools, grabcut, str(out / "rt_grabcut"), "--holdout", *synth], out / "rt_grabcut" / "labels.jsonl")
    run(
        [
            sys.executable,
            str(HERE / "build_text_removed.py"),
            str(out / "text_removed"),
            "--posters",
            str(SHARED / "images" / "posters_with_text"),
            "--pairs",
            str(SHARED / "images" / "inpainting_pairs"),
        ],
        out / "text_removed" / "labels.jsonl",
    )

    train, dz, hold = [], [], []
    for name in ("dbB", "db", "tiny", "slab", "rt_davis", "drawn", *erasures):
        res = check(out / name / "labels.jsonl", out / f"{name}_check", a.workers)
        train.append(f"{name}={res}:{out / name / 'labels.jsonl'}")
        dzl = out / name / "dead_zone.jsonl"
        if dzl.exists() and dzl.stat().st_size:
            dres = check(dzl, out / f"{name}_dz_check", a.workers)
            dz.append(f"{name}_dz={dres}:{dzl}")
    for name in ("text_removed", "rt_grabcut"):
        res = check(out / name / "labels.jsonl", out / f"{name}_check", a.workers)
        hold.append(f"{name}={res}:{out / name / 'labels.jsonl'}")
    dev = SHARED / "bench" / "dev" / "labels.jsonl"
    if dev.exists():
        hold.insert(0, f"dev={check(dev, out / 'dev_check', a.workers)}:{dev}")
    spec = "--train " + " ".join(train + dz) + " --holdout " + " ".join(hold)
    (out / "specs.txt").write_text(spec + "\n")
    print(json.dumps({"specs": str(out / "specs.txt")}))


if __name__ == "__main__":
    main()
