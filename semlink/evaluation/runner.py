"""Run samples through VisionHalf → codec → channel → LanguageHalf (or a pixel baseline) and score the answers."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from semlink.channel import Channel, ChannelConfig
from semlink.codecs import Codec
from semlink.evaluation.data import EvalSample
from semlink.evaluation.image_baselines import send_image
from semlink.florence import FlorenceBundle, LanguageHalf, TaskRequest, VisionHalf
from semlink.metrics import agreement, attribute_accuracy, cider_bleu, exact_match, mean_average_precision
from semlink.pipeline import session_bytes
from semlink.wire.carry import carry


@dataclass(frozen=True)
class PixelBaseline:
    """Send the image itself, coded as ``fmt`` (jpeg/webp) at ``quality``, instead of features."""

    fmt: str
    quality: int

    @property
    def name(self) -> str:
        return f"{self.fmt}-q{self.quality}"


@dataclass
class EvalResult:
    """One row of an evaluation table."""

    model: str
    codec: str
    task: str
    n: int
    loss: float
    snr_db: float | None
    wire_bytes: float  # every byte the channel carried for a frame: packet headers, payloads and checks
    payload_bytes: float
    session_bytes: int  # once per stream, on the reliable control plane
    packets: float
    packets_lost: float
    latency_ms: float
    metrics: dict[str, float] = field(default_factory=dict)
    burst: float | None = None  # mean loss burst length (Gilbert-Elliott); None: independent losses

    def row(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(out.pop("metrics"))
        return out

    @property
    def quality(self) -> float:
        """The headline number: exact match against truth, else mAP, else CIDEr, else agreement."""
        for key in ("exact_match", "map50", "cider", "agreement"):
            if key in self.metrics:
                return self.metrics[key]
        return float("nan")


def channel_for(loss: float, snr_db: float | None, seed: int, burst: float | None = None) -> Channel | None:
    """A packet channel with loss rate ``loss`` (bursty Gilbert–Elliott when ``burst`` is a mean burst length)."""
    if loss == 0 and snr_db is None:
        return None
    if loss > 0 and burst:
        # Simple Gilbert model (all packets lost in Bad, none in Good): mean burst 1/r, loss p/(p+r).
        r = 1.0 / burst
        p = loss * r / (1 - loss)
        config = ChannelConfig(loss="gilbert_elliott", ge_p=min(p, 1.0), ge_r=r, ge_h=0.0, ge_k=1.0, snr_db=snr_db,
                               seed=seed)
    else:
        config = ChannelConfig(loss="bernoulli" if loss > 0 else "none", loss_p=loss, snr_db=snr_db, seed=seed)
    return Channel(config)


def _batches(items: Sequence, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def sender_label(codec: Codec | PixelBaseline) -> str:
    """The row name of a codec or baseline: its ``label`` (set by ``load_codec_for``), else its id."""
    if isinstance(codec, PixelBaseline):
        return codec.name
    return getattr(codec, "label", None) or codec.codec_id


def run_link(bundle: FlorenceBundle, codec: Codec | PixelBaseline, samples: Sequence[EvalSample], task: str,
             channel: Channel | None, batch_size: int = 8, progress: bool = True, text: str | None = None):
    """Answers for every sample, and per-frame (payload bytes, header bytes, packets, packets lost)."""
    vision, language = VisionHalf(bundle), LanguageHalf(bundle)
    answers, stats = [], []
    label = sender_label(codec)
    bar = tqdm(total=len(samples), desc=f"{label} {task}", unit="frame", disable=not progress, leave=False)
    session = None if isinstance(codec, PixelBaseline) else codec.session(1, samples[0].image.size)
    next_seq = 0
    for batch in _batches(list(samples), batch_size):
        images = [s.image for s in batch]
        seqs = list(range(next_seq, next_seq + len(batch)))
        next_seq += len(batch)
        if isinstance(codec, PixelBaseline):
            size = bundle.image_size[::-1]
            received, batch_stats = [], []
            for seq, im in zip(seqs, images):
                got, sent_stats = send_image(im, codec.fmt, codec.quality, channel, seq, size)
                received.append(got)
                batch_stats.append(sent_stats)
            features = vision.encode(received)
        else:
            ids = [session.frame_id(seq) for seq in seqs]
            sent = [f.with_image_size(im.size) for f, im in zip(codec.compress(vision.encode(images).float(), ids), images)]
            carried = [carry(f, session, channel) for f in sent]
            features, _ = codec.decompress([c.received for c in carried])
            features = features.to(bundle.device, bundle.dtype)
            batch_stats = [(c.wire_bytes, s.payload_bytes, s.total_packets, len(c.received.lost_indices()))
                           for s, c in zip(sent, carried)]
        requests = [TaskRequest(task, im.size, text) for im in images]
        answers += language.answer(features, requests)
        stats += batch_stats
        bar.update(len(batch))
    bar.close()
    return answers, stats, (session_bytes(session) if session is not None else 0)


def score(task: str, answers: list, samples: Sequence[EvalSample], reference: list | None) -> dict[str, float]:
    """Metrics of ``answers`` against the samples' truth and (``agreement``) the uncompressed answers."""
    metrics: dict[str, float] = {}
    if task == "<OD>":
        if all(s.boxes is not None for s in samples):
            metrics["map50"] = mean_average_precision(answers, [s.boxes for s in samples], iou=0.5)
    else:
        refs = [s.refs.get(task) for s in samples]
        if all(refs):
            metrics["exact_match"] = exact_match(answers, [r[0] for r in refs])
            if len(samples) > 1:
                metrics.update(cider_bleu(answers, refs))
        if task == "<DETAILED_CAPTION>" and all(s.scene is not None for s in samples):
            metrics.update({f"attr_{k}": v for k, v in attribute_accuracy(answers, [s.scene for s in samples]).items()})
    if reference is not None:
        metrics["agreement"] = agreement(answers, reference)
    return metrics


def evaluate(bundle: FlorenceBundle, codec: Codec | PixelBaseline, samples: Sequence[EvalSample], task: str,
             loss: float = 0.0, snr_db: float | None = None, seed: int = 0, burst: float | None = None,
             reference: list | None = None, batch_size: int = 8, progress: bool = True) -> tuple[EvalResult, list]:
    """Evaluate one (codec, task, channel) point; returns the result row and the raw answers."""
    channel = channel_for(loss, snr_db, seed, burst)
    start = time.perf_counter()
    with torch.no_grad():
        answers, stats, once = run_link(bundle, codec, samples, task, channel, batch_size, progress)
    elapsed = (time.perf_counter() - start) * 1000 / max(1, len(samples))
    n = len(samples)
    name = sender_label(codec)
    result = EvalResult(
        model=bundle.name, codec=name, task=task, n=n, loss=loss, snr_db=snr_db,
        wire_bytes=sum(s[0] for s in stats) / n, payload_bytes=sum(s[1] for s in stats) / n, session_bytes=once,
        packets=sum(s[2] for s in stats) / n, packets_lost=sum(s[3] for s in stats) / n,
        latency_ms=elapsed, metrics=score(task, answers, samples, reference), burst=burst if loss > 0 else None,
    )
    return result, answers
