"""Labelled pairs where what is appropriate depends on the new background: a product put on a
shelf-like scene (boards of horizontal lines behind it) is good, on a floor-like one (a wall over
a tiled floor seen in perspective) bad. Colours of both scenes are drawn from one range, so only
the scene's structure and layout tell them apart; the product, its colour and place vary."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from maskgate.io.images import save_image
from maskgate.synth.draw import drawn_product, studio

SIDE = 192


def _colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(90, 200, 3)


def shelf(rng: np.random.Generator) -> np.ndarray:
    wood = _colour(rng)
    img = np.ones((SIDE, SIDE, 3)) * wood
    step = int(rng.integers(28, 44))
    for y in range(int(rng.integers(4, 20)), SIDE, step):
        img[y : y + 5] *= 0.55  # a board's dark front edge
        img[y + 5 : y + 9] *= 1.15
    img += rng.normal(0, 4, (SIDE, SIDE, 1))
    return np.clip(img, 0, 255).astype(np.uint8)


def floor(rng: np.random.Generator) -> np.ndarray:
    wall, tiles = _colour(rng), _colour(rng)
    img = np.ones((SIDE, SIDE, 3)) * wall
    horizon = int(SIDE * rng.uniform(0.4, 0.55))
    img[horizon:] = tiles
    for k in range(-8, 9):  # tile joints converging on a vanishing point
        x0 = SIDE // 2 + k * SIDE // 8
        cv2.line(img, (SIDE // 2 + k * 6, horizon), (x0 * 2 - SIDE // 2, SIDE), (0.6 * tiles).tolist(), 2)
    y = horizon
    gap = 6.0
    while y < SIDE:
        cv2.line(img, (0, int(y)), (SIDE, int(y)), (0.6 * tiles).tolist(), 1)
        gap *= 1.35
        y += gap
    img += rng.normal(0, 4, (SIDE, SIDE, 1))
    return np.clip(img, 0, 255).astype(np.uint8)


def place(bg: np.ndarray, rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    s = rng.uniform(0.7, 1.0)
    size = max(8, int(SIDE * s))
    small = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    m = cv2.resize(mask.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0
    out = bg.copy()
    ox = int(rng.integers(0, SIDE - size + 1))
    oy = SIDE - size  # standing at the bottom of the frame, on the floor or the lowest board
    region = out[oy : oy + size, ox : ox + size]
    region[m] = small[m]
    return out


def build(root: Path, originals: int, seed: int = 0, edits: tuple[int, int] = (1, 4)) -> Path:
    """Write originals, edits and a labels.jsonl (project format, kind ``inpainted``) under
    ``root``; each original has 1-3 edits, on shelves and floors at random (so some originals
    have edits labelled both ways, others one edit only)."""
    rng = np.random.default_rng(seed)
    (root / "originals").mkdir(parents=True, exist_ok=True)
    (root / "edited").mkdir(exist_ok=True)
    lines = []
    for i in range(originals):
        rgb, mask = drawn_product(SIDE, variant=i + 7 * seed)
        save_image(
            root / "originals" / f"p{i}.png", place(studio(i + 100 * seed, (SIDE, SIDE)), rgb, mask, rng)
        )
        for j in range(int(rng.integers(*edits))):
            good = bool(rng.random() < 0.5)
            scene = shelf(rng) if good else floor(rng)
            name = f"p{i}_e{j}.png"
            save_image(root / "edited" / name, place(scene, rgb, mask, rng))
            lines.append(
                {
                    "id": f"p{i}_e{j}",
                    "original": f"originals/p{i}.png",
                    "edited": f"edited/{name}",
                    "kind": "inpainted",
                    "group": f"p{i}",
                    "labels": {"background": good},
                    "acceptable": good,
                }
            )
    path = root / "labels.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def tiny_embedding(path: Path, side: int = 64) -> Path:
    """A tiny image-embedding ONNX graph: fixed 3x3 filters (mean, horizontal and vertical edges, a
    Laplacian) on the grey image, their absolute responses averaged over the frame, then a fixed
    linear layer to 8 numbers. CLIP-like in form (NCHW image in, a vector out), not in size."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    grey = np.array([0.299, 0.587, 0.114], np.float32)
    kernels = [
        np.ones((3, 3), np.float32) / 9,
        np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float32),
        np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32),
        np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32),
    ]
    w = np.stack([k[None] * grey[:, None, None] for k in kernels])  # 4 x 3 x 3 x 3
    lin = np.random.default_rng(0).normal(0, 1, (4, 8)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Abs", ["c"], ["a"]),
        helper.make_node("GlobalAveragePool", ["a"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("MatMul", ["f", "lin"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_embedding",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, side, side])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", 8])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(lin, "lin")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path
