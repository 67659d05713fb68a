"""Periodic evaluation: answers through the real serving path, against labels and the uncompressed model.

Features go through ``codec.compress`` → packets → a Bernoulli packet-loss
channel at each rate → ``codec.decompress`` → ``LanguageHalf.answer``, exactly as
the services run them. Per task and loss rate it reports exact match against the
first reference (``em``), the uncompressed pipeline's exact match (``em_ref``),
their ratio (``em_kept``) and agreement with the uncompressed answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from semlink.channel import Channel, ChannelConfig
from semlink.codecs import Codec
from semlink.florence import LanguageHalf, TaskRequest
from semlink.metrics.captions import agreement, exact_match
from semlink.wire.carry import carry

from trainer.sources import ImageSource

EVAL_CHANNEL_SEED = 1234


class Evaluator:
    """Evaluates a codec on a fixed validation set; the uncompressed answers are computed once."""

    def __init__(self, language: LanguageHalf, source: ImageSource, features: Callable[[Sequence[int]], torch.Tensor],
                 tasks: Sequence[str], loss_rates: Sequence[float], batch_size: int, references=None):
        self.language, self.source, self.features = language, source, features
        self.tasks, self.loss_rates, self.batch_size = list(tasks), list(loss_rates), batch_size
        self.references = references
        self._uncompressed: dict[str, list] = {}
        self._sizes = [source.image(i).size for i in range(len(source))]  # (width, height), for box tasks

    def _refs(self, task: str) -> list[str | None]:
        out = []
        for i, key in enumerate(self.source.keys):
            refs = (self.references or {}).get(key) or self.source.references(i)
            out.append(refs[task][0] if refs.get(task) else None)
        return out

    def _answer(self, task: str, decode: Callable[[torch.Tensor], torch.Tensor]) -> list:
        answers = []
        device, dtype = self.language.model.device, self.language.model.dtype
        for start in range(0, len(self.source), self.batch_size):
            index = list(range(start, min(start + self.batch_size, len(self.source))))
            x = decode(self.features(index)).to(device, dtype)
            requests = [TaskRequest(task, self._sizes[i]) for i in index]
            answers += self.language.answer(x, requests)
        return answers

    @torch.no_grad()
    def __call__(self, codec: Codec) -> dict[str, float]:
        was_training = codec.training
        codec.eval()
        metrics: dict[str, float] = {}
        for task in self.tasks:
            if task not in self._uncompressed:
                self._uncompressed[task] = self._answer(task, lambda x: x)
            reference = self._uncompressed[task]
            refs = self._refs(task)
            labelled = [i for i, r in enumerate(refs) if r is not None and isinstance(reference[i], str)]
            em_ref = exact_match([reference[i] for i in labelled], [refs[i] for i in labelled]) if labelled else None
            if em_ref is not None:
                metrics[f"{task}/em_ref"] = em_ref
            for p in self.loss_rates:
                channel = Channel(ChannelConfig(loss="bernoulli", loss_p=p, seed=EVAL_CHANNEL_SEED)) if p else None
                answers = self._answer(task, lambda x: _through(codec, x, channel))
                tag = f"{task}@{p:.2f}"
                metrics[f"{tag}/agree"] = agreement(answers, reference)
                if em_ref is not None:
                    em = exact_match([answers[i] for i in labelled], [refs[i] for i in labelled])
                    metrics[f"{tag}/em"] = em
                    if em_ref:
                        metrics[f"{tag}/em_kept"] = em / em_ref
        codec.train(was_training)
        return metrics


def _through(codec: Codec, features: torch.Tensor, channel: Channel | None) -> torch.Tensor:
    """Features ``(B, C, H, W)`` → datagrams → channel → decoded features, as the services do it.

    The learned codec's wire tables are refreshed from its entropy model first (it trains).
    """
    if hasattr(codec, "update"):
        codec.update()
    session = codec.session(1)
    frames = codec.compress(features.to(codec.device).float(), [session.frame_id(i) for i in range(features.shape[0])])
    return codec.decompress([carry(f, session, channel).received for f in frames])[0]
