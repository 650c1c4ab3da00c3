"""Make: product masks, text/logo masks, cut-outs and background recovery.

The public API mirrors the CLI and works on NumPy arrays (uint8 RGB):
``product_mask(rgb) -> Mask``, ``text_mask(rgb) -> OverlayMask``, ``isolate(rgb) -> Cutout``,
``erase(rgb) -> Erased``, ``inpaint(rgb, mask) -> ndarray``. Heavy pieces (ONNX sessions, OCR
engine, pymatting) load on first use, so importing this package stays cheap.
"""

from maskgate.core.types import TextRegion
from maskgate.make.erase import Erased, erase
from maskgate.make.isolate import Cutout, isolate, parse_bg
from maskgate.make.overlay import OverlayMask, text_mask
from maskgate.make.product import Mask, product_mask
from maskgate.vision.fill import inpaint
from maskgate.vision.segment import saliency, saliency_lowres
from maskgate.vision.text import detect_text, read_text, regions_mask

__all__ = [
    "Cutout",
    "Erased",
    "Mask",
    "OverlayMask",
    "TextRegion",
    "detect_text",
    "erase",
    "inpaint",
    "isolate",
    "parse_bg",
    "product_mask",
    "read_text",
    "regions_mask",
    "saliency",
    "saliency_lowres",
    "text_mask",
]
