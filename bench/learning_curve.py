"""Do people teach the gate faster in the queue's order than in a random one?

    python bench/learning_curve.py --set NAME=RESULTS:LABELS[:PRODUCT] [...] [--steps 0,50,100,200,500]
                                   [--error-rate 0.05] [--overlap 1] [--seeds 5] [--hold-out 0.34]
                                   [--target-precision 0.98] [--reject-precision 0.95]
                                   [--activation better|always] [--start packaged|calibration]
                                   [--group-by-product] [--explore SHARE] [--verdict-weight W]
                                   [--keep-accepts] [--json docs/learning_curve.json] [--svg docs/learning_curve.svg]

RESULTS is a `maskgate check` run of LABELS; nothing is re-checked (learning is on the stored
measurements). PRODUCT says what a product is: a label field (default ``group``) or ``id-prefix``
(the id up to its first ``__``). Per set:

1. Products are split by a stable hash: about ``--hold-out`` of them are held out for measuring,
   the rest is the pool reviewers label from.
2. Simulated reviewers label the pool step by step, up to each of ``--steps`` labels; each label
   they give (every criterion's and the overall one) is turned over with probability
   ``--error-rate``, independently (the mistakes people make). With ``--overlap N``, N reviewers
   answer each pair, as the review app's overlap does: a label they all give stands, a split one
   goes to an adjudicator who errs at the same rate; the answers it cost are recorded too.
3. Two orders: the queue's (``learn.active.information`` on each unlabelled record, re-scored by the
   model active after the step before, then ``diverse_order``: what ``review prioritize --model``
   does after ``learn --from-db``; at the first step the start model, ``--start``), and random
   (``--seeds`` seeded shuffles; mean, min and max reported). Each seed's reviewers answer each
   pair the same way in both orders.
4. After each step, the gate is retrained on the labelled pool, as `maskgate learn --from-db`
   does it (``--activation better``, the default): trained (``learn.train.train``) on the labelled
   pairs outside a held-out hash draw of their groups, it replaces the active model only when its
   held-out log-loss there is lower (``learn.versions.is_better``). ``--activation always`` trains
   on every labelled pair and always uses the result. The active model at 0 labels is the packaged
   gate (what `maskgate check` scores with) or, with ``--start calibration``, the hand-built
   calibration. It is measured on the held-out products against their
   true labels: accept precision, the share of good edits accepted, per-criterion F1 of catching
   failures.

The protocol's choices, each an option: ``--start calibration`` begins from the hand-built
calibration instead of the packaged gate (whose corpora hold the photos of the synth_db* sets, so
it is no stranger to their products, as it is to a user's own catalogue); ``--group-by-product``
makes train's cross-validation groups the products, so the accept bound is chosen out of fold on
products the model did not see, as it is measured. Experiments: ``--explore`` gives a share of
the queue's places to random draws; ``--verdict-weight`` sets the queue's accept-boundary weight;
``--keep-accepts`` does not activate a model that accepts fewer good held-out pairs.

It writes every figure as JSON and the curves as an SVG (altair through vl-convert, as the
report's plots).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import maskgate.learn.active as queue_info
from maskgate.check.model import load_scoring
from maskgate.check.verdict import Calibration
from maskgate.core.record import PairRecord, read_records
from maskgate.core.types import CRITERIA
from maskgate.learn.active import diverse_order, information, score_vector
from maskgate.learn.calibrate import LabelledFeatures, rows_from_results
from maskgate.learn.train import fail_prf, train
from maskgate.learn.versions import challenge, scored_row


def _product(lab: dict, how: str) -> str:
    if how == "id-prefix":
        return str(lab["id"]).split("__", 1)[0]
    return str(lab.get(how) or lab.get("original") or lab["id"])


def load_set(res: Path, lab: Path, how: str, group_by_product: bool = False):
    """Labelled rows, check records and each pair's product. ``group_by_product``: the rows'
    cross-validation group is their product, so `learn`'s out-of-fold figures (and the accept
    bound chosen on them) are about products the model has not seen, as the held-out measure is;
    otherwise it is the label's ``group`` (for synth, the photo: photos of one product then
    straddle folds)."""
    labels = {json.loads(x)["id"]: json.loads(x) for x in lab.read_text().splitlines() if x.strip()}
    rows = rows_from_results(res, lab, group="group")
    recs = {r.id: r for r in read_records(res)}
    products = {r.id: _product(labels[r.id], how) for r in rows}
    if group_by_product:
        rows = [replace(r, group=products[r.id]) for r in rows]
    return rows, recs, products


def split(products: dict[str, str], share: float) -> set[str]:
    """Held-out products: in the order of a stable hash of their names, until ``share`` of the
    pairs is reached."""
    names = sorted(set(products.values()), key=lambda p: hashlib.sha1(p.encode()).hexdigest())
    n = len(products)
    out: set[str] = set()
    count = 0
    for p in names:
        if count >= share * n or len(out) >= len(names) - 1:
            break
        out.add(p)
        count += sum(1 for v in products.values() if v == p)
    return out


def noisy(row: LabelledFeatures, rate: float, rng: np.random.Generator) -> LabelledFeatures:
    """The row as a reviewer who errs at ``rate`` labels it."""
    labels = {
        c: (None if v is None else (not v if rng.random() < rate else v)) for c, v in row.labels.items()
    }
    acceptable = not row.acceptable if rng.random() < rate else row.acceptable
    return replace(row, labels=labels, acceptable=acceptable)


def answered(
    row: LabelledFeatures, rate: float, overlap: int, rng: np.random.Generator
) -> tuple[LabelledFeatures, int]:
    """The labels a pair ends with when ``overlap`` reviewers who err at ``rate`` answer it, as
    the review app runs overlap: where they are unanimous their answer stands, otherwise an
    adjudicator (erring at the same rate) decides. Also: the answers it cost."""
    if overlap <= 1:
        return noisy(row, rate, rng), 1
    votes = [noisy(row, rate, rng) for _ in range(overlap)]
    adj = noisy(row, rate, rng)
    split = False

    def settle(vals: list, judge):
        nonlocal split
        if all(v == vals[0] for v in vals):
            return vals[0]
        split = True
        return judge

    labels = {c: settle([v.labels[c] for v in votes], adj.labels[c]) for c in row.labels}
    acceptable = settle([v.acceptable for v in votes], adj.acceptable)
    return replace(row, labels=labels, acceptable=acceptable), overlap + int(split)


def measure(scoring, rows: list[LabelledFeatures]) -> dict:
    """The scoring's verdicts and criterion decisions on held-out rows, against their true labels."""
    verdicts, acc = [], []
    per: dict[str, tuple[list[float], list[bool]]] = {c: ([], []) for c in CRITERIA}
    for r in rows:
        scores, keys, v = scored_row(scoring, r)
        verdicts.append(v)
        acc.append(r.acceptable)
        for c in CRITERIA:
            if scores[c] is not None and r.labels.get(c) is not None:
                per[c][0].append(scores[c] - scoring.thresholds[keys[c]].decide)
                per[c][1].append(bool(r.labels[c]))
    v = np.array(verdicts)
    ok = np.array(acc, bool)
    accepted = v == "accept"
    f1 = {
        c: fail_prf(np.array(s), np.array(p, bool), 0.0)["f1"]
        for c, (s, p) in per.items()
        if s and not all(p)
    }
    return {
        "accepted": int(accepted.sum()),
        "accept_precision": float(ok[accepted].mean()) if accepted.any() else None,
        "good_accepted": float((accepted & ok).sum() / max(ok.sum(), 1)),
        "rejected": int((v == "reject").sum()),
        "f1": f1,
        "mean_f1": float(np.mean(list(f1.values()))) if f1 else None,
    }


