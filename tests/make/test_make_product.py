import numpy as np
import pytest
from make_synth import iou, product_scene

from maskgate.make import Mask, product_mask
from maskgate.models.registry import get_spec
from maskgate.vision.segment import pass_size, saliency_views


@pytest.mark.parametrize("kind,seed", [("ellipse", 0), ("bottle", 1)])
def test_product_mask_finds_known_shape_on_texture(u2netp, kind, seed):
    img, gt = product_scene(kind, seed=seed)
    m = product_mask(img)
    assert isinstance(m, Mask)
    assert m.mask.shape == gt.shape and m.mask.dtype == np.uint8
    assert set(np.unique(m.mask)) <= {0, 255}
    assert iou(m.bool, gt) > 0.9  # measured 0.99+ on these scenes
    assert {"network", "guided", "grabcut", "clean", "total"} <= set(m.timings)


def test_fast_single_pass_and_out_size(u2netp):
    img, gt = product_scene("ellipse", seed=2)
    m = product_mask(img, passes=("sq",), out_size=(1280, 960))
    assert m.mask.shape == (960, 1280) and m.alpha.shape == (960, 1280)
    up = np.repeat(np.repeat(gt, 2, 0), 2, 1)
    assert iou(m.bool, up) > 0.9


def test_transparent_pixels_are_never_product(u2netp):
    img, gt = product_scene("ellipse", seed=3)
    alpha = np.full(gt.shape, 255, np.uint8)
    alpha[:, : gt.shape[1] // 2] = 0  # left half transparent
    m = product_mask(img, alpha=alpha)
    assert not m.bool[:, : gt.shape[1] // 2].any()
    assert iou(m.bool, gt & (alpha > 0)) > 0.85


def test_views_are_mirrored_back_and_resized(u2netp):
    img, _ = product_scene("bottle", seed=0)
    v = saliency_views(img, passes=("sq", "sqf", "a448"), out_size=(320, 240))
    assert v.shape == (3, 240, 320)
    assert v.min() >= 0 and v.max() <= 1
    # a symmetric-ish object: the mirrored view agrees with the plain one
    assert np.abs(v[0] - v[1]).mean() < 0.1


def test_pass_names():
    spec = get_spec("u2netp")
    assert pass_size("sq", (480, 640), spec) == ((320, 320), False)
    assert pass_size("a448f", (480, 640), spec) == ((448, 320), True)  # sides are multiples of 32
    with pytest.raises(ValueError):
        pass_size("zz", (10, 10), spec)


def test_any_compatible_onnx_segmenter_by_path(tmp_path):
    """A user-supplied .onnx (input 1x3xHxW, first output 1x1xHxW) is used as the segmenter.
    This tiny one calls 'salient' whatever is redder than it is green."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 320, 320])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 1, 320, 320])
    w = helper.make_tensor("w", TensorProto.FLOAT, [1, 3, 1, 1], [1.0, -1.0, 0.0])
    g = helper.make_graph(
        [helper.make_node("Conv", ["input", "w"], ["out"])], "redness", [x], [y], initializer=[w]
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(tmp_path / "redness.onnx"))
    img, gt = product_scene("ellipse", seed=9)  # a red ellipse
    mk = product_mask(img, model=str(tmp_path / "redness.onnx"), passes=("sq",))
    assert iou(mk.bool, gt) > 0.9
