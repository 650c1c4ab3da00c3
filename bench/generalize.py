"""Does the gate generalize? Leave-one-source-out over training corpora, then held-out validation.

    python bench/generalize.py --train NAME=RESULTS:LABELS [...] --holdout NAME=RESULTS:LABELS [...]
                               [--target-precision 0.98] [--out MODEL_DIR] [--version NAME]
                               [--model-class auto] [--fold-by group|source]
                               [--weigh SCORER=[+]NAME:HOW:REF[,NAME:HOW:REF...]]

RESULTS are `maskgate check` runs of the LABELS (any gate: the measurements do not depend on it).
1. For every training source in turn, a model is trained on the OTHER training sources and
   scored on the one left out (bench/rescore.py): what to expect on a product source, background
   source or generator the gate has never seen. A source made of other sources' photos (a
   family-only corpus, a set's dead-zone pairs) is left out with them, never on its own (``homes``).
   A LABELS file with dead-zone lines (``maskgate synth``'s dead_zone.jsonl) trains as ``learn``
   trains on it: counted bad for accepts, left out of rejects, no scorer of its uncertain
   criterion.
2. A model is trained on every training source and scored on each --holdout set (the dev set,
   the text_removed set, the real-tool cut-outs of held-out photos): sets it never saw. With
   --out it is written there (the model the package ships is made this way).
--weigh replaces what one scorer weighs (with ``+``: adds to it), for this run only (a diagnosis:
how a gate would do if it weighed a measurement the check records but the shipped criteria do not
weigh yet). The model
it writes loads only in a run that weighs the same; the check cannot use it.
Each figure is printed per set and per edit kind: accept precision, good accepted, good rejected,
reject precision, per-criterion F1. Nothing here is a training figure except where it says so.
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
from dataclasses import replace
from pathlib import Path

from accuracy import read_labels, report_set  # bench scripts import each other (run from bench/)
from maskgate.check.criterion import Feature
from maskgate.check.scoring import FEATURES, criterion_of
from maskgate.core.record import read_records
from maskgate.learn.calibrate import LabelledFeatures, group_of, rows_from_results
from maskgate.learn.train import describe_sources, train
from rescore import rescore


def _parse(spec: str) -> tuple[str, Path, Path]:
    name, _, paths = spec.rpartition("=")
    res, _, lab = paths.partition(":")
    return name or Path(lab).parent.name, Path(res), Path(lab)


def homes(sets) -> dict[str, str]:
    """Group (a product photo) -> its home: the first training source, in command order, that
    holds it; with ``--fold-by source`` a pair is folded with its product's home.

    A source made of other sources' photos (``tiny``: the photos of ``dbB`` and ``db``, one failure
    family) is not a domain of its own. Left out alone, its products would still be in training,
    and the one family it covers would be judged by scorers that never saw it; folded with its
    products' homes, a product never straddles folds and a family is left out only with them."""
    home: dict[str, str] = {}
    by_photo: dict[str, str] = {}
    for name, _res, lab in sets:
        for rec in read_labels(lab, dead_zone=True).values():
            g = group_of(rec)
            # one photo, whoever named it: ``maskgate synth`` calls a folder's product
            # ``folder:STEM``, bench/build_real_tools.py calls the same photo ``STEM``
            home.setdefault(g, by_photo.setdefault(g.removeprefix("folder:"), name))
    return home


def split_home(home: dict[str, str], source: str) -> dict[str, str]:
    """``home`` with ``source``'s photos folded in two by alternate group names (``SOURCE_a``,
    ``SOURCE_b``), so that source's kind of pairs is in every fold's training: the folds then hold
    out its scenes, not its generator."""
    groups = sorted(g for g, h in home.items() if h == source)
    half = {g: f"{source}_{'ab'[i % 2]}" for i, g in enumerate(groups)}
    return {g: half.get(g, h) for g, h in home.items()}


def load(sets) -> list[tuple[str, LabelledFeatures]]:
    """Every training set's labelled rows, with the set each came from: read once per run, however
    many sources are left out in turn."""
    return [(name, r) for name, res, lab in sets for r in rows_from_results(res, lab, group="group")]


def _rows(loaded, fold_by: str, home: dict[str, str]) -> list[LabelledFeatures]:
    return [r if fold_by == "group" else replace(r, group=home.get(r.group, name)) for name, r in loaded]


