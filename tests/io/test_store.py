"""Output stores: JSONL and Parquet read back what was written, resume from done ids, and a crash
mid-write costs only the pairs it interrupted."""

from __future__ import annotations

import json
import random

import fsspec
import pytest

from maskgate.core.record import CriterionRecord, PairRecord
from maskgate.io.store import JsonlStore, ParquetStore, StoreError, find_results, open_store

pytest.importorskip("pyarrow")


def _records(n: int, seed: int = 0) -> list[PairRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if rng.random() < 0.3:
            out.append(PairRecord.failed(f"id-{i}", f"/o{i}.png", f"/e{i}.png", None, "file not found", {}))
            continue
        s = rng.random()
        crit = {"residue": CriterionRecord(s > 0.5, s, {"mean": rng.random(), "note": "é ✓"})}
        out.append(
            PairRecord(
                f"id-{i}",
                f"/o{i}.png",
                f"/e{i}.png",
                "inpainted",
                rng.choice(["accept", "review"]),
                s,
                crit,
                extra={"labels": {"residue": rng.random() < 0.5}},
            )
        )
    return out


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
@pytest.mark.parametrize("where", ["local", "memory"])
def test_a_store_gives_back_what_was_written_and_its_done_ids(tmp_path, fmt, where, request):
    out = (
        str(tmp_path / "run")
        if where == "local"
        else f"memory://store-{request.node.originalname}-{id(request.node)}"
    )
    recs = _records(23)
    store = open_store(out, fmt, **({"rows_per_part": 5} if fmt == "parquet" else {}))
    assert store.done_ids() == set()
    for r in recs:
        store.append(r)
    store.close()
    again = open_store(out, fmt)
    assert again.done_ids() == {r.id for r in recs}
    assert sorted(again.verdicts()) == sorted((r.id, r.verdict) for r in recs)
    if isinstance(again, ParquetStore):
        assert sorted(again.records(), key=lambda r: r.id) == sorted(recs, key=lambda r: r.id)
        assert len(again._parts()) == 5  # 23 records, 5 a part


def test_parquet_columns_are_queryable_and_hold_the_full_record(tmp_path):
    import pyarrow.parquet as pq

    recs = _records(7, seed=3)
    store = ParquetStore(tmp_path)
    for r in recs:
        store.append(r)
    store.close()
    t = pq.read_table(tmp_path / "results.parquet")  # the folder reads as one table
    assert t.column_names == ["id", "verdict", "kind", "score", "error", "record"]
    rows = {row["id"]: row for row in t.to_pylist()}
    for r in recs:
        assert (rows[r.id]["verdict"], rows[r.id]["score"], rows[r.id]["error"]) == (
            r.verdict,
            r.score,
            r.error,
        )
        assert PairRecord.from_json(json.loads(rows[r.id]["record"])) == r


def test_a_parquet_part_cut_short_by_a_crash_is_not_taken_for_results(tmp_path):
    store = ParquetStore(tmp_path, rows_per_part=4)
    recs = _records(8, seed=1)
    for r in recs:
        store.append(r)
    store.close()
    folder = tmp_path / "results.parquet"
    whole = sorted(folder.iterdir())
    (folder / ".tmp-part-x-00009.parquet").write_bytes(whole[0].read_bytes()[:100])  # killed mid-write
    (folder / "part-y-00001.parquet").write_bytes(whole[0].read_bytes()[:-30])  # damaged by hand
    again = ParquetStore(tmp_path)
    assert again.done_ids() == {r.id for r in recs[:8]}  # both whole parts; the torn ones count nothing
    names = {p.name for p in folder.iterdir()}
    assert ".tmp-part-x-00009.parquet" not in names  # a temporary is removed
    assert "unreadable-part-y-00001.parquet" in names  # a damaged part is set aside, not deleted
    assert sorted(again.verdicts()) == sorted((r.id, r.verdict) for r in recs)


def test_a_jsonl_store_on_memory_drops_a_torn_tail(request):
    out = f"memory://torn-{request.node.originalname}-{id(request.node)}"
    recs = _records(3)
    store = JsonlStore(out)
    for r in recs:
        store.append(r)
    fs = fsspec.filesystem("memory")
    path = out.removeprefix("memory://") + "/results.jsonl"
    fs.pipe_file(path, fs.cat(path) + b'{"id": "id-9", "verd')
    assert JsonlStore(out).done_ids() == {r.id for r in recs}
    assert fs.cat(path).endswith(b"\n") and b"id-9" not in fs.cat(path)


def test_jsonl_on_a_store_that_cannot_append_says_to_use_parquet(monkeypatch):
    from fsspec.implementations.memory import MemoryFileSystem

    class NoAppend(MemoryFileSystem):
        protocol = ("noappend",)

    fsspec.register_implementation("noappend", NoAppend, clobber=True)
    with pytest.raises(StoreError, match="--format parquet"):
        open_store("noappend://bucket/run", "jsonl")
    assert isinstance(open_store("noappend://bucket/run", "parquet"), ParquetStore)


def test_an_unknown_format_is_refused():
    with pytest.raises(StoreError, match="jsonl, parquet"):
        open_store("/tmp/x", "csv")  # type: ignore[arg-type]


def test_find_results_takes_a_run_folder_or_either_store_and_refuses_an_ambiguous_folder(tmp_path):
    pytest.importorskip("pyarrow")
    for fmt in ("jsonl", "parquet"):
        s = open_store(tmp_path / fmt, fmt)
        s.append(PairRecord.failed(f"{fmt}-1", "o.png", "e.png", None, "why", {}))
        s.close()
        for named in (tmp_path / fmt, s.location):
            store, run = find_results(named)
            assert run == tmp_path / fmt and [r.id for r in store.records()] == [f"{fmt}-1"]
    both = open_store(tmp_path / "jsonl", "parquet")
    both.append(PairRecord.failed("x", "o.png", "e.png", None, "why", {}))
    both.close()
    with pytest.raises(StoreError, match="holds both results.jsonl and results.parquet"):
        find_results(tmp_path / "jsonl")
    with pytest.raises(StoreError, match="no such results file"):
        find_results(tmp_path / "nothing-here")
