"""Run samples through VisionHalf → codec → channel → LanguageHalf (or a pixel peer) and score the answers.

A feature codec sends the vision tower's features; a pixel peer
(``semlink.pixels``) sends the model's input image, which the receiver runs the
whole model on. Both travel as datagrams through the same channel, so a row's
``wire_bytes`` counts the same things for each: every byte of a frame's
datagrams, plus ``datagram_overhead`` transport bytes per datagram
(``semlink.packets.transport``; the quality does not depend on it, so one run
gives a row per overhead).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import torch
from tqdm.auto import tqdm

from semlink.channel import Channel, ChannelConfig
from semlink.channel.erasure import GilbertElliott
from semlink.codecs import Codec
from semlink.evaluation.data import EvalSample
from semlink.florence import FlorenceBundle, LanguageHalf, TaskRequest, VisionHalf
from semlink.metrics import agreement, attribute_accuracy, cider_bleu, exact_match, mean_average_precision
from semlink.packets.transport import with_overhead
from semlink.pipeline import session_bytes
from semlink.pixels.peer import PixelPeer
from semlink.wire.carry import carry_frames

FEATURES, PIXELS = "features", "pixels"
Sender = Codec | PixelPeer


@dataclass
class EvalResult:
    """One row of an evaluation table."""

    model: str
    codec: str
    task: str
    n: int
    loss: float
    snr_db: float | None
    wire_bytes: float  # per frame: every byte of its datagrams (headers, payloads, checks) + the transport overhead
    payload_bytes: float
    session_bytes: int  # once per stream, on the reliable control plane
    datagrams: float  # per frame
    datagrams_lost: float
    latency_ms: float
    metrics: dict[str, float] = field(default_factory=dict)
    burst: float | None = None  # mean loss burst length (Gilbert-Elliott); None: independent losses
    datagram_overhead: int = 0  # transport bytes per datagram counted in wire_bytes (0: the link as simulated)
    domain: str = FEATURES  # what travels: "features" or "pixels"
    pack: int = 1  # frames packed into each datagram group (semlink.packets.packing); 1: every frame alone
    spread: int = 0  # slots between a frame's (group's) consecutive datagrams (semlink.wire.spread); 0: back to back

    def row(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(out.pop("metrics"))
        return out

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EvalResult:
        """Inverse of :meth:`row` (a line of results.json)."""
        names = {f.name for f in fields(cls)} - {"metrics"}
        return cls(**{k: v for k, v in row.items() if k in names},
                   metrics={k: v for k, v in row.items() if k not in names})

    def point(self) -> tuple:
        """What a row measures, apart from its numbers: sender, task, channel point and transport overhead."""
        return (self.codec, self.task, self.loss, self.snr_db, self.burst, self.datagram_overhead, self.pack,
                self.spread)

    def at_overhead(self, overhead: int) -> EvalResult:
        """The same run with ``overhead`` transport bytes per datagram counted instead."""
        base = self.wire_bytes - self.datagram_overhead * self.datagrams
        return replace(self, wire_bytes=with_overhead(base, self.datagrams, overhead), datagram_overhead=overhead)

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
        model = GilbertElliott.bursts(loss, burst)  # all packets lost in Bad, none in Good
        config = ChannelConfig(loss="gilbert_elliott", ge_p=model.p, ge_r=model.r, ge_h=0.0, ge_k=1.0, snr_db=snr_db,
                               seed=seed)
    else:
        config = ChannelConfig(loss="bernoulli" if loss > 0 else "none", loss_p=loss, snr_db=snr_db, seed=seed)
    return Channel(config)


def _batches(items: Sequence, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def is_pixel_peer(sender: Sender) -> bool:
    return not isinstance(sender, Codec)


def sender_label(codec: Sender) -> str:
    """The row name of a codec or pixel peer: its ``label`` (set by ``load_codec_for``) or ``name``, else its id."""
    if is_pixel_peer(codec):
        return codec.name
    return getattr(codec, "label", None) or codec.codec_id


def run_link(bundle: FlorenceBundle, codec: Sender, samples: Sequence[EvalSample], task: str,
             channel: Channel | None, batch_size: int = 8, progress: bool = True, text: str | None = None,
             pack: int = 1, spread: int = 0):
    """Answers for every sample, per-frame (wire bytes, payload bytes, datagrams, datagrams lost), session bytes.

    With ``pack`` > 1 consecutive frames travel in groups of ``pack`` (a batch holds whole groups); with
    ``spread`` > 0 each frame's (group's) datagrams go out ``spread`` slots apart, interleaved with the other
    frames' of its batch (a batch is the spreading window; its last frames' datagrams go out after it)."""
    if pack > 1 and batch_size % pack:
        raise ValueError(f"a batch of {batch_size} frames does not hold whole groups of {pack}")
    vision, language = VisionHalf(bundle), LanguageHalf(bundle)
    answers, stats = [], []
    label = sender_label(codec)
    bar = tqdm(total=len(samples), desc=f"{label} {task}", unit="frame", disable=not progress, leave=False)
    model_input = bundle.image_size[::-1]  # (width, height)
    pixels = is_pixel_peer(codec)
    session = None if pixels else codec.session(1, samples[0].image.size)
    next_seq = 0
    for batch in _batches(list(samples), batch_size):
        images = [s.image for s in batch]
        seqs = list(range(next_seq, next_seq + len(batch)))
        next_seq += len(batch)
        if pixels:
            delivered = codec.send(images, seqs, channel, model_input, pack, spread)
            features = vision.encode([d.image for d in delivered])
            batch_stats = [(d.wire_bytes, d.payload_bytes, d.datagrams, d.datagrams_lost) for d in delivered]
        else:
            ids = [session.frame_id(seq) for seq in seqs]
            sent = [f.with_image_size(im.size) for f, im in zip(codec.compress(vision.encode(images).float(), ids), images)]
            carried = carry_frames(sent, session, channel, pack, spread)
            features, _ = codec.decompress([c.received for c in carried])
            features = features.to(bundle.device, bundle.dtype)
            batch_stats = [(c.wire_bytes, s.payload_bytes, c.datagrams, len(c.received.lost_indices()))
                           for s, c in zip(sent, carried)]
        requests = [TaskRequest(task, im.size, text) for im in images]
        answers += language.answer(features, requests)
        stats += batch_stats
        bar.update(len(batch))
    bar.close()
    once = codec.session_bytes(model_input) if pixels else session_bytes(session)
    return answers, stats, once


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


def evaluate(bundle: FlorenceBundle, codec: Sender, samples: Sequence[EvalSample], task: str,
             loss: float = 0.0, snr_db: float | None = None, seed: int = 0, burst: float | None = None,
             reference: list | None = None, batch_size: int = 8, progress: bool = True,
             pack: int = 1, spread: int = 0) -> tuple[EvalResult, list]:
    """Evaluate one (sender, task, channel) point; returns the result row (no transport overhead: see
    :meth:`EvalResult.at_overhead`) and the raw answers."""
    channel = channel_for(loss, snr_db, seed, burst)
    start = time.perf_counter()
    with torch.no_grad():
        answers, stats, once = run_link(bundle, codec, samples, task, channel, batch_size, progress, pack=pack,
                                        spread=spread)
    elapsed = (time.perf_counter() - start) * 1000 / max(1, len(samples))
    n = len(samples)
    name = sender_label(codec)
    result = EvalResult(
        model=bundle.name, codec=name, task=task, n=n, loss=loss, snr_db=snr_db,
        wire_bytes=sum(s[0] for s in stats) / n, payload_bytes=sum(s[1] for s in stats) / n, session_bytes=once,
        datagrams=sum(s[2] for s in stats) / n, datagrams_lost=sum(s[3] for s in stats) / n,
        latency_ms=elapsed, metrics=score(task, answers, samples, reference), burst=burst if loss > 0 else None,
        domain=PIXELS if is_pixel_peer(codec) else FEATURES, pack=pack, spread=spread,
    )
    return result, answers
