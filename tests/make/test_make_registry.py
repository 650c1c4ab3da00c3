import hashlib

import pytest

from maskgate.models.registry import REGISTRY, MissingModelError, ModelSpec, get_spec, resolve_model, verify


def test_new_models_are_declared_with_sizes_and_hashes():
    for name, size in [
        ("u2net", (320, 320)),
        ("isnet-general-use", (1024, 1024)),
        ("birefnet-general", (1024, 1024)),
        ("birefnet-general-lite", (1024, 1024)),
        ("lama", (512, 512)),
    ]:
        spec = REGISTRY[name]
        assert spec.input_size == size and spec.url and spec.hash_algo[0] in ("md5", "sha256")
    assert get_spec("birefnet-general").activation == "sigmoid"
    assert get_spec("isnet-general-use").std == (1.0, 1.0, 1.0)
    assert get_spec("lama").task == "inpainting"
    assert get_spec("u2netp").hash_algo == ("sha256", get_spec("u2netp").sha256)


def test_md5_and_sha256_verification(tmp_path):
    f = tmp_path / "w.onnx"
    f.write_bytes(b"weights")
    verify(f, ModelSpec("a", "w.onnx", "md5:" + hashlib.md5(b"weights").hexdigest()))
    verify(f, ModelSpec("b", "w.onnx", "sha256:" + hashlib.sha256(b"weights").hexdigest()))
    verify(f, ModelSpec("c", "w.onnx", hashlib.sha256(b"weights").hexdigest()))  # bare hex = sha256
    with pytest.raises(MissingModelError, match="md5"):
        verify(f, ModelSpec("d", "w.onnx", "md5:" + "0" * 32))


def test_missing_weights_name_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKGATE_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(MissingModelError, match="maskgate models pull birefnet-general-lite"):
        resolve_model("birefnet-general-lite")
