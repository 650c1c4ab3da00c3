"""bench/generalize.py's folds: a corpus made of other corpora's photos (a family-only set, a
set's dead-zone pairs) is folded with its photos' home source, never as a source of its own, so
leaving a source out leaves its products out everywhere."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

from tests.learn.built import draw_rows, write_set

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _generalize():
    sys.path.insert(0, str(BENCH))  # the bench scripts import each other, as when run from bench/
    try:
        spec = importlib.util.spec_from_file_location("generalize", BENCH / "generalize.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(BENCH))


def test_a_family_only_corpus_is_folded_with_its_photos_home(tmp_path):
    g = _generalize()
    a = draw_rows(40, seed=1, prefix="a")  # groups a0..a9
    b = draw_rows(40, seed=2, prefix="b")
    # a corpus of one family on photos of both: its groups are a's and b's
    fam = [replace(r, id=f"fam-{r.id}") for r in draw_rows(20, seed=3, prefix="a")[:10]]
    fam += [replace(r, id=f"fam-{r.id}") for r in draw_rows(20, seed=4, prefix="b")[:10]]
    sets = []
    for name, rows in (("A", a), ("B", b), ("FAM", fam)):
        lab, res = write_set(tmp_path / name, rows)
        sets.append((name, res, lab))
    home = g.homes(sets)
    assert set(home.values()) == {"A", "B"}  # FAM is no home of its own
    assert all(home[r.group] == "A" for r in fam if r.group.startswith("a"))
    folded = g._rows(g.load(sets), "source", home)
    by_id = {r.id: r.group for r in folded}
    assert {by_id[r.id] for r in fam} == {"A", "B"}
    assert all(by_id[r.id] == ("A" if r.group.startswith("a") else "B") for r in fam)
    # product folds keep the photos as groups
    assert {r.group for r in g._rows(g.load(sets), "group", home)} == {r.group for r in a + b}
    # leaving A out leaves its photos out of every corpus, the family-only one too
    _gate, n = g._fit(sets, 0.98, "logistic", 0.95, fold_by="group", leave_out="A")
    assert n == len(b) + 10


def test_one_photo_is_one_home_under_either_tools_name(tmp_path):
    """``maskgate synth`` names a folder's product ``folder:STEM``; bench/build_real_tools.py names
    the same photo ``STEM``. Erasures of a synth corpus's photos are folded with that corpus."""
    g = _generalize()
    synth = [replace(r, group=f"folder:{r.group}") for r in draw_rows(40, seed=1, prefix="a")]
    erasures = [replace(r, id=f"er-{r.id}") for r in draw_rows(20, seed=5, prefix="a")]
    other = draw_rows(40, seed=2, prefix="b")
    sets = []
    for name, rows in (("SYNTH", synth), ("OTHER", other), ("ER", erasures)):
        lab, res = write_set(tmp_path / name, rows)
        sets.append((name, res, lab))
    home = g.homes(sets)
    assert set(home.values()) == {"SYNTH", "OTHER"}
    assert all(home[r.group] == "SYNTH" for r in erasures)
    _gate, n = g._fit(sets, 0.98, "logistic", 0.95, fold_by="group", leave_out="SYNTH")
    assert n == len(other)
