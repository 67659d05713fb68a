"""Data for the trainer: folder/COCO sources, the feature cache, the resumable batch order, channel draws,
and training on unlabeled images with the uncompressed model's own text as targets."""

from __future__ import annotations

import json

import pytest
import torch

from semlink.florence.split import VisionHalf
from semlink.shapes import ShapesDataset
from semlink.shapes.text import NUMBER_WORDS

from trainer.batches import BatchOrder, Collate
from trainer.channel_draw import channel_config
from trainer.config import ChannelSection, TrainConfig
from trainer.feature_cache import FeatureCache
from trainer.loop import train
from trainer.sources import ShapesSource, build_sources, coco_source, folder_source


@pytest.fixture
def images(tmp_path):
    """Eight shapes scenes saved as PNG files in a folder, with their captions."""
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    captions = {}
    for i in range(8):
        item = ShapesDataset("val", 8)[i]
        name = f"sub/{i}.png" if i % 2 else f"{i}.png"
        item["image"].save(folder / name)
        captions[name] = item["targets"]["<CAPTION>"]
    return folder, captions


def test_folder_source_reads_jsonl_captions(tmp_path, images):
    folder, captions = images
    jsonl = tmp_path / "captions.jsonl"
    jsonl.write_text("".join(json.dumps({"file": f, "caption": c}) + "\n" for f, c in captions.items()))
    source = folder_source(folder, jsonl)
    assert sorted(source.keys) == sorted(captions)
    i = source.keys.index("sub/1.png")
    assert source.references(i) == {"<CAPTION>": [captions["sub/1.png"]]}
    assert source.image(i).mode == "RGB"
    assert folder_source(folder).ident == source.ident  # same images, same cache


def test_coco_source_keeps_every_caption(tmp_path, images):
    folder, captions = images
    files = sorted(captions)
    data = {"images": [{"id": n, "file_name": f} for n, f in enumerate(files)],
            "annotations": [{"image_id": n, "caption": t} for n in range(len(files)) for t in (" one. ", "two.")]}
    path = tmp_path / "captions.json"
    path.write_text(json.dumps(data))
    source = coco_source(folder, path)
    assert source.references(0) == {"<CAPTION>": ["one.", "two."]}
    config = TrainConfig.from_dict({"data": {"source": "coco", "path": str(folder), "captions": str(path),
                                             "val_size": 2}})
    train_source, val_source = build_sources(config.data)
    assert (len(train_source), len(val_source)) == (6, 2)
    assert not set(train_source.keys) & set(val_source.keys)


def test_feature_cache_is_reused_across_runs(tmp_path, bundle, images):
    folder, _ = images
    source = folder_source(folder)
    directory = FeatureCache.location(tmp_path, bundle.fingerprint, bundle.dtype, source)
    calls = []

    def encode(ims):
        calls.append(len(ims))
        return torch.arange(len(ims) * 6, dtype=torch.float32).reshape(len(ims), 1, 2, 3) + len(calls) * 100

    assert FeatureCache(directory).build(source, encode, batch_size=3, shard_size=4, progress=False) == 8
    again = FeatureCache(directory)
    assert again.build(source, encode, batch_size=3, shard_size=4, progress=False) == 0
    assert calls == [3, 3, 2]
    assert len(list(directory.glob("shard-*.safetensors"))) == 2
    assert torch.equal(again.stack(source.keys[:1]), torch.arange(6.0).reshape(1, 1, 2, 3) + 100)


def test_batch_order_is_a_pure_function_of_the_step():
    order = BatchOrder(n=10, batch_size=2, seed=3)
    epoch0 = [i for m in range(5) for i in order.indices(m)]
    assert sorted(epoch0) == list(range(10))
    assert BatchOrder(n=10, batch_size=2, seed=3).indices(7) == order.indices(7)  # no hidden state
    assert order.indices(5) != order.indices(0) or order.indices(6) != order.indices(1)  # reshuffled per epoch
    ranks = [BatchOrder(n=10, batch_size=2, seed=3, world=2, rank=r) for r in (0, 1)]
    single = BatchOrder(n=10, batch_size=4, seed=3)
    assert ranks[0].indices(1) + ranks[1].indices(1) == single.indices(1)  # DDP shards the same global batch


