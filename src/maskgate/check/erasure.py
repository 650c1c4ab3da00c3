"""Did an erasure remove the original's overlay text? Judged line by line on the original's text.

Shared by the residue criterion (its measurement) and its evidence heatmap (where), through the
pair context, which computes it once.
"""

from __future__ import annotations

import cv2
import numpy as np

from maskgate.check.measure import local_ncc, local_sd, soften_to
from maskgate.core.types import TextRegion
from maskgate.vision.text import on_product, regions_mask

# A line core with fewer stroke pixels than this says nothing about what the edit kept.
MIN_STROKES = 30


def overlay_left(
    gray_o: np.ndarray,
    gray_e: np.ndarray,
    text_o: list[TextRegion],
    text_e: list[TextRegion],
    mask_o: np.ndarray,
    edit_detail: float = 1.0,
    touched_at: float = 0.1,
) -> tuple[float, np.ndarray, float]:
    """How much of the original's overlay text an erasure still shows, and where: the largest
    share of one of its text lines that the edit's OCR still reads (1 for a line the edit left
    untouched), the mask of that text (the residue heatmap shows it), and the largest share of
    one line's strokes that the edit kept as they were (``strokes_kept``).

    ``strokes_kept`` serves the family of erasures whose hole was too tight or missed part of a
    line: the glyphs left on a busy background are often more than the edit's OCR can read, and
    a line's strokes that keep their structure and contrast are glyphs left, whatever OCR says.
    It is read in the line's core (a quarter of its height in), where a plate's edge does not
    reach, so a fill that keeps a badge's plate edges is not counted as kept glyphs.

    Every text line of the original is overlay to erase, except print on the product that the edit
    left alone: a line mostly inside a product mask found with the text hidden from u2netp (make
    erases unless print is certain, so it also wants product all round; a check flags residue
    only when the line is clearly not print), and not in a block whose other lines the edit
    erased. A line the edit touched is overlay whatever the mask says: the editor took it for one.
    Reading the edit's OCR rather than pixel structure is what tells a half-erased line (glyphs
    left) from an erasure whose fill keeps the plate's edges. ``edit_detail``: the edit's
    resolution over the frame's (an edit delivered smaller is softer for that alone)."""
    shape = gray_o.shape[:2]
    where = np.zeros(shape, bool)
    if not text_o:
        return 0.0, where, 0.0
    # a line's strokes are touched where their structure is gone (low local NCC) or their contrast
    # dropped (a ghost): not where colours merely moved, as a re-encoded or re-toned edit moves
    # every pixel and erases nothing
    go, ge = soften_to(gray_o, edit_detail), gray_e  # the original as soft as the edit's resolution
    ncc, _ = local_ncc(go, ge, 9)
    sd_o = local_sd(go)
    strokes = sd_o > 12
    gone = strokes & ((ncc < 0.5) | (local_sd(ge) < 0.7 * sd_o))
    read = regions_mask(shape, text_e) > 0 if text_e else np.zeros(shape, bool)
    lines = []
    for r in text_o:
        m = regions_mask(shape, [r])
        if not m.any():
            continue
        # the line's core, a quarter of its height in from the outline: the margin of a
        # neighbour's erasure grazes a line's edge without erasing it
        height = float(min(cv2.minAreaRect(r.polygon.astype(np.float32))[1]))
        k = max(1, int(height / 4))
        core = cv2.erode(m, np.ones((2 * k + 1, 2 * k + 1), np.uint8)) > 0
        n_strokes = int(np.count_nonzero(strokes & core))
        n_gone = np.count_nonzero(gone & core)
        touched = n_gone >= touched_at * max(n_strokes, 1)
        kept = 1.0 - n_gone / n_strokes if n_strokes >= MIN_STROKES else 0.0
        lines.append((r, m > 0, height, touched, kept))
    left = kept_most = 0.0
    for r, m, height, touched, kept in lines:
        if not touched and on_product(r, mask_o, ring_share=0.0) and not _block_erased(r, height, lines):
            continue
        shown = read & m if touched else m
        where |= shown
        left = max(left, np.count_nonzero(shown) / np.count_nonzero(m))
        kept_most = max(kept_most, kept)
    return float(left), where, float(kept_most)


def _block_erased(line, height: float, lines) -> bool:
    """Did the edit erase a line of the same text block (a line as tall, right above or below it,
    overlapping it sideways)? Then the block is overlay, even where it crosses the product, and
    the line left of it is not the product's print."""
    x0, y0, x1, y1 = line.bbox
    for r, _, h, touched, _kept in lines:
        if not touched or r is line or not 0.67 <= h / max(height, 1e-3) <= 1.5:
            continue
        a0, b0, a1, b1 = r.bbox
        gap = max(b0 - y1, y0 - b1)
        if gap <= 0.5 * height and min(x1, a1) - max(x0, a0) > 0.3 * min(x1 - x0, a1 - a0):
            return True
    return False
