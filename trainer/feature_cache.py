"""Vision features of an image source on disk, computed once and reused across epochs and runs.

The vision tower is frozen and is most of a training step's cost, so its output
``(C, H, W)`` per image is stored in safetensors shards keyed by the image's key,
under ``root / <fingerprint>-<dtype> / <source ident>``: another model, another
storage dtype or other images get another directory, never stale features.

- Written incrementally: each shard (``shard_size`` images) is saved whole, then
  ``index.json`` (key → shard) is rewritten atomically, so a build that is
  interrupted or killed resumes at the first unfinished shard; finished shards are
  never recomputed (a half-written shard file is not in the index and is overwritten).
- Stored in a chosen dtype (``float16``/``bfloat16`` halve a float32 cache) and read
  back in the model's; shards are memory-mapped (``safe_open``), so a read pages in
  only the rows it asks for, and the cache may be far larger than RAM.
- Before a build, :func:`plan_cache` says how many bytes the missing images need and
  :meth:`FeatureCache.build` refuses to start when the disk cannot hold them; the
  first batch's time gives an estimate of the whole build, logged before the rest.

Texts the teacher generated for unlabeled images live beside them in ``teacher.json``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm.auto import tqdm

from trainer.sources import ImageSource

log = logging.getLogger(__name__)

Encode = Callable[[list], torch.Tensor]  # PIL images -> features (B, C, H, W)

SAFETY_MARGIN = 1.05  # shard headers, index and teacher files, and room to spare


@dataclass(frozen=True)
class CachePlan:
    """What building a cache will take: images still to encode and their bytes on disk, against what is free."""

    directory: Path
    images: int
    cached: int
    bytes_needed: int
    bytes_free: int

    @property
    def fits(self) -> bool:
        return self.bytes_needed * SAFETY_MARGIN <= self.bytes_free

    def describe(self) -> str:
        return (f"feature cache {self.directory}: {self.cached} images cached, {self.images} to encode, "
                f"~{_size(self.bytes_needed)} more on disk ({_size(self.bytes_free)} free)")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def _free_bytes(directory: Path) -> int:
    probe = directory
    while not probe.exists():  # the cache directory may not exist yet: ask its nearest existing parent
        probe = probe.parent
    return shutil.disk_usage(probe).free


def plan_cache(directory: str | Path, keys: Sequence[str], feature_shape: Sequence[int],
               dtype: torch.dtype) -> CachePlan:
    """The bytes that caching ``keys`` of shape ``(C, H, W)`` in ``dtype`` still needs under ``directory``."""
    directory = Path(directory)
    index = directory / "index.json"
    done = set(json.loads(index.read_text())) if index.exists() else set()
    todo = sum(1 for k in keys if k not in done)
    per_image = math.prod(feature_shape) * torch.empty((), dtype=dtype).element_size()
    return CachePlan(directory, todo, len(keys) - todo, todo * per_image, _free_bytes(directory))


def disk_bytes(directory: str | Path) -> int:
    """Bytes the cache's files take on disk now."""
    directory = Path(directory)
    return sum(p.stat().st_size for p in directory.glob("*") if p.is_file()) if directory.is_dir() else 0


def _write_json(path: Path, value) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


class FeatureCache:
    """Features of one source for one model: ``cache[key]`` → ``(C, H, W)`` tensor, ``cache.stack(keys)`` → batch.

    ``read_dtype``: the dtype reads return (the model's); ``None`` = as stored.
    """

    def __init__(self, directory: str | Path, read_dtype: torch.dtype | None = None):
        self.directory = Path(directory)
        self.read_dtype = read_dtype
        self.directory.mkdir(parents=True, exist_ok=True)
        index = self.directory / "index.json"
        self.index: dict[str, str] = json.loads(index.read_text()) if index.exists() else {}
        teacher = self.directory / "teacher.json"
        self.teacher: dict[str, dict[str, str]] = json.loads(teacher.read_text()) if teacher.exists() else {}
        self._handles: dict[str, object] = {}

    @staticmethod
    def location(root: str | Path, fingerprint: str, dtype: torch.dtype, source: ImageSource) -> Path:
        return Path(root) / f"{fingerprint[:16]}-{str(dtype).removeprefix('torch.')}" / source.ident

    def __contains__(self, key: str) -> bool:
        return key in self.index

    def missing(self, keys: Sequence[str]) -> list[str]:
        return [k for k in keys if k not in self.index]

    def build(self, source: ImageSource, encode: Encode, batch_size: int, shard_size: int,
              progress: bool = True, dtype: torch.dtype | None = None,
              feature_shape: Sequence[int] | None = None) -> int:
        """Encode every image of ``source`` not yet cached, stored as ``dtype`` (``None`` = as encoded).

        With ``feature_shape`` ``(C, H, W)`` the disk is checked first: a build that
        would not fit raises before any work. Returns how many images were added.
        """
        todo = [i for i, key in enumerate(source.keys) if key not in self.index]
        if not todo:
            return 0
        if feature_shape is not None and dtype is not None:
            plan = plan_cache(self.directory, source.keys, feature_shape, dtype)
            log.info("%s", plan.describe())
            if not plan.fits:
                raise OSError(f"{plan.describe()}: it will not fit. Free space, point data.cache_dir elsewhere, "
                              "store data.cache_dtype: float16, cache fewer images (data.train_subset: N), "
                              "or set data.cache: false to run the vision tower live")
        log.info("caching vision features of %d images in %s", len(todo), self.directory)
        shard: dict[str, torch.Tensor] = {}
        bar = tqdm(total=len(todo), desc="feature cache", unit="img", disable=not progress)
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            began = time.perf_counter()
            with torch.no_grad():
                features = encode([source.image(i) for i in chunk]).cpu()
            if dtype is not None:
                features = features.to(dtype)
            if start == 0 and len(todo) > len(chunk):
                per_image = (time.perf_counter() - began) / len(chunk)
                log.info("feature cache: ~%.0f s for %d images (%.1f ms an image, first batch)",
                         per_image * len(todo), len(todo), per_image * 1000)
            for i, row in zip(chunk, features):
                shard[source.keys[i]] = row.contiguous()
            if len(shard) >= shard_size:
                self._write_shard(shard)
                shard = {}
            bar.update(len(chunk))
        if shard:
            self._write_shard(shard)
        bar.close()
        return len(todo)

    def _write_shard(self, tensors: dict[str, torch.Tensor]) -> None:
        name = f"shard-{len(set(self.index.values())):05d}.safetensors"
        save_file(tensors, str(self.directory / name))
        self.index.update({key: name for key in tensors})
        _write_json(self.directory / "index.json", self.index)

    def __getitem__(self, key: str) -> torch.Tensor:
        shard = self.index.get(key)
        if shard is None:
            raise KeyError(f"image {key!r} is not in the feature cache {self.directory}; build it first")
        if shard not in self._handles:
            self._handles[shard] = safe_open(str(self.directory / shard), framework="pt")  # memory-mapped
        tensor = self._handles[shard].get_tensor(key)
        return tensor if self.read_dtype is None else tensor.to(self.read_dtype)

    def stack(self, keys: Sequence[str]) -> torch.Tensor:
        """Features ``(B, C, H, W)`` of ``keys``."""
        return torch.stack([self[k] for k in keys])

    def put_teacher(self, task: str, texts: dict[str, str]) -> None:
        self.teacher.setdefault(task, {}).update(texts)
        _write_json(self.directory / "teacher.json", self.teacher)

    def __getstate__(self):  # file handles do not cross into DataLoader workers
        return {**self.__dict__, "_handles": {}}