def _fit(
    sets,
    target: float,
    model_class: str,
    reject: float,
    fold_by: str = "group",
    leave_out: str | None = None,
    loaded: list[tuple[str, LabelledFeatures]] | None = None,
    drop_dead_zone: bool = False,
):
    """``fold_by`` "source": the pairs of every home (``homes``) are one fold, so the accept and
    reject bounds hold on scores of sources the scorers never saw (what a gate shipped for unseen
    catalogues must meet); "group": products are held out within the sources (what `maskgate
    learn` does on one user's own labels). ``leave_out``: a home whose pairs are not trained on.
    ``loaded``: ``load(sets)``, when the caller has it. ``drop_dead_zone``: train without the
    dead-zone pairs (a diagnosis: what they cost the accepts)."""
    home = homes(sets)
    loaded = load(sets) if loaded is None else loaded
    kept = [
        (name, r)
        for name, r in loaded
        if home.get(r.group, name) != leave_out and not (drop_dead_zone and r.uncertain)
    ]
    rows = _rows(kept, fold_by, home)
    sources = describe_sources([lab for *_, lab in sets], [res for _, res, _ in sets])
    return train(rows, target, model_class, sources=sources, reject_precision=reject), len(rows)


def _report(name: str, res: Path, lab: Path, gate, role: str, only: set[str] | None = None) -> None:
    """``only``: the groups to report (all when None)."""
    labels = read_labels(lab)
    if only is not None:
        labels = {k: v for k, v in labels.items() if group_of(v) in only}
    if not labels:
        return
    records = [rescore(r, gate) for r in read_records(res) if r.id in labels]
    report_set(f"{name} -- {role}", records, labels)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--holdout", nargs="*", default=[])
    ap.add_argument("--target-precision", type=float, default=0.98)
    ap.add_argument("--reject-precision", type=float, default=0.95)
    ap.add_argument("--model-class", default="auto")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--version", default=None, help="version name the model writes into each record it judges"
    )
    ap.add_argument("--no-loso", action="store_true", help="skip the leave-one-source-out folds")
    ap.add_argument(
        "--drop-dead-zone",
        action="store_true",
        help="train without dead-zone pairs (a diagnosis, never shipped)",
    )
    ap.add_argument(
        "--weigh",
        action="append",
        default=[],
        help="SCORER=[+]NAME:HOW:REF[,...]: what that scorer weighs (+: beside its own), this run only",
    )
    ap.add_argument(
        "--fold-by",
        choices=("group", "source"),
        default="group",
        help="folds of the thresholds' held-out scores: products within sources, or whole sources",
    )
    args = ap.parse_args()
    for spec in args.weigh:
        weigh(spec)
    train_sets = [_parse(s) for s in args.train]
    home = homes(train_sets)
    loaded = load(train_sets)
    # leaving one out must leave two folds to set the thresholds on
    if not args.no_loso and len(set(home.values())) > (2 if args.fold_by == "source" else 1):
        print("# 1. leave one training source out (a source made of other sources' photos goes with them)")
        for d in dict.fromkeys(home.values()):
            gate, n = _fit(
                train_sets,
                args.target_precision,
                args.model_class,
                args.reject_precision,
                args.fold_by,
                d,
                loaded,
                args.drop_dead_zone,
            )
            mine = {g for g, h in home.items() if h == d}
            for name, res, lab in train_sets:
                role = f"left out with its photos; trained on the rest ({n} pairs)"
                _report(name, res, lab, gate, f"{d}: {role}" if name != d else role, only=mine)
    print("\n# 2. trained on every training source, scored on held-out sets")
    gate, n = _fit(
        train_sets,
        args.target_precision,
        args.model_class,
        args.reject_precision,
        args.fold_by,
        None,
        loaded,
        args.drop_dead_zone,
    )
    print(f"trained on {', '.join(s[0] for s in train_sets)} ({n} pairs)")
    out = args.out or Path(tempfile.mkdtemp()) / "model"
    if args.version:
        gate.meta["version"] = args.version
    gate.save(out)
    print(f"model: {out}")
    for spec in args.holdout:
        _report(*_parse(spec), gate, "held out (never trained on)")


def weigh(spec: str) -> None:
    """``SCORER=NAME:HOW:REF[,...]``: that scorer weighs these badnesses instead of its own (sign -1);
    ``SCORER=+NAME:HOW:REF[,...]``: beside its own. A name that is also a function of the
    criterion's module is computed by it, so results stored before the measurement was recorded
    get it from the measurements it derives from."""
    key, _, feats = spec.partition("=")
    extra = feats.startswith("+")
    feats = feats.removeprefix("+")
    if key not in FEATURES or not feats:
        raise SystemExit(f"--weigh {spec!r}: SCORER=NAME:HOW:REF with SCORER one of {', '.join(FEATURES)}")
    module = importlib.import_module(f"maskgate.check.criteria.{criterion_of(key)}")
    out = []
    for item in feats.split(","):
        name, how, ref = item.split(":")
        of = getattr(module, name, None)
        out.append(Feature(name, how, float(ref), -1, of=of if callable(of) else None))  # type: ignore[arg-type]
    FEATURES[key] = (*FEATURES[key], *out) if extra else tuple(out)


if __name__ == "__main__":
    main()