def queue_order(pool: list[int], rows, recs: dict[str, PairRecord], scoring, rng=None) -> list[int]:
    """The unlabelled pool in the queue's order under ``scoring`` (``review/priority.py``'s rule);
    with ``SETTINGS["explore"]`` > 0, that share of the places goes to pairs drawn at random."""
    rs = [recs[rows[i].id] for i in pool]
    values = [information(r, scoring=scoring) for r in rs]
    order = [
        pool[j] for j, _ in diverse_order(values, [score_vector(r) for r in rs], [r.original for r in rs])
    ]
    share = SETTINGS["explore"]
    if not share or rng is None:
        return order
    # place k is a random draw whenever floor((k+1) * share) steps up: the share spread evenly
    drawn = [order[j] for j in rng.permutation(len(order))]
    out: list[int] = []
    used: set[int] = set()
    qi = di = 0
    for k in range(len(order)):
        if int((k + 1) * share) > int(k * share):
            while drawn[di] in used:
                di += 1
            out.append(drawn[di])
        else:
            while order[qi] in used:
                qi += 1
            out.append(order[qi])
        used.add(out[-1])
    return out


TARGET = {"accept": 0.98, "reject": 0.95}  # set from the command line
SETTINGS = {
    "activation": "better",
    "start": "packaged",
    "explore": 0.0,
    "keep_accepts": False,
}  # set from the command line


