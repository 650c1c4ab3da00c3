"""The gate the package ships: a model trained by ``bench/generalize.py --out`` on corpora that
leave out every set it is measured on. It must load with this maskgate's measurements (a changed
feature without a retrained model fails here, with the command that fixes it), be what ``check``
scores with by default, and not have been trained on the dev set."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from maskgate.check.model import LearnedModel, load_scoring, packaged_model_dir

DEV_LABELS = Path(__file__).resolve().parents[2].parent / "shared" / "bench" / "dev" / "labels.jsonl"


def test_the_shipped_model_loads_with_this_maskgates_measurements():
    d = packaged_model_dir()
    assert d is not None, "no packaged model: run bench/generalize.py --out src/maskgate/check/default_model"
    model = LearnedModel.load(d)
    assert model.version  # every record it judges names it
    assert isinstance(load_scoring(None), LearnedModel)  # and check scores with it by default
    files = model.meta["trained_on"]["files"]
    assert files and all("bench/dev" not in f["labels"] for f in files)


def test_the_shipped_model_was_not_trained_on_the_dev_set():
    if not DEV_LABELS.is_file():
        pytest.skip("../shared/bench/dev is not here")
    dev = hashlib.sha256(DEV_LABELS.read_bytes()).hexdigest()
    d = packaged_model_dir()
    assert d is not None
    files = LearnedModel.load(d).meta["trained_on"]["files"]
    assert all(f["sha256"] != dev for f in files)
