"""Where the original's product went in the edit: identity, a similarity transform, or a mirror.

Generators usually keep the product where it was, so identity is tried first and costs one
subtraction. Only when it fails do we pay for ORB features; trying the mirrored original as well is
what tells a flipped product (a consistency failure) from a moved one.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskgate.check.measure import bbox, local_ncc


@dataclass(frozen=True)
class Alignment:
    matrix: np.ndarray  # 2x3, original pixel coords -> edit pixel coords (applied after the mirror)
    mirrored: bool  # the original was mirrored left-right before ``matrix``
    method: str  # identity | mirror | reframe | orb | moments | template | identity-fallback
    inliers: int = 0

    @property
    def scale(self) -> float:
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))

    @property
    def is_identity(self) -> bool:
        return not self.mirrored and bool(np.allclose(self.matrix, IDENTITY, atol=1e-3))

    def warp(self, img: np.ndarray, shape: tuple[int, int], nearest: bool = False) -> np.ndarray:
        """Bring an original-frame array into the edit frame."""
        src = img[:, ::-1] if self.mirrored else img
        if self.is_identity and src.shape[:2] == shape[:2]:
            return np.ascontiguousarray(src)
        flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
        return cv2.warpAffine(
            np.ascontiguousarray(src), self.matrix, (shape[1], shape[0]), flags=flags, borderValue=0
        )


IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
_orb = None


def _orb_detector():
    global _orb
    if _orb is None:
        _orb = cv2.ORB_create(nfeatures=1500, fastThreshold=10)  # type: ignore[attr-defined]
    return _orb


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def identity_match(
    orig_g: np.ndarray, edit_g: np.ndarray, region: np.ndarray, maps: dict | None = None
) -> tuple[float, float]:
    """How well the edit matches the original in place over ``region``: (share of pixels that
    match, 0..1; median NCC over the textured ones).

    Structure (local NCC) rather than raw difference, so that a product whose colours changed, or
    whose half was cut away, still counts as "kept in place" and is judged by the criteria instead.
    The median NCC guards the mirror test of a near-symmetric product (which matches itself
    mirrored almost everywhere): the mirror must not fit the structure worse. ``maps`` receives
    the NCC and local-contrast maps, which the criteria reuse when identity wins.
    """
    if maps is not None:
        ncc, sd = local_ncc(orig_g, edit_g, 11)
        maps.update(ncc=ncc, sd=sd)
    if np.count_nonzero(region) < 50:
        return 0.0, 0.0
    if maps is None:
        # only ``region`` is read: the maps are made on its box, padded past the 11-px window (the
        # box sums of 8-bit values are exact wherever the crop starts: the frame's own values)
        box = bbox(region, 5)
        assert box is not None  # region has 50 pixels or more
        orig_g, edit_g, region = orig_g[box], edit_g[box], region[box]
        ncc, sd = local_ncc(orig_g, edit_g, 11)
    textured = region & (sd > 4)
    same = np.abs(orig_g.astype(np.int16) - edit_g.astype(np.int16)) < 12
    ok = np.where(textured, ncc > 0.5, same)
    med = float(np.median(ncc[textured])) if np.count_nonzero(textured) > 30 else 0.0
    return float(ok[region].mean()), med


def _mirror_wins(id_share: float, id_med: float, fl_share: float, fl_med: float) -> bool:
    """The mirrored original explains the edit clearly better than the original in place."""
    if fl_share > id_share + 0.1:
        return True
    # both match nearly everywhere (a near-symmetric product, whose outline fits either way round):
    # the mirror must leave at most a third of the mismatched pixels identity leaves, identity
    # must leave some, and the mirror must fit the structure no worse
    return (1 - id_share) > 0.004 and (1 - fl_share) < (1 - id_share) / 3 and fl_med >= id_med - 0.01


def _orb_fit(orig_g, edit_g, mask_o, mask_e):
    det = _orb_detector()
    k1, d1 = det.detectAndCompute(orig_g, mask_o)
    k2, d2 = det.detectAndCompute(edit_g, mask_e)
    if d1 is None or d2 is None or len(k1) < 8 or len(k2) < 8:
        return None, 0
    matches = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(d1, d2, k=2)
    good = [m[0] for m in matches if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
    if len(good) < 8:
        return None, 0
    p1 = np.array([k1[m.queryIdx].pt for m in good], np.float32)
    p2 = np.array([k2[m.trainIdx].pt for m in good], np.float32)
    mat, inl = cv2.estimateAffinePartial2D(
        p1, p2, method=cv2.RANSAC, ransacReprojThreshold=4.0, maxIters=2000
    )
    if mat is None:
        return None, 0
    return mat, int(inl.sum())


def _moments_fit(mask_o: np.ndarray, mask_e: np.ndarray) -> np.ndarray | None:
    mo, me = cv2.moments(mask_o.astype(np.uint8), True), cv2.moments(mask_e.astype(np.uint8), True)
    if mo["m00"] < 10 or me["m00"] < 10:
        return None
    s = float(np.sqrt(me["m00"] / mo["m00"]))
    co = np.array([mo["m10"] / mo["m00"], mo["m01"] / mo["m00"]])
    ce = np.array([me["m10"] / me["m00"], me["m01"] / me["m00"]])
    t = ce - s * co
    return np.array([[s, 0.0, t[0]], [0.0, s, t[1]]])


# Scales tried when the product is searched for again in a new-background edit (edit size over
# original size): from a thumbnail (the tiny family: its long side a few per cent of the frame) to
# a slight enlargement. ORB's pyramid spans about 4x, so a product shrunk further is lost to it.
TEMPLATE_SCALES = tuple(float(x) for x in np.geomspace(0.05, 1.25, 20))
TEMPLATE_SIDE = 256  # the search runs on this view: a thumbnail still spans 10+ px there
TEMPLATE_MIN_SCORE = 0.6  # masked normalised correlation a found product must reach
TEMPLATE_MAX_DE = 12.0  # Lab distance of its mean colour from the original product's


def _template_fit(
    og: np.ndarray, eg: np.ndarray, mask_o: np.ndarray, orig_rgb: np.ndarray, edit_rgb: np.ndarray
) -> np.ndarray | None:
    """Where the original's product went when identity and ORB both fail on a new-background edit:
    its masked crop matched over the edit at each of ``TEMPLATE_SCALES`` (a similarity transform
    with no rotation; a turned product is ORB's to find).

    Failure family: the product shrunk (or moved and scaled) on a new background. Without it the
    check compares the original's product in place with a background that no longer holds it, and
    every criterion reads the product's size, colour and outline at the wrong place. Masked
    correlation (OpenCV's ``matchTemplate`` with a mask) only compares the product's own pixels,
    not the old background around it."""
    ys, xs = np.nonzero(mask_o)
    if len(ys) < 100:
        return None
    f = min(1.0, TEMPLATE_SIDE / max(og.shape))
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    e_s = cv2.resize(eg, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else eg
    tpl, tm = og[y0:y1, x0:x1], mask_o[y0:y1, x0:x1].astype(np.uint8)
    lab_o = cv2.cvtColor(orig_rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab_e = cv2.cvtColor(edit_rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    mean_o = lab_o[mask_o].mean(axis=0)
    best: tuple[float, float, tuple[int, int]] | None = None
    for s in TEMPLATE_SCALES:
        tw, th = round((x1 - x0) * s * f), round((y1 - y0) * s * f)
        if min(tw, th) < 8 or tw >= e_s.shape[1] or th >= e_s.shape[0]:
            continue
        t = cv2.resize(tpl, (tw, th), interpolation=cv2.INTER_AREA)
        m = cv2.resize(tm, (tw, th), interpolation=cv2.INTER_NEAREST)
        if m.sum() < 30 or float(t[m > 0].std()) < 4:  # too few or too flat pixels to locate
            continue
        r = cv2.matchTemplate(e_s, t, cv2.TM_CCOEFF_NORMED, mask=m)
        r = np.nan_to_num(r, nan=-1.0, posinf=-1.0, neginf=-1.0)
        _, score, _, at = cv2.minMaxLoc(r)
        if best is not None and score <= best[0]:
            continue
        # a small template correlates with any smooth patch: the found place must also hold the
        # product's colours (mean Lab over its mask, at the edit's resolution)
        ex, ey = round(at[0] / f), round(at[1] / f)
        mw = cv2.resize(
            tm, (max(1, round((x1 - x0) * s)), max(1, round((y1 - y0) * s))), interpolation=cv2.INTER_NEAREST
        )
        patch = lab_e[ey : ey + mw.shape[0], ex : ex + mw.shape[1]]
        on = mw[: patch.shape[0], : patch.shape[1]] > 0
        if on.sum() < 10 or float(np.linalg.norm(patch[on].mean(axis=0) - mean_o)) > TEMPLATE_MAX_DE:
            continue
        best = (float(score), s, (int(at[0]), int(at[1])))
    if best is None or best[0] < TEMPLATE_MIN_SCORE:
        return None
    _, s, (ax, ay) = best
    # crop corner (x0, y0) in the original lands at the match's corner in the edit
    return np.array([[s, 0.0, ax / f - s * x0], [0.0, s, ay / f - s * y0]])


# A reframed edit (benign framing: the product moved or was scaled by a few per cent) still
# matches in place over much of a smooth product, so identity wins the first test, and every
# criterion then sees the misregistration as a change. A small reframing found by ECC replaces
# identity only when it clearly fits the structure better and stays a small move.
REFRAME_SIDE = 256
REFRAME_GAIN = 0.05  # share of matching pixels and median NCC must both improve by this much
REFRAME_MAX_SCALE = 0.15  # |scale - 1| of an accepted reframing
REFRAME_MAX_SHEAR = 0.05  # largest departure of the fitted linear part from a pure scale
REFRAME_MAX_SHIFT = 0.1  # shift of an accepted reframing, as a share of the frame's longest side


def _reframe(
    og: np.ndarray, eg: np.ndarray, region: np.ndarray, eroded: np.ndarray, m_id: float, med_id: float
) -> Alignment | None:
    """A small reframing (original -> edit: a move and a scale, ECC's affine kept only when it is
    close to that) that fits the edit clearly better than identity."""
    if m_id > 0.97 or eroded.sum() < 200:  # already in register: nothing to gain, skip the cost
        return None
    # Both measures are at most 1 (a share; a clipped NCC), so a candidate cannot gain
    # REFRAME_GAIN over a value already within it of 1: the ECC (up to 50 iterations, 20-400 ms)
    # could only be refused. Typical of a tint or cast in place: the structure matches (median
    # NCC ~1), the values do not.
    if m_id + REFRAME_GAIN > 1.0 or med_id + REFRAME_GAIN > 1.0:
        return None
    h, w = og.shape
    f = min(1.0, REFRAME_SIDE / max(h, w))
    size = (max(8, round(w * f)), max(8, round(h * f)))
    o_s = cv2.resize(og, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    e_s = cv2.resize(eg, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    m_s = cv2.resize(
        cv2.dilate(region.astype(np.uint8), np.ones((9, 9), np.uint8)), size, interpolation=cv2.INTER_NEAREST
    )
    try:
        # ECC finds W with orig(W(x)) ~ edit(x) over the edit's product: W maps edit -> original
        _, found = cv2.findTransformECC(
            e_s,
            o_s,
            np.eye(2, 3, dtype=np.float32),
            cv2.MOTION_AFFINE,
            (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4),
            m_s,
            5,
        )
    except cv2.error:  # no convergence (a flat product, a changed one): keep identity
        return None
    w_full = np.asarray(found, np.float64).copy()
    w_full[:, 2] /= f
    m = cv2.invertAffineTransform(w_full)
    lin = np.asarray(m[:, :2], np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(lin))))
    # the shift allowed grows with the scale change: scaling about the frame's corner moves the centre
    reach = (REFRAME_MAX_SHIFT + abs(scale - 1)) * max(h, w)
    if abs(scale - 1) > REFRAME_MAX_SCALE or np.abs(m[:, 2]).max() > reach:
        return None
    # generators reframe (move, scale), they do not shear or stretch: an affine far from that is a
    # changed product, which the criteria are there to judge
    if np.abs(lin - scale * np.eye(2)).max() > REFRAME_MAX_SHEAR:
        return None
    cand = Alignment(m, False, "reframe")
    warped = cand.warp(og, og.shape)
    sel = cand.warp(eroded.astype(np.uint8), og.shape, nearest=True).astype(bool) & region
    m_re, med_re = identity_match(warped, eg, sel)
    if m_re >= m_id + REFRAME_GAIN and med_re >= med_id + REFRAME_GAIN:
        return cand
    return None


def align(
    orig_rgb: np.ndarray,
    edit_rgb: np.ndarray,
    mask_o: np.ndarray,
    mask_e: np.ndarray | None,
    identity_min: float = 0.35,
    maps: dict | None = None,
) -> Alignment:
    """Estimate how the product moved from original to edit (same-size arrays expected).

    ``maps`` receives the in-place NCC maps (see ``identity_match``)."""
    og, eg = _gray(orig_rgb), _gray(edit_rgb)
    region = mask_o if mask_e is None else (mask_o & mask_e)
    eroded = cv2.erode(region.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    m_id, med_id = identity_match(og, eg, eroded, maps)
    if m_id >= identity_min:
        # a product mirrored in place overlaps itself: check the mirror about its own centre too
        # (the bounding box gives the axis to a pixel or two: try the neighbours)
        xs = np.nonzero(mask_o.any(axis=0))[0]
        if len(xs):
            centre = float(xs.min() + xs.max() - (og.shape[1] - 1))
            best = None
            for d in (0.0, -1.0, 1.0):
                flip = Alignment(np.array([[1.0, 0.0, centre + d], [0.0, 1.0, 0.0]]), True, "mirror")
                sel = flip.warp(eroded.astype(np.uint8), og.shape, nearest=True).astype(bool) & region
                m_fl, med_fl = identity_match(flip.warp(og, og.shape), eg, sel)
                if best is None or m_fl > best[1]:
                    best = (flip, m_fl, med_fl)
                if m_fl < m_id - 0.02:  # the mirror is plainly worse: no need to refine its axis
                    break
            if best is not None and _mirror_wins(m_id, med_id, best[1], best[2]):
                return best[0]
        reframed = _reframe(og, eg, region, eroded, m_id, med_id)
        return reframed or Alignment(IDENTITY.copy(), False, "identity")
    mo8 = cv2.dilate(mask_o.astype(np.uint8), np.ones((9, 9), np.uint8)) * 255
    me8 = None if mask_e is None else cv2.dilate(mask_e.astype(np.uint8), np.ones((9, 9), np.uint8)) * 255
    straight, n1 = _orb_fit(og, eg, mo8, me8)
    flipped, n2 = _orb_fit(np.ascontiguousarray(og[:, ::-1]), eg, np.ascontiguousarray(mo8[:, ::-1]), me8)
    fitted: Alignment | None = None
    if straight is not None and n1 >= 12 and n1 >= n2:
        fitted = Alignment(straight, False, "orb", n1)
    elif flipped is not None and n2 >= 12:
        fitted = Alignment(flipped, True, "orb", n2)
    if fitted is not None and 0.05 < fitted.scale < 20:
        return fitted
    if mask_e is not None:
        m = _moments_fit(mask_o, mask_e)
        if m is not None:
            return Alignment(m, False, "moments")
    else:
        t = _template_fit(og, eg, mask_o, orig_rgb, edit_rgb)
        if t is not None:
            return Alignment(t, False, "template")
    return Alignment(IDENTITY.copy(), False, "identity-fallback")