def start_scoring():
    """The active model at 0 labels. ``packaged``: the gate `maskgate check` scores with. Its
    corpora hold the photos of synth_db/synth_dbB, so on those sets it is not a stranger to the
    products, as it is to a user's own catalogue; ``calibration``: the hand-built calibration
    (``check/default_calibration.json``), trained on none of them."""
    if SETTINGS["start"] == "calibration":
        return Calibration.load(None)
    return load_scoring(None)


def keeps_accepts(c) -> tuple[bool, str]:
    """``--keep-accepts``: a challenger (``versions.Challenge``) that wins by ``is_better`` is still
    not activated when it accepts fewer good held-out pairs than the active model, unless the
    active one's accepts there miss the target (an experiment: log-loss alone let models that
    accept nothing replace one that accepted at the target)."""
    if not c.better:
        return False, c.reason
    na, oa = c.new_figures["accept"], c.old_figures["accept"]
    n_good, o_good = na["pairs"] - na["bad"], oa["pairs"] - oa["bad"]
    if o_good > n_good and (oa["precision"] is None or oa["precision"] >= c.new_figures["target_precision"]):
        return False, f"accepts {n_good} good held-out pairs against the active model's {o_good}"
    return True, c.reason


def fit(rows: list[LabelledFeatures], active):
    """The model a step leaves active, and a note. ``--activation always``: the model trained on
    every labelled pair. ``better``: as ``learn --from-db`` does (``learn.versions.challenge``),
    train on the labelled pairs outside a held-out draw of their groups and keep the model that
    was active unless the new one beats it there."""
    if SETTINGS["activation"] == "always":
        try:
            return train(rows, TARGET["accept"], reject_precision=TARGET["reject"]), None
        except ValueError as e:  # too few groups for held-out thresholds: the start model stays
            return start_scoring(), str(e)
    try:
        c = challenge(rows, active, target_precision=TARGET["accept"], reject_precision=TARGET["reject"])
    except ValueError as e:  # too few groups to train and compare: the active model stays
        return active, str(e)
    better, why = keeps_accepts(c) if SETTINGS["keep_accepts"] else (c.better, c.reason)
    return (c.model, None) if better else (active, f"kept the active model: {why}")


def curve(rows, recs, pool, held, steps, order: str, seed: int, rate: float, overlap: int, log) -> list[dict]:
    rng = np.random.default_rng(seed)
    # each pair's answers, drawn once per seed: both orders see the same reviewers
    given = {i: answered(rows[i], rate, overlap, rng) for i in pool}
    noisy_rows = {i: g[0] for i, g in given.items()}
    shuffled = list(pool)
    np.random.default_rng(1000 + seed).shuffle(shuffled)
    labelled: list[int] = []
    explore_rng = np.random.default_rng(2000 + seed)
    scoring = start_scoring()
    out = []
    for n in sorted({min(n, len(pool)) for n in steps}):  # steps past the pool are all of it, once
        if n > len(labelled):
            done = set(labelled)
            left = [i for i in pool if i not in done]
            nxt = (
                queue_order(left, rows, recs, scoring, explore_rng)
                if order == "queue"
                else [i for i in shuffled if i not in done]
            )
            labelled += nxt[: n - len(labelled)]
            t0 = time.perf_counter()
            scoring, note = fit([noisy_rows[i] for i in labelled], scoring)
            log(
                f"  {order} seed {seed}: {n} labels, trained in {time.perf_counter() - t0:.1f} s{' (' + note + ')' if note else ''}"
            )
        fig = measure(scoring, [rows[i] for i in held])
        out.append({"labels": n, "answers": sum(given[i][1] for i in labelled), **fig})
    return out


