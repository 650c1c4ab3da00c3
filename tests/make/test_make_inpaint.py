import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from maskgate.make import inpaint
from maskgate.vision.fill import available

CONST = 0.25  # the tiny model fills holes with this value (in [0, 1] image units)


def _tiny_inpainter(path, size=None):
    """output = image * (1 - mask) + CONST * mask: what a LaMa-style model's interface looks like."""
    h, w = size if size else ("H", "W")
    img = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, h, w])
    msk = helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, h, w])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, h, w])
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    c = helper.make_tensor("c", TensorProto.FLOAT, [], [CONST])
    nodes = [
        helper.make_node("Sub", ["one", "mask"], ["keep"]),
        helper.make_node("Mul", ["image", "keep"], ["kept"]),
        helper.make_node("Mul", ["mask", "c"], ["fill"]),
        helper.make_node("Add", ["kept", "fill"], ["output"]),
    ]
    g = helper.make_graph(nodes, "tiny_inpaint", [img, msk], [out], initializer=[one, c])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    return path


def _scene():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    mask = np.zeros((120, 160), np.uint8)
    mask[40:80, 60:110] = 255
    return img, mask


@pytest.mark.parametrize("size", [None, (64, 64)])
def test_user_onnx_inpainter_gets_image_and_mask(tmp_path, size):
    path = _tiny_inpainter(tmp_path / "tiny.onnx", size)
    img, mask = _scene()
    out = inpaint(img, mask, str(path), feather=0)
    hole = out[45:75, 65:105].astype(int)
    assert np.abs(hole - round(CONST * 255)).max() <= 2  # mask arrived as 1 inside the hole
    far = np.ones(mask.shape, bool)
    far[30:90, 50:120] = False
    assert np.array_equal(out[far], img[far])  # untouched outside (and the crop put back in place)


def test_user_onnx_inpainter_image_scaling(tmp_path):
    """Dynamic-size graph: pixels outside the hole come back through the model unchanged, which
    holds only if the image was fed as RGB in [0, 1] and the output read back as such."""
    path = _tiny_inpainter(tmp_path / "tiny.onnx")
    img, mask = _scene()
    small = np.zeros_like(mask)
    small[50:52, 70:72] = 255
    from maskgate.vision.fill import _onnx_fill

    filled = _onnx_fill(img[:64, :64].copy(), small[:64, :64].copy(), str(path), None)
    keep = np.ones((64, 64), bool)
    keep[48:54, 68:74] = False
    assert np.abs(filled[keep].astype(int) - img[:64, :64][keep].astype(int)).max() <= 1


@pytest.mark.parametrize("method", ["telea", "ns", "fsr"])
def test_classic_inpainters_fill_flat_hole(method):
    img = np.full((100, 140, 3), 90, np.uint8)
    img[40:60, 30:110] = 250  # a bright bar to remove
    mask = np.zeros((100, 140), np.uint8)
    mask[36:64, 26:114] = 255
    out = inpaint(img, mask, method)
    assert np.abs(out[45:55, 40:100].astype(int) - 90).mean() < 8
    assert "telea" in available() and "lama" in available()


def test_empty_mask_is_a_copy():
    img, _ = _scene()
    out = inpaint(img, np.zeros(img.shape[:2], np.uint8))
    assert np.array_equal(out, img) and out is not img
