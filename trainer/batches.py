"""Which images each micro-batch holds, and what it carries: features or images, tasks and target texts.

Everything here is a pure function of ``(seed, micro-batch number, rank)``: the
order is a fresh permutation per epoch, sharded across data-parallel processes,
and the task and reference picked for each image are drawn from the same seed.
So a run resumed at step ``k`` sees exactly the batches an uninterrupted run
would, with no data-loader state to save.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from trainer.feature_cache import FeatureCache
from trainer.sources import ImageSource

_SALT_ORDER = 0xBA7C4


class BatchOrder:
    """Micro-batch ``m`` of process ``rank``: ``batch_size`` indices into a source of ``n`` images.

    Global batch ``m`` (``batch_size * world`` images) is a contiguous slice of
    epoch ``m // batches_per_epoch``'s permutation; process ``rank`` takes its
    ``rank``-th part. A partial last batch of an epoch is dropped. ``repeats[i]``
    (default 1) is how many times image ``i`` appears in each epoch.
    """

    def __init__(self, n: int, batch_size: int, seed: int, world: int = 1, rank: int = 0,
                 repeats: Sequence[int] | None = None):
        if repeats is not None and (len(repeats) != n or min(repeats) < 1):
            raise ValueError(f"repeats must give each of the {n} images a count >= 1")
        counts = torch.ones(n, dtype=torch.long) if repeats is None else torch.as_tensor(repeats)
        self.pool = torch.repeat_interleave(torch.arange(n), counts)  # each image, as often as it appears an epoch
        if len(self.pool) < batch_size * world:
            raise ValueError(f"{n} training images cannot fill one batch of {batch_size} x {world} processes; "
                             "lower optim.batch_size or add images")
        self.n, self.batch_size, self.seed, self.world, self.rank = n, batch_size, seed, world, rank
        self.batches_per_epoch = len(self.pool) // (batch_size * world)
        self._epoch, self._perm = -1, None

    def epoch_of(self, micro: int) -> int:
        return micro // self.batches_per_epoch

    def indices(self, micro: int) -> list[int]:
        epoch = self.epoch_of(micro)
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(int(np.random.SeedSequence([_SALT_ORDER, self.seed, epoch])
                                                          .generate_state(1)[0]))
            self._epoch = epoch
            self._perm = self.pool[torch.randperm(len(self.pool), generator=generator)].tolist()
        start = (micro % self.batches_per_epoch) * self.batch_size * self.world + self.rank * self.batch_size
        return self._perm[start:start + self.batch_size]


class MicroBatches(Sampler):
    """Yields micro-batches ``[(m, index), ...]`` for ``m`` in ``[start, stop)``, for a ``DataLoader``."""

    def __init__(self, order: BatchOrder, start: int, stop: int):
        self.order, self.start, self.stop = order, start, stop

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for micro in range(self.start, self.stop):
            yield [(micro, i) for i in self.order.indices(micro)]

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass
class Batch:
    """One micro-batch: ``features (B, C, H, W)`` from the cache, or ``pixels (B, 3, S, S)`` to encode live."""

    micro: int
    keys: list[str]
    tasks: list[str]
    targets: list[str]
    features: torch.Tensor | None = None
    pixels: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.keys)


class TrainExamples(Dataset):
    """Item ``(m, i)``: image ``i`` of ``source`` as micro-batch ``m`` uses it (task and target drawn from ``m``).

    ``references`` (``{key: {task: [texts]}}``) overrides the source's own, e.g.
    with the teacher's texts; ``cache`` makes items carry features, not images.
    """

    def __init__(self, source: ImageSource, tasks: Sequence[str], seed: int,
                 references: dict[str, dict[str, list[str]]] | None = None, cache: FeatureCache | None = None):
        self.source, self.tasks, self.seed = source, list(tasks), seed
        self.references, self.cache = references, cache

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, item: tuple[int, int]) -> dict:
        micro, index = item
        key = self.source.keys[index]
        refs = self.references[key] if self.references is not None else self.source.references(index)
        rng = np.random.default_rng([self.seed, micro, index])
        task = self.tasks[int(rng.integers(len(self.tasks)))]
        texts = refs.get(task)
        if not texts:
            raise ValueError(f"image {key!r} has no reference for {task}; give captions or set data.targets: teacher")
        out = {"micro": micro, "key": key, "task": task, "target": texts[int(rng.integers(len(texts)))]}
        if self.cache is not None:
            out["features"] = self.cache[key]
        else:
            out["image"] = self.source.image(index)
        return out


class Collate:
    """Items → :class:`Batch`; live images become pixel values here, so ``DataLoader`` workers do that work.

    ``pixels_of`` is the vision half's preprocessing (PIL images → ``(B, 3, S, S)``
    on the CPU); collation runs in the workers when ``data.workers > 0``, which
    keeps the image processor off the training step's critical path.
    """

    def __init__(self, pixels_of: Callable[[list[Image.Image]], torch.Tensor]):
        self.pixels_of = pixels_of

    def __call__(self, items: list[dict]) -> Batch:
        features = torch.stack([it["features"] for it in items]) if "features" in items[0] else None
        pixels = self.pixels_of([it["image"] for it in items]) if "image" in items[0] else None
        return Batch(micro=items[0]["micro"], keys=[it["key"] for it in items], tasks=[it["task"] for it in items],
                     targets=[it["target"] for it in items], features=features, pixels=pixels)