def summarise(runs: list[list[dict]]) -> list[dict]:
    out = []
    for k in range(len(runs[0])):
        entry: dict = {"labels": runs[0][k]["labels"]}
        for m in ("accept_precision", "good_accepted", "mean_f1"):
            vals = [r[k][m] for r in runs if r[k][m] is not None]
            entry[m] = (
                {
                    "mean": float(np.mean(vals)),
                    "min": float(min(vals)),
                    "max": float(max(vals)),
                    "runs": len(vals),
                }
                if vals
                else None
            )
        out.append(entry)
    return out


METRICS = (
    ("accept_precision", "accept precision (of the runs that accepted)"),
    ("good_accepted", "share of good edits accepted"),
    ("mean_f1", "mean per-criterion F1"),
)


def plot(figures: dict, path: Path) -> None:
    """The curves of ``figures`` (the JSON this script writes) as an SVG."""
    import altair as alt

    from maskgate.report.charts import svg

    data = []
    for name, f in figures["sets"].items():
        for order in ("queue", "random"):
            for e in f[f"{order}_summary"]:
                for m, label in METRICS:
                    # a step where no run accepted anything has no precision: a null breaks the line
                    stat = e[m] or {"mean": None, "min": None, "max": None}
                    data.append({"set": name, "order": order, "metric": label, "labels": e["labels"], **stat})

    def column(label: str, scale) -> alt.FacetChart:
        base = alt.Chart().encode(
            x=alt.X("labels:Q", title="labels given"),
            color=alt.Color(
                "order:N", scale=alt.Scale(domain=["queue", "random"], range=["#1565c0", "#9e9e9e"])
            ),
        )
        lines = base.mark_line(point=True).encode(y=alt.Y("mean:Q", title=None, scale=scale))
        band = base.mark_area(opacity=0.2).encode(y="min:Q", y2="max:Q")
        return (
            alt.layer(band, lines)
            .properties(width=200, height=140)
            .facet(
                data=alt.Data(values=[d for d in data if d["metric"] == label]),
                row=alt.Row("set:N", title=None),
            )
            .resolve_scale(y="independent")
            .properties(title=label)
        )

    # precision zoomed to where it lies; the two shares on 0-1, so a flat line reads as its value
    scales = {"accept_precision": alt.Scale(zero=False), "good_accepted": alt.Scale(domain=[0, 1])}
    chart = alt.hconcat(
        *(column(label, scales.get(m, alt.Scale(domain=[0, 1]))) for m, label in METRICS)
    ).properties(
        title=f"held-out products; reviewers err at {figures['error_rate']:.0%}"
        + (f", {figures['overlap']} per pair" if figures.get("overlap", 1) > 1 else "")
        + ("; a model kept only when better held out" if figures.get("activation") == "better" else "")
        + "; accept target "
        f"{figures.get('target_precision')}; mean and range over {figures['seeds']} runs per order"
    )
    path.write_text(svg(chart))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", required=True, help="NAME=RESULTS:LABELS[:PRODUCT]")
    ap.add_argument("--steps", default="0,50,100,200,500")
    ap.add_argument("--error-rate", type=float, default=0.05)
    ap.add_argument(
        "--overlap", type=int, default=1, help="reviewers per pair; a split answer goes to an adjudicator"
    )
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--hold-out", type=float, default=0.34)
    ap.add_argument("--target-precision", type=float, default=0.98, help="as `maskgate learn`'s")
    ap.add_argument("--reject-precision", type=float, default=0.95, help="as `maskgate learn`'s")
    ap.add_argument(
        "--activation",
        choices=("better", "always"),
        default="better",
        help="better: a step's model replaces the active one only when better on held-out labelled "
        "groups, as `learn --from-db` does; always: trained on every label and used",
    )
    ap.add_argument(
        "--start",
        choices=("packaged", "calibration"),
        default="packaged",
        help="the model active at 0 labels: the packaged gate, or the hand-built calibration",
    )
    ap.add_argument(
        "--explore",
        type=float,
        default=0.0,
        help="share of the queue's places given to pairs drawn at random (0: the queue's order only)",
    )
    ap.add_argument(
        "--verdict-weight",
        type=float,
        default=None,
        help=f"weight of the queue's accept-boundary term (learn.active.W_VERDICT, {queue_info.W_VERDICT})",
    )
    ap.add_argument(
        "--keep-accepts",
        action="store_true",
        help="a new model that accepts fewer good held-out pairs than the active one is not activated",
    )
    ap.add_argument(
        "--group-by-product",
        action="store_true",
        help="train's cross-validation groups are products (as the held-out split), not the labels' group",
    )
    ap.add_argument("--json", type=Path, default=Path("docs/learning_curve.json"))
    ap.add_argument("--svg", type=Path, default=Path("docs/learning_curve.svg"))
    ap.add_argument("--plot-only", action="store_true", help="redraw --svg from --json, training nothing")
    args = ap.parse_args()
    if args.plot_only:
        plot(json.loads(args.json.read_text()), args.svg)
        return
    steps = [int(s) for s in args.steps.split(",")]
    TARGET.update(accept=args.target_precision, reject=args.reject_precision)
    SETTINGS.update(
        activation=args.activation, start=args.start, explore=args.explore, keep_accepts=args.keep_accepts
    )
    if args.verdict_weight is not None:  # ``information`` reads it from its module at call time
        queue_info.W_VERDICT = args.verdict_weight
    t_all = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    figures: dict = {
        "steps": steps,
        "target_precision": args.target_precision,
        "reject_precision": args.reject_precision,
        "error_rate": args.error_rate,
        "overlap": args.overlap,
        "activation": args.activation,
        "seeds": args.seeds,
        "hold_out": args.hold_out,
        "group_by_product": args.group_by_product,
        "start": args.start,
        "explore": args.explore,
        "verdict_weight": queue_info.W_VERDICT,
        "keep_accepts": args.keep_accepts,
        "sets": {},
    }
    for spec in args.set:
        name, _, paths = spec.partition("=")
        parts = paths.split(":")
        res, lab, how = Path(parts[0]), Path(parts[1]), parts[2] if len(parts) > 2 else "group"
        rows, recs, products = load_set(res, lab, how, args.group_by_product)
        held_products = split(products, args.hold_out)
        held = [i for i, r in enumerate(rows) if products[r.id] in held_products]
        pool = [i for i, r in enumerate(rows) if products[r.id] not in held_products]
        log(
            f"{name}: {len(rows)} labelled pairs, {len(set(products.values()))} products; held out {len(held_products)} products ({len(held)} pairs), pool {len(pool)}"
        )
        queue = [
            curve(rows, recs, pool, held, steps, "queue", s, args.error_rate, args.overlap, log)
            for s in range(args.seeds)
        ]
        rand = [
            curve(rows, recs, pool, held, steps, "random", s, args.error_rate, args.overlap, log)
            for s in range(args.seeds)
        ]
        figures["sets"][name] = {
            "results": str(res),
            "labels": str(lab),
            "product": how,
            "pairs": len(rows),
            "held_out_products": sorted(held_products),
            "held_out_pairs": len(held),
            "pool": len(pool),
            "queue": queue,
            "random": rand,
            "queue_summary": summarise(queue),
            "random_summary": summarise(rand),
        }
        for order in ("queue", "random"):
            for e in figures["sets"][name][f"{order}_summary"]:
                cells = []
                for m in ("accept_precision", "good_accepted", "mean_f1"):
                    v = e[m]
                    cells.append(f"{m} {v['mean']:.3f} [{v['min']:.3f}, {v['max']:.3f}]" if v else f"{m} -")
                log(f"{name} {order:6s} {e['labels']:4d} labels: " + ", ".join(cells))
    figures["seconds"] = round(time.perf_counter() - t_all, 1)
    args.json.write_text(
        json.dumps(figures, indent=1, default=lambda o: None if isinstance(o, float) and math.isnan(o) else o)
        + "\n"
    )
    plot(figures, args.svg)
    log(f"wrote {args.json} and {args.svg} in {figures['seconds']} s")


if __name__ == "__main__":
    main()
