"""The feature cache at dataset scale: resumable after an interruption or a kill, a storage dtype, a disk check."""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest
import torch

from trainer.feature_cache import FeatureCache, plan_cache
from trainer.sources import ImageSource


class Numbers(ImageSource):
    """``n`` keys; the "image" is the index (the fake encoder below turns it into features)."""

    ident = "numbers"

    def __init__(self, n: int):
        self.keys = [f"k{i}" for i in range(n)]

    def image(self, index):
        return index


def encoder(calls, die_after=None, how="raise"):
    def encode(images):
        if die_after is not None and len(calls) == die_after:
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise KeyboardInterrupt
        calls.append(list(images))
        return torch.stack([torch.full((16, 8, 8), float(i)) for i in images]) + 0.1
    return encode


def test_an_interrupted_build_resumes_without_recomputing_finished_shards(tmp_path):
    source, calls = Numbers(10), []
    with pytest.raises(KeyboardInterrupt):  # batches of 2, shards of 4: dies at the 4th batch
        FeatureCache(tmp_path).build(source, encoder(calls, die_after=3), batch_size=2, shard_size=4, progress=False)
    assert len(FeatureCache(tmp_path).index) == 4  # shard 0 finished; shard 1's first two images were lost
    again = []
    assert FeatureCache(tmp_path).build(source, encoder(again), batch_size=2, shard_size=4, progress=False) == 6
    assert again == [[4, 5], [6, 7], [8, 9]]
    cache = FeatureCache(tmp_path)
    assert torch.equal(cache.stack(source.keys)[:, 0, 0, 0], torch.arange(10.0) + 0.1)


def test_a_killed_build_resumes_too(tmp_path):
    source = Numbers(10)
    child = multiprocessing.get_context("fork").Process(target=lambda: FeatureCache(tmp_path).build(
        source, encoder([], die_after=3, how="kill"), batch_size=2, shard_size=4, progress=False))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    again = []
    assert FeatureCache(tmp_path).build(source, encoder(again), batch_size=2, shard_size=4, progress=False) == 6
    assert again[0] == [4, 5] and len(FeatureCache(tmp_path).index) == 10


def test_storage_dtype_halves_the_bytes_and_reads_back_in_the_models(tmp_path):
    source = Numbers(4)
    FeatureCache(tmp_path / "a").build(source, encoder([]), 4, 4, progress=False, dtype=torch.bfloat16,
                                       feature_shape=(16, 8, 8))
    FeatureCache(tmp_path / "b").build(source, encoder([]), 4, 4, progress=False)
    stored = FeatureCache(tmp_path / "a")
    assert stored["k1"].dtype == torch.bfloat16
    read = FeatureCache(tmp_path / "a", read_dtype=torch.float32).stack(source.keys)
    assert read.dtype == torch.float32 and torch.allclose(read, FeatureCache(tmp_path / "b").stack(source.keys),
                                                          rtol=1e-2)
    size = {d: next((tmp_path / d).glob("shard-*")).stat().st_size for d in "ab"}
    assert size["a"] < 0.6 * size["b"]


def test_plan_counts_only_what_is_missing_and_a_build_that_cannot_fit_stops_first(tmp_path, monkeypatch):
    source = Numbers(8)
    FeatureCache(tmp_path).build(Numbers(4), encoder([]), 4, 4, progress=False)
    plan = plan_cache(tmp_path, source.keys, (1024, 24, 24), torch.bfloat16)
    assert (plan.cached, plan.images, plan.bytes_needed) == (4, 4, 4 * 1024 * 24 * 24 * 2)
    monkeypatch.setattr("trainer.feature_cache._free_bytes", lambda d: 1000)
    calls = []
    with pytest.raises(OSError, match="will not fit.*data.train_subset"):
        FeatureCache(tmp_path).build(source, encoder(calls), 4, 4, progress=False, dtype=torch.bfloat16,
                                     feature_shape=(1024, 24, 24))
    assert calls == []
