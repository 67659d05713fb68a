"""Vision features of an image source on disk, computed once and reused across epochs and runs.

The vision tower is frozen and is most of a training step's cost, so its output
``(C, H, W)`` per image is stored in safetensors shards keyed by the image's key,
under ``root / <fingerprint>-<dtype> / <source ident>``: another model, another
dtype or other images get another directory, never stale features. An
``index.json`` maps keys to shards and is rewritten atomically after every
shard, so an interrupted build resumes where it stopped. Texts the teacher
generated for unlabeled images live beside them in ``teacher.json``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm.auto import tqdm

from trainer.sources import ImageSource

log = logging.getLogger(__name__)

Encode = Callable[[list], torch.Tensor]  # PIL images -> features (B, C, H, W)


def _write_json(path: Path, value) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


class FeatureCache:
    """Features of one source for one model: ``cache[key]`` → ``(C, H, W)`` tensor, ``cache.stack(keys)`` → batch."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
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
              progress: bool = True) -> int:
        """Encode every image of ``source`` not yet cached; returns how many were added."""
        todo = [i for i, key in enumerate(source.keys) if key not in self.index]
        if not todo:
            return 0
        log.info("caching vision features of %d images in %s", len(todo), self.directory)
        shard: dict[str, torch.Tensor] = {}
        bar = tqdm(total=len(todo), desc="feature cache", unit="img", disable=not progress)
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            with torch.no_grad():
                features = encode([source.image(i) for i in chunk]).cpu()
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
            self._handles[shard] = safe_open(str(self.directory / shard), framework="pt")
        return self._handles[shard].get_tensor(key)

    def stack(self, keys: Sequence[str]) -> torch.Tensor:
        """Features ``(B, C, H, W)`` of ``keys``."""
        return torch.stack([self[k] for k in keys])

    def put_teacher(self, task: str, texts: dict[str, str]) -> None:
        self.teacher.setdefault(task, {}).update(texts)
        _write_json(self.directory / "teacher.json", self.teacher)

    def __getstate__(self):  # file handles do not cross into DataLoader workers
        return {**self.__dict__, "_handles": {}}
