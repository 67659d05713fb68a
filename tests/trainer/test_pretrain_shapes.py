"""pretrain-shapes: a 3-step run on the tiny architecture saves a loadable checkpoint; the shipped shapes-tiny works."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import AutoProcessor, Florence2ForConditionalGeneration

from semlink.florence import LanguageHalf, TaskRequest, VisionHalf
from semlink.florence.loading import SHIPPED, load_florence
from semlink.shapes import ShapesDataset, render, target
from trainer.pretrain_shapes import PretrainConfig, pretrain


SHIPPED_CHECK_SCENES = 24
SHIPPED_MIN_CAPTION_EXACT = 0.85  # measured 0.972 on 500 test scenes (TRAINING.md)


def test_three_steps_train_save_and_load_back(tmp_path):
    torch.manual_seed(0)
    cfg = PretrainConfig(steps=3, batch=4, lr=3e-3, warmup=1, pool=16, threads=1, eval_every=0, eval_scenes=0, tiny=True,
                         probe_steps=2, probe_batch=4)
    record = pretrain(tmp_path, cfg)
    assert math.isfinite(record["first_loss"]) and math.isfinite(record["final_loss"])
    assert record["final_loss"] < record["first_loss"]

    model = Florence2ForConditionalGeneration.from_pretrained(tmp_path)
    processor = AutoProcessor.from_pretrained(tmp_path)
    assert model.generation_config.num_beams == 1  # greedy unless --num-beams says otherwise
    assert model.generation_config.max_new_tokens >= 30  # longest detailed caption, with <s> and </s>
    scene = ShapesDataset("test", 1).scene(0)
    inputs = processor(text=["<OD>"], images=[render(scene)], return_tensors="pt")
    with torch.no_grad():
        ids = model.generate(**inputs, max_new_tokens=4)
    assert ids.shape[0] == 1


def test_init_continues_a_saved_checkpoint_and_the_probe_warm_up_leaves_its_tower_alone(tmp_path, monkeypatch):
    first = PretrainConfig(steps=2, batch=4, warmup=1, pool=8, threads=1, eval_scenes=0, tiny=True,
                           probe_steps=1, probe_batch=4)
    pretrain(tmp_path / "a", first)
    before = Florence2ForConditionalGeneration.from_pretrained(tmp_path / "a").state_dict()

    import trainer.pretrain_shapes as module

    towers_after_warm_up = []
    real_warm_up = module.warm_up_vision

    def spy(model, *args, **kwargs):
        real_warm_up(model, *args, **kwargs)
        towers_after_warm_up.append({k: v.clone() for k, v in model.model.vision_tower.state_dict().items()})

    monkeypatch.setattr(module, "warm_up_vision", spy)
    second = PretrainConfig(steps=2, batch=4, warmup=1, pool=8, threads=1, eval_scenes=0, seed=1, probe_steps=2,
                            probe_batch=4, init=str(tmp_path / "a"), num_beams=2)
    record = pretrain(tmp_path / "b", second)
    after = Florence2ForConditionalGeneration.from_pretrained(tmp_path / "b")

    tower = towers_after_warm_up[0]
    assert all(torch.equal(tower[k], before[f"model.vision_tower.{k}"]) for k in tower)
    assert any(not torch.equal(v, before[k]) for k, v in after.state_dict().items())
    assert after.generation_config.num_beams == 2
    assert record["config"]["init"] == str(tmp_path / "a")


def test_init_must_be_a_checkpoint_directory(tmp_path):
    with pytest.raises(ValueError, match="not a checkpoint directory"):
        PretrainConfig(init=str(tmp_path))


def test_shipped_shapes_tiny_reads_the_image():
    """The shipped model is small, and its captions of held-out scenes depend on the image and are often exact.

    The floor is the measured quality minus a margin (see semlink/assets/shapes-tiny/TRAINING.md), so a
    model that ignores the image (one caption for every scene, as an untrained one does) fails.
    """
    directory = SHIPPED["shapes-tiny"]
    size = sum(f.stat().st_size for f in directory.iterdir() if f.is_file())
    # 25 MiB for the model and its feature codecs, 3 MiB more for the learned pixel peer's points (~0.5 MiB each)
    assert size <= 28 * 2**20, f"shapes-tiny is {size / 2**20:.1f} MiB on disk; the budget is 28"
    bundle = load_florence("shapes-tiny")
    dataset = ShapesDataset("test", SHIPPED_CHECK_SCENES)
    scenes = [dataset.scene(i) for i in range(SHIPPED_CHECK_SCENES)]
    images = [render(scene) for scene in scenes]
    features = VisionHalf(bundle).encode(images)
    answers = LanguageHalf(bundle).answer(features, [TaskRequest("<CAPTION>", im.size) for im in images])
    exact = sum(a == target(s, "<CAPTION>") for a, s in zip(answers, scenes)) / len(scenes)
    assert len(set(answers)) > len(scenes) // 2, answers
    assert exact >= SHIPPED_MIN_CAPTION_EXACT, (exact, answers[:5])


def test_look_alike_scenes_are_those_whose_caption_counts_and_can_be_oversampled():
    from types import SimpleNamespace

    from semlink.shapes import has_look_alikes
    from trainer.pretrain_shapes import ScenePool

    dataset = ShapesDataset("train", 400)
    scenes = [dataset.scene(i) for i in range(400)]
    counting = [any(f" {w} " in f" {target(s, '<CAPTION>')}" for w in ("two", "three", "four")) for s in scenes]
    assert [has_look_alikes(s) for s in scenes] == counting
    assert 0 < sum(counting) < len(scenes)

    pool = ScenePool.__new__(ScenePool)  # only the scenes matter for sampling
    pool.pixels, pool.look_alikes = torch.zeros(len(scenes), 1), torch.tensor(counting)
    gen = torch.Generator().manual_seed(0)
    share = lambda weight: pool.look_alikes[pool.sample(4000, weight, gen)].float().mean().item()  # noqa: E731
    base = sum(counting) / len(scenes)
    assert abs(share(1.0) - base) < 0.03
    assert share(4.0) > 2.5 * base  # 4x weight: about 4 * base / (1 + 3 * base)