def test_repeated_images_appear_that_many_times_an_epoch():
    repeats = [1, 3, 1, 1, 2, 1]
    order = BatchOrder(n=6, batch_size=3, seed=1, repeats=repeats)
    assert order.batches_per_epoch == 3
    for epoch in range(2):
        seen = [i for m in range(epoch * 3, epoch * 3 + 3) for i in order.indices(m)]
        assert sorted(seen) == [0, 1, 1, 1, 2, 3, 4, 4, 5]
    assert BatchOrder(n=6, batch_size=3, seed=1, repeats=repeats).indices(4) == order.indices(4)
    with pytest.raises(ValueError, match="repeats"):
        BatchOrder(n=6, batch_size=3, seed=1, repeats=[1, 0, 1, 1, 1, 1])


def test_shapes_source_flags_scenes_whose_caption_counts_look_alikes():
    source = ShapesSource("train", 200)
    flags = source.look_alikes()
    captions = [source.references(i)["<CAPTION>"][0] for i in range(200)]
    counted = [any(w in c.split() for w in NUMBER_WORDS[2:]) for c in captions]
    assert flags == counted and 0 < sum(flags) < 200


def test_channel_draws_cover_the_ranges_and_repeat():
    section = ChannelSection(clean_fraction=0.2, loss_p=(0.0, 0.3), burst_fraction=0.5, bit_error_fraction=0.5,
                             analog_fraction=0.5)
    configs = [channel_config(section, seed=0, micro=m) for m in range(200)]
    assert configs == [channel_config(section, seed=0, micro=m) for m in range(200)]
    kinds = {c.loss if c else "clean" for c in configs}
    assert kinds == {"clean", "bernoulli", "gilbert_elliott"}
    assert all(0 <= c.loss_p <= 0.3 for c in configs if c and c.loss == "bernoulli")
    assert any(c and c.snr_db is not None for c in configs) and any(c and c.analog_snr_db for c in configs)
    ge = [c.erasure_model().mean_loss_rate for c in configs if c and c.loss == "gilbert_elliott"]
    assert max(ge) <= 0.3 + 1e-9
    # same parameters on every rank, different packets lost
    a, b = channel_config(section, 0, 7, rank=0), channel_config(section, 0, 7, rank=1)
    assert (a is None and b is None) or (a.loss_p, a.ge_p, a.snr_db) == (b.loss_p, b.ge_p, b.snr_db)


def test_unlabeled_folder_trains_on_teacher_text(tmp_path, bundle, images):
    folder, _ = images
    config = TrainConfig.from_dict({
        "model": {"name": "tiny-random", "device": "cpu"},
        "codec": {"hidden": 16, "normalization_images": 4},
        "loss": {"ce": 1.0, "distill": 1.0},
        "data": {"source": "folder", "path": str(folder), "targets": "teacher", "val_size": 2,
                 "cache_dir": str(tmp_path / "cache")},
        "optim": {"steps": 2, "batch_size": 3},
        "run": {"out_dir": str(tmp_path / "run"), "eval_loss_rates": [], "progress": False},
    })
    result = train(config, bundle=bundle)
    assert len(result.losses) == 2 and result.codec_path.is_file()
    teacher = next((tmp_path / "cache").rglob("teacher.json"))
    texts = json.loads(teacher.read_text())["<CAPTION>"]
    assert len(texts) == 6 and all(isinstance(t, str) for t in texts.values())


def test_collate_turns_live_images_into_the_vision_halfs_pixel_values(bundle):
    vision = VisionHalf(bundle)
    scenes = ShapesDataset("val", 3)
    items = [{"micro": 5, "key": f"k{i}", "task": "<CAPTION>", "target": "t", "image": scenes[i]["image"]}
             for i in range(3)]
    batch = Collate(vision.pixels)(items)
    assert batch.features is None and batch.micro == 5 and batch.keys == ["k0", "k1", "k2"]
    assert torch.equal(vision.encode_pixels(batch.pixels), vision.encode([it["image"] for it in items]))
