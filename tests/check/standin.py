"""A stand-in for the engine's Checker with the same interface, for runner tests.

The runner's job (decode once, record, resume, survive bad pairs and dead workers) does not depend
on what the criteria conclude, and the real models cost seconds per pair; so these tests drive the
runner with a checker that judges by a trivial measurement and misbehaves on request, by file name:
``*raise*`` raises, ``*die*`` kills its own process (like the OOM killer would), ``*slow*`` takes
a while (so a test can kill the run midway).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np

from maskgate.check.engine import Judgement
from maskgate.core.record import CriterionRecord, PairRecord, evidence_path
from maskgate.core.types import CRITERIA, LoadedImage
from maskgate.io.manifest import PairSpec


class StandInChecker:
    max_side = 256

    def __init__(self, calibration=None):
        self.calibration = calibration
        self.pid = os.getpid()

    def check(
        self,
        original: LoadedImage,
        edited: LoadedImage,
        kind: str | None = None,
        mask: np.ndarray | None = None,
        *,
        pair: PairSpec,
    ) -> Judgement:
        name = Path(edited.path).name
        if "raise" in name:
            raise RuntimeError("stand-in engine failure")
        if "die" in name:
            os.kill(os.getpid(), signal.SIGKILL)
        if "slow" in name:
            time.sleep(0.15)
        diff = float(np.abs(original.rgb.mean() - edited.rgb.mean())) / 255
        ok = diff < 0.2
        crit = {c: CriterionRecord(ok if c == "residue" else True, 1 - diff) for c in CRITERIA}
        images = {"heat": np.full((8, 8), int(diff * 255), np.uint8), "side": edited.rgb[:16, :16]}
        crit["residue"] = CriterionRecord(
            ok,
            1 - diff,
            {
                "original_size": list(original.size),
                "edited_size": list(edited.size),
                "mask_max": None if mask is None else int(mask.max()),
                "mask_shape": None if mask is None else list(mask.shape),
                "pid": os.getpid(),
                "mark": os.environ.get("STANDIN_MARK"),
                "cwd": os.getcwd(),
            },
            {n: evidence_path(pair.id, "residue", n) for n in images},
        )
        record = PairRecord(
            pair.id,
            pair.original,
            pair.edited,
            kind=kind or "inpainted",
            verdict="accept" if ok else "reject",
            score=1 - diff,
            criteria=crit,
            extra=pair.passthrough(),
        )
        return Judgement(record, {"residue": images})


def stand_in(calibration=None) -> StandInChecker:
    """Checker factory for ``run_check(checker_factory=...)`` (module level, so workers can unpickle it)."""
    return StandInChecker(calibration)
