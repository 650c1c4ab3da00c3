"""The defect families and their visibility rules, one row each.

A row says which criterion the family fails, for which edit kinds, over which severity range it
is drawn, and the severity at which a careful reviewer, comparing the edit with its original at
the size the file is delivered, fails it. Edits within ``dead_zone / 2`` of that threshold are
never written: a label there would be a coin toss, and a gate trained on coin tosses learns noise.
Below the zone the edit is labelled passing that criterion, above it failing.

"L" below is the product's long side in the delivered edit, in pixels. Units with a pixel floor
(``max(share * L, n px)``) hold on small products too, where a share of L falls under a pixel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from maskgate.core.types import Criterion, Kind
from maskgate.synth.benign import Stage
from maskgate.synth.defects import (
    Made,
    altered_flip,
    altered_hue,
    altered_patch,
    altered_warp,
    bg_bad_ghosts,
    bg_bad_noise,
    bg_bad_smear,
    cutoff,
    quality_blur,
    quality_jpeg,
    quality_pixelate,
    quality_tint_cast,
    quality_tint_halo,
    residue_badge,
    residue_bg,
    residue_logo,
    residue_text,
    tiny,
)

Generator = Callable[[Stage, float, np.random.Generator], "Made | None"]
BOTH: tuple[Kind, ...] = ("isolated", "inpainted")
INPAINTED: tuple[Kind, ...] = ("inpainted",)  # background families: a cut-out has no background
BLATANT = 0.75  # plan mode's severity: this far from the threshold towards the top of the range


@dataclass(frozen=True)
class Family:
    name: str
    fails: Criterion
    kinds: tuple[Kind, ...]
    low: float
    high: float
    threshold: float  # fails at or above
    dead_zone: float  # full width of the band around the threshold that is left out
    make: Generator
    rule: str
    measured: bool = False  # the severity is read off the edit; the content may keep it off the draw

    def passes(self, severity: float) -> bool | None:
        """True below the dead zone, False above it, None inside it (not written)."""
        if abs(severity - self.threshold) < self.dead_zone / 2:
            return None
        return severity < self.threshold

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    @property
    def blatant(self) -> float:
        return self.threshold + BLATANT * (self.high - self.threshold)


RESIDUE_RULE = (
    "the original's {what} left in place; severity = mean ΔE76 of its pixels against what the clean edit "
    "has there (opacity x contrast; 3.5-7 % of the frame high, so size never hides it); fails at ΔE 8"
)
BACKDROP_NOTE = " (only where the old background differs from the backdrop by ΔE >= 12)"

# fmt: off
FAMILIES: tuple[Family, ...] = (
    #      name                 fails                kinds      low   high   thr   dead   generator
    Family("residue_text",      "residue",           BOTH,      0.0,  60.0,  8.0,  6.0,   residue_text,
           RESIDUE_RULE.format(what="promo text")),
    Family("residue_badge",     "residue",           BOTH,      0.0,  60.0,  8.0,  6.0,   residue_badge,
           RESIDUE_RULE.format(what="badge (a pill with a word)")),
    Family("residue_logo",      "residue",           BOTH,      0.0,  60.0,  8.0,  6.0,   residue_logo,
           RESIDUE_RULE.format(what="brand logo (ring and name)")),
    Family("residue_bg",        "residue",           BOTH,      0.0,  0.4,   0.02, 0.02,  residue_bg,
           "a slab of the old background attached to the cut-out (on a backdrop, or pasted with it onto a "
           "new background); severity = its area over the product's; fails at 2 %" + BACKDROP_NOTE),
    Family("cutoff",            "segmentation",      BOTH,      0.0,  0.5,   0.02, 0.015, cutoff,
           "a straight cut from a random side; severity = share of the product's area removed; fails at 2 %"),
    Family("quality_blur",      "quality",           BOTH,      0.0,  5.0,   1.0,  0.5,   quality_blur,
           "Gaussian blur of the product; severity = sigma / max(0.006 L, 1 px); fails at 1"),
    Family("quality_jpeg",      "quality",           BOTH,      5.0,  97.0,  70.0, 12.0,  quality_jpeg,
           "the product region JPEG-compressed; severity = 100 - quality; fails at quality 30 and below"),
    Family("quality_pixelate",  "quality",           BOTH,      0.0,  5.0,   1.0,  0.4,   quality_pixelate,
           "the product in square blocks; severity = block side / max(0.012 L, 2 px); fails at 1"),
    Family("quality_tint_cast", "quality",           BOTH,      0.0,  35.0,  8.0,  5.0,   quality_tint_cast,
           "the product pulled towards the old background's colour (or a random one); severity = mean "
           "ΔE76 over the product; fails at 8"),
    Family("quality_tint_halo", "quality",           BOTH,      0.0,  3.0,   1.0,  0.4,   quality_tint_halo,
           "a ring of the old background around the outline; severity = ring width / max(0.012 L, 2 px); "
           "fails at 1" + BACKDROP_NOTE),
    Family("tiny",              "comprehensibility", BOTH,      0.55, 0.97,  0.85, 0.06,  tiny,
           "the product shrunk and moved; severity = 1 - its long side / the frame's short side; fails "
           "when the long side is 15 % of the frame or less"),
    Family("altered_flip",      "consistency",       BOTH,      0.0,  1.0,   0.03, 0.02,  altered_flip,
           "the product mirrored in place; severity (measured) = share of the product whose colour the "
           "mirror changes by ΔE >= 12; fails at 3 % (a symmetric product mirrored is no change)",
           measured=True),
    Family("altered_hue",       "consistency",       BOTH,      0.0,  120.0, 15.0, 10.0,  altered_hue,
           "the product's hues rotated in Lab, lightness and chroma kept; severity = degrees; fails at 15 "
           "(products with at least 10 % chromatic pixels only)"),
    Family("altered_patch",     "consistency",       BOTH,      0.0,  0.3,   0.02, 0.015, altered_patch,
           "an ellipse of the product replaced by another part of it, turned; severity (measured) = share "
           "of the product changed by ΔE >= 12; fails at 2 %",
           measured=True),
    Family("altered_warp",      "consistency",       BOTH,      0.0,  5.0,   1.0,  0.5,   altered_warp,
           "a smooth random deformation of the product; severity = peak displacement / max(0.02 L, "
           "1.5 px); fails at 1"),
    Family("bg_bad_noise",      "background",        INPAINTED, 0.0,  5.0,   1.0,  0.5,   bg_bad_noise,
           "blocky colour noise over the new background; severity = its std / max(the background's own "
           "fine-texture std, 8 grey levels); fails at 1"),
    Family("bg_bad_smear",      "background",        INPAINTED, 0.0,  10.0,  1.2,  0.8,   bg_bad_smear,
           "the new background streaked in one direction; severity (measured) = mean absolute grey change "
           "of the visible background after a 2-px blur (grain aside); fails at 1.2 (a smooth backdrop "
           "hides a long streak)",
           measured=True),
    Family("bg_bad_ghosts",     "background",        INPAINTED, 0.0,  50.0,  8.0,  5.0,   bg_bad_ghosts,
           "1-3 smaller faded copies of the product in the new background; severity = their mean ΔE76 "
           "against the background; fails at 8"),
)
# fmt: on

BY_NAME: dict[str, Family] = {f.name: f for f in FAMILIES}
DEMO_FAMILIES = ("residue_text", "cutoff", "quality_blur", "tiny", "altered_hue", "bg_bad_noise")
DEMO_KINDS: dict[str, tuple[Kind, ...]] = {"tiny": ("isolated",)}  # the demo's set, as it always was


def select(names: str | Sequence[str] | None) -> tuple[Family, ...]:
    """Families by name ("all" or None: every one); an unknown name is an error naming the known."""
    if names is None or names == "all":
        return FAMILIES
    wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    unknown = [n for n in wanted if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown defect families: {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    return tuple(BY_NAME[n] for n in wanted)
