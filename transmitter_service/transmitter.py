"""The transmitter's core: a bounded image queue, a micro-batching encoder, and the frame sender.

Images (uploads, the browser's camera, or a source: shapes, folder, video) wait in the
core's :class:`~semlink.batching.DynamicBatcher`, bounded by count and by decoded bytes
(``queue_size``, ``max_queued_bytes``); it takes up to ``max_batch`` of them (waiting at
most ``max_delay_ms`` after the first), runs the vision tower and the codec on the device
in a worker thread, and delivers the frames, in order, to a :class:`~semlink.link.FrameSender`
before it takes the next batch. Each frame has a :class:`FrameRecord`
that follows it from ``queued`` to ``sent`` to ``acked``/``partial``/``lost``.
A thumbnail of each is kept for the last frames; in comparison mode each frame
is also sent with a reference codec (:mod:`transmitter_service.comparison`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from PIL import Image

from semlink.batching import BatchTiming, DynamicBatcher, Overloaded
from semlink.builtin import KNOWS_ONLY_SHAPES
from semlink.florence import VisionHalf
from semlink.link import Delivery, FrameSender, SenderClosed
from semlink.link.packer import PackSender
from semlink.link.spreader import SpreadFrame, SpreadSender
from semlink.link.grpc_channel import LinkSecurity
from semlink.packets import Frame, MalformedFrame
from semlink.packets.outcome import AckStatus, FrameStatus, LossReason
from semlink.packets.session import frame_id_of, new_session_id, session_number, validate_session
from semlink.pipeline import session_bytes
from semlink.runtime import load_codec_for, load_model
from semlink.shapes.likeness import scene_likeness
from transmitter_service.comparison import ComparisonSender
from transmitter_service.images import queued_cost
from transmitter_service.metrics import TransmitterMetrics
from transmitter_service.settings import TransmitterSettings
from transmitter_service.sources.base import SourceFrame
from transmitter_service.sources.opening import SourcePolicy
from transmitter_service.sources.runner import SourceRunner
from transmitter_service.thumbnails import Thumbnails

log = logging.getLogger(__name__)

STOPPED = "transmitter stopped"


class NotReady(RuntimeError):
    """The model and codec are not loaded (yet, or at all: the message says which)."""


class Busy(RuntimeError):
    """The image queue is full; retry after a moment or send slower."""


@dataclass
class FrameRecord:
    """What the transmitter knows about one frame; times are Unix seconds."""

    frame_id: int
    source: str  # upload | camera | shapes | folder | video
    status: FrameStatus = FrameStatus.QUEUED
    reason: str = ""
    queued_at: float = field(default_factory=time.time)
    sent_at: float | None = None
    done_at: float | None = None
    wire_bytes: float = 0  # its datagrams' bytes and datagram_overhead for each (packed: its share of its group's)
    datagrams: float = 0  # packed: its share of its group's
    datagram_overhead: int = 0  # as the link's ack counted it (this transmitter's setting until then)
    payload_bytes: int = 0
    packets: int = 0
    batch_size: int = 0
    source_name: str = ""  # the folder's file name, the shapes scene, the video's time
    codec: str = ""
    truth: dict | None = None  # shapes frames: {caption, objects: [{label, box}]}
    pair_id: int | None = None  # comparison sends: the main codec's frame id, on both records
    twin_id: int | None = None  # comparison sends: the other frame of the pair
    unlike_model_world: bool = False  # a built-in shapes model was given an image unlike a shapes scene
    on_wire: asyncio.Future | None = field(default=None, repr=False)  # True once sent, False if it never was

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "on_wire"}


class Transmitter:
    """Owns the model, the queue, the batcher, the source, the sender, thumbnails and comparison mode."""

    def __init__(self, settings: TransmitterSettings, metrics: TransmitterMetrics | None = None):
        self.settings = settings
        self.metrics = metrics or TransmitterMetrics()
        security = LinkSecurity.of_client(settings)  # towards TARGET, for both streams (frames, reference frames)
        self.sender = FrameSender(
            settings.target,
            queue_size=2 * settings.max_batch,
            ack_timeout_s=settings.ack_timeout_s,
            on_outcome=self._on_outcome,
            name="transmitter",
            security=security,
            datagram_overhead=settings.datagram_overhead,
        )
        # With SPREAD, each frame's datagrams leave SPREAD slots apart, between the other frames' (a loss burst
        # then rarely takes a whole frame); the receiver's frame deadline must cover the wait.
        self.spreader = (SpreadSender(self.sender, settings.spread, settings.spread_slot_ms / 1000)
                         if settings.spread else None)
        self._reference_spreader: SpreadSender | None = None  # the comparison stream's, spread alike
        # With PACK, frames go in groups of PACK, datagram j of a group carrying slice j of each (its session says
        # so); each frame still gets its own ack.
        self.packer = PackSender(self.sender, settings.pack_wait_ms / 1000) if settings.pack > 1 else None
        self._reference_packer: PackSender | None = None  # the comparison stream's, packed alike
        self.ready = False
        self.load_error: str | None = None
        self.counts: Counter[str] = Counter()
        self.losses: Counter[LossReason] = Counter()  # lost frames by the link's loss code (NONE: lost here)
        self.lost_reasons: Counter[str] = Counter()
        self._records: OrderedDict[int, FrameRecord] = OrderedDict()
        # 64 random bits, never shown: what lets this stream (and no one else) write its frame ids, whose
        # prefix is the id's public number (stats and logs show only that).
        self.session_id = new_session_id()
        self._counter = itertools.count()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="encoder")
        self.batcher: DynamicBatcher[tuple[FrameRecord, Image.Image], tuple[Frame, Frame | None]] = DynamicBatcher(
            self._encode_batch, max_batch=settings.max_batch, max_delay_s=settings.max_delay_ms / 1000,
            queue_size=settings.queue_size, max_bytes=settings.max_queued_bytes,
            size_of=lambda job: queued_cost(job[1]), executor=self._executor, on_batch=self._on_batch,
            deliver=self._send_batch)
        self._tasks: list[asyncio.Task] = []
        self._encode_s = 0.0
        self.thumbnails = Thumbnails(settings.thumbnails_kept, settings.thumbnail_size)
        self.sources = SourceRunner(self.feed, max_pixels=settings.max_image_pixels, loop=settings.loop,
                                    policy=SourcePolicy.of(settings.source_schemes, settings.source_hosts),
                                    open_timeout_s=settings.source_open_timeout_s)
        self.comparison = ComparisonSender(settings.target, settings.comparison_reference,
                                           enabled=settings.comparison, ack_timeout_s=settings.ack_timeout_s,
                                           queue_size=2 * settings.max_batch, on_outcome=self._on_outcome,
                                           security=security)

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the sender and load the model in the background; ``ready`` turns True when it is loaded."""
        self.metrics.queue_depth.set_function(lambda: self.batcher.waiting)
        self.metrics.link_connected.set_function(lambda: float(self.sender.connected))
        self.metrics.reconnects.set_function(lambda: self.sender.counts["reconnects"])
        await self.sender.start()
        await self.comparison.set_enabled(self.settings.comparison)
        self._tasks.append(asyncio.create_task(self._load_then_run(), name="transmitter"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sources.stop()
        await self.batcher.stop()  # the images still waiting end lost (transmitter stopped)
        for waiting in (self.spreader, self._reference_spreader, self.packer, self._reference_packer):
            if waiting is not None:
                await waiting.close()  # the datagrams waiting for their slot, the open group, go now
        await self.sender.close(grace_s=1.0)
        for record in list(self._records.values()):  # still in the batcher or the encoder when stopped
            if record.done_at is None:
                self._lose(record, STOPPED)
        stats = self.stats()
        log.info("transmitter stopped: session %d frames %s lost_reasons %s", session_number(self.session_id),
                 json.dumps(stats["frames"]), json.dumps(stats["lost_reasons"]))
        await self.comparison.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _load_then_run(self) -> None:
        loop = asyncio.get_running_loop()
        s = self.settings
        try:
            await loop.run_in_executor(self._executor, self._load)
        except Exception as err:  # a bad model or codec name: stay up, not ready, and say why
            self.load_error = f"{type(err).__name__}: {err}"
            log.error("transmitter cannot start: %s", self.load_error)
            return
        self.batcher.start()
        self.ready = True
        self.metrics.ready.set(1)
        log.info("transmitter ready: model %s, codec %s, streaming to %s", s.model, s.codec, s.target)
        try:
            await self.sources.apply(s.initial_source())
        except (OSError, ValueError) as err:
            self.sources.error = str(err)
            log.error("source disabled: %s", err)

    def _load(self) -> None:
        s = self.settings
        bundle = load_model(s.model, s.device, s.dtype)
        self.codec = load_codec_for(bundle, s.codec)
        if s.pack > 1:  # a codec whose frames cannot be packed says so now, not as a session the receiver refuses
            try:
                validate_session(self._session((0, 0)))
            except MalformedFrame as err:
                raise ValueError(f"pack {s.pack} with codec {s.codec}: {err}") from None
        self.comparison.load(bundle)
        self.vision = VisionHalf(bundle)

    # --- taking images -------------------------------------------------------------------------
    @property
    def queued_bytes(self) -> int:
        """Decoded bytes of the images queued or being encoded."""
        return self.batcher.held_bytes

    def has_room(self, nbytes: int = 0) -> bool:
        """Whether ``nbytes`` more (an image's :func:`queued_cost`) fit now (one image always fits an empty queue)."""
        return self.batcher.has_room(nbytes)

    def reserve(self, nbytes: int) -> int:
        """Hold ``nbytes`` of the byte bound for an upload about to be decoded (its size read from its header), or
        raise :class:`NotReady` / :class:`Busy` at once, before any pixel is decoded. Give it back with
        :meth:`release`, or hand it to :meth:`accept`."""
        if not self.ready:
            raise NotReady(self.not_ready_reason())
        if self.batcher.waiting >= self.settings.queue_size:
            self.counts["queue_full"] += 1
            raise Busy(f"image queue full ({self.settings.queue_size} waiting); retry shortly or send slower")
        if not self.has_room(nbytes):
            self.counts["queue_full"] += 1
            raise Busy(f"image queue full ({self.queued_bytes / 2**20:.1f} MiB of decoded images waiting or being "
                       f"decoded, max_queued_bytes {self.settings.max_queued_bytes / 2**20:.1f} MiB; this one needs "
                       f"{nbytes / 2**20:.1f} MiB); retry shortly or send smaller images")
        return self.batcher.reserve(nbytes)

    def release(self, nbytes: int) -> None:
        """Give back a reservation that was not used (the upload did not decode)."""
        self.batcher.release(nbytes)

    def accept(self, image: Image.Image, source: str = "upload", reserved: int = 0) -> FrameRecord:
        """Queue ``image`` for encoding, or raise :class:`NotReady` / :class:`Busy` at once; ``reserved`` (from
        :meth:`reserve`) becomes the image's own cost once it is queued."""
        if not self.ready:
            raise NotReady(self.not_ready_reason())
        if self.batcher.waiting >= self.settings.queue_size:
            self.counts["queue_full"] += 1
            raise Busy(f"image queue full ({self.settings.queue_size} waiting); retry shortly or send slower")
        if not reserved and not self.has_room(queued_cost(image)):
            self.counts["queue_full"] += 1
            raise Busy(f"image queue full ({self.queued_bytes / 2**20:.1f} MiB of decoded images waiting, "
                       f"max_queued_bytes {self.settings.max_queued_bytes / 2**20:.1f} MiB); retry shortly or "
                       "send smaller images")
        record = self._new_record(source)
        self._put(record, image, reserved)
        return record

    def _put(self, record: FrameRecord, image: Image.Image, reserved: int = 0) -> None:
        try:
            encoded = self.batcher.enqueue((record, image), reserved=reserved)
        except Overloaded as err:  # stopping: the batcher is no longer running
            self._lose(record, str(err))
            return
        encoded.add_done_callback(lambda future: self._encode_failed(record, future))

    def _encode_failed(self, record: FrameRecord, encoded: asyncio.Future) -> None:
        """``record`` ends lost if its image could not be encoded (alone: a failed batch is retried one by one),
        or if the transmitter stopped before it was."""
        if encoded.cancelled() or (err := encoded.exception()) is None or record.done_at is not None:
            return
        self._lose(record, STOPPED if isinstance(err, Overloaded) else f"encode failed: {type(err).__name__}: {err}")

    def not_ready_reason(self) -> str:
        if self.load_error:
            return f"model/codec failed to load: {self.load_error}"
        return f"loading model {self.settings.model} and codec {self.settings.codec}; retry in a few seconds"

    async def wait_on_wire(self, record: FrameRecord, timeout_s: float) -> FrameRecord:
        """Wait until ``record``'s frame is on the stream (or lost, or ``timeout_s`` passes); returns it."""
        try:
            await asyncio.wait_for(asyncio.shield(record.on_wire), timeout_s)
        except TimeoutError:
            pass
        return record

    def frame(self, frame_id: int) -> FrameRecord | None:
        return self._records.get(frame_id)

    def _new_record(self, source: str, frame_id: int | None = None, **facts) -> FrameRecord:
        reference = frame_id is not None
        frame_id = frame_id_of(self.session_id, next(self._counter)) if frame_id is None else frame_id
        record = FrameRecord(frame_id, source, codec=self.codec.codec_id, **facts)  # as the receiver names it
        record.on_wire = asyncio.get_running_loop().create_future()
        self._records[record.frame_id] = record
        while len(self._records) > self.settings.frames_kept:
            self._records.popitem(last=False)
        if reference:
            self.comparison.counts["accepted"] += 1
            return record
        self.counts["accepted"] += 1
        self.metrics.frames.labels("accepted").inc()
        return record

    async def feed(self, frame: SourceFrame) -> None:
        """Queue a source's frame, waiting for room (a source slows down; it never drops its own frames)."""
        nbytes = queued_cost(frame.image)
        while not self.has_room(nbytes):
            await asyncio.sleep(0.05)
        self._put(self._new_record(frame.kind, source_name=frame.name, truth=frame.truth), frame.image)

    # --- encoding and sending ------------------------------------------------------------------
    def _encode_batch(self, batch: list[tuple[FrameRecord, Image.Image]]) -> list[tuple[Frame, Frame | None]]:
        """The batcher's ``run_batch`` (in the encoder thread): each image's frame and its reference twin, if any."""
        if self.settings.model in KNOWS_ONLY_SHAPES:  # its answer to anything else means little: say so
            for record, image in batch:
                if record.source != "shapes":
                    record.unlike_model_world = not scene_likeness(image).looks_like_shapes
        frames, references = self._encode([image for _, image in batch], [record.frame_id for record, _ in batch])
        return list(zip(frames, references or [None] * len(frames)))

    def _on_batch(self, timings: list[BatchTiming]) -> None:
        elapsed = timings[0].compute_s
        self._encode_s += elapsed
        self.counts["batches"] += 1
        self.counts["encoded"] += len(timings)
        self.metrics.encode_seconds.observe(elapsed)
        self.metrics.batch_size.observe(len(timings))

    def _encode(self, images: list[Image.Image], frame_ids: list[int]) -> tuple[list[Frame], list[Frame]]:
        """Images → frames, and reference frames when comparing; each carries its image's original size (the
        receiver scales boxes with it; the packets carry it only when it differs from the session's). Each
        image's thumbnail is made here too, off the event loop."""
        features = self.vision.encode(images)
        frames = self.codec.compress(features, frame_ids)
        for frame_id, image in zip(frame_ids, images):
            self.thumbnails.add(frame_id, image)
        references = []
        if self.comparison.enabled:
            try:
                references = self.comparison.compress(images, features)
            except Exception:  # the reference is a side show: its failure must not cost the frames themselves
                log.exception("comparison: coding %d reference frames with %s failed", len(images),
                              self.comparison.reference)
        return [frame.with_image_size(image.size) for frame, image in zip(frames, images)], references

    async def _send_batch(self, batch: list[tuple[FrameRecord, Image.Image]],
                          encoded: list[tuple[Frame, Frame | None]]) -> None:
        """The batcher's ``deliver``: the batch's frames onto the stream in order, then their reference twins."""
        records = [record for record, _ in batch]
        frames = [frame for frame, _ in encoded]
        references = [reference for _, reference in encoded if reference is not None]
        if self.sender.session is None:
            # The stream's session opens with the first frame's image size: a camera's frames then carry none
            # (a frame of another size carries its own, 4 bytes a packet).
            self.sender.set_session(self._session(batch[0][1].size))
        for record, frame in zip(records, frames):
            record.payload_bytes = frame.payload_bytes
            record.packets = frame.total_packets
            record.batch_size = len(batch)
            await self._send(record, frame, self.packer or self.spreader or self.sender)
        if references:
            await self._send_references(records, references, batch[0][1].size)

    async def _send_references(self, records: list[FrameRecord], frames: list[Frame],
                               image_size: tuple[int, int]) -> None:
        """Comparison mode: each frame's reference twin on the reference stream, records linked by ``pair_id``."""
        self.comparison.open_session(image_size, self.settings.pack)
        # the same link: its per-datagram overhead as the main stream last heard it (a new reference's sender too)
        self.comparison.sender.datagram_overhead = self.sender.datagram_overhead
        for main, frame in zip(records, frames):
            if not self.comparison.is_current(frame.header.frame_id):
                continue  # coded just before the reference changed: its stream is gone
            record = self._new_record(main.source, frame.header.frame_id, source_name=main.source_name,
                                      truth=main.truth, pair_id=main.frame_id, twin_id=main.frame_id,
                                      unlike_model_world=main.unlike_model_world)
            record.codec, main.pair_id, main.twin_id = self.comparison.reference, main.frame_id, record.frame_id
            record.payload_bytes, record.packets, record.batch_size = (frame.payload_bytes, frame.total_packets,
                                                                       main.batch_size)
            if (jpeg := self.thumbnails.get(main.frame_id)) is not None:
                self.thumbnails.alias(record.frame_id, jpeg)
            await self._send(record, frame, self._reference_way())

    def _session(self, image_size: tuple[int, int]):
        """The stream's session: the codec's, packing PACK frames a group when PACK > 1."""
        session = self.codec.session(self.session_id, image_size)
        return replace(session, pack=self.settings.pack) if self.settings.pack > 1 else session

    async def _send(self, record: FrameRecord, frame: Frame, way: FrameSender | SpreadSender | PackSender) -> None:
        """``frame`` onto the stream ``way`` sends it: alone, spread, or in a packed group (whose frames learn their
        bytes when the group goes)."""
        try:
            if isinstance(way, PackSender):
                grouped = await way.submit(frame)
                grouped.add_done_callback(lambda fut, r=record: self._on_grouped(r, fut))
                return
            delivery = await way.submit(frame)
        except (SenderClosed, ValueError) as err:
            self._lose(record, str(err))
            return
        self._on_stream(record, delivery)

    def _on_grouped(self, record: FrameRecord, grouped: asyncio.Future) -> None:
        if grouped.cancelled() or grouped.exception() is not None:
            self._lose(record, STOPPED if grouped.cancelled() else str(grouped.exception()))
        else:
            self._on_stream(record, grouped.result())

    def _on_stream(self, record: FrameRecord, delivery: Delivery | SpreadFrame) -> None:
        """``record``'s frame is queued on the stream as ``delivery``: its bytes (its share of a group's), and word
        of when it is on the wire."""
        record.wire_bytes, record.datagrams = delivery.nbytes, delivery.datagrams
        record.datagram_overhead = delivery.datagram_overhead
        delivery.sent.add_done_callback(lambda fut, r=record: self._on_sent(r, fut.result()))

    def _reference_way(self) -> FrameSender | SpreadSender | PackSender:
        """How reference frames go: spread or packed as the main stream's (a fair comparison), on the comparison's
        current sender (a new reference brings a new one)."""
        sender = self.comparison.sender
        if self.packer is not None and sender.session is not None and sender.session.pack > 1:
            if self._reference_packer is None or self._reference_packer.sender is not sender:
                self._reference_packer = PackSender(sender, self.packer.wait_s)
            return self._reference_packer
        if self.spreader is None:
            return sender
        if self._reference_spreader is None or self._reference_spreader.sender is not sender:
            self._reference_spreader = SpreadSender(sender, self.spreader.spread, self.spreader.slot_s)
        return self._reference_spreader

    def _on_sent(self, record: FrameRecord, on_wire: bool) -> None:
        if on_wire:
            record.sent_at = record.sent_at or time.time()
            if record.status is FrameStatus.QUEUED:
                record.status = FrameStatus.SENT
        if on_wire and self.comparison.owns(record.frame_id):
            self.comparison.counts[FrameStatus.SENT] += 1
        elif on_wire:
            self.counts[FrameStatus.SENT] += 1
            self.metrics.frames.labels(FrameStatus.SENT).inc()
            self.metrics.payload_bytes.inc(record.payload_bytes)
        if not record.on_wire.done():
            record.on_wire.set_result(on_wire)

    def _on_outcome(self, delivery: Delivery) -> None:
        outcome = delivery.outcome.result()
        record = self._records.get(delivery.frame_id)
        if record is None or record.status.final:  # evicted already; or spread, and its first message's word came
            return
        if delivery.sent_at is not None and record.sent_at is None:
            record.sent_at = time.time()
        if outcome.datagram_overhead is not None:  # the link's figure, which a channel_sim on the way decides
            record.wire_bytes += (outcome.datagram_overhead - record.datagram_overhead) * record.datagrams
            record.datagram_overhead = outcome.datagram_overhead
        if delivery.sent_at is not None and not self.comparison.owns(record.frame_id):
            self.metrics.wire_bytes.inc(record.wire_bytes)  # once its overhead is known: as the records say
            self.metrics.datagrams.inc(record.datagrams)
        if outcome.status is AckStatus.OK:
            self._finish(record, FrameStatus.ACKED, "")
        elif outcome.status is AckStatus.PARTIAL:
            self._finish(record, FrameStatus.PARTIAL, outcome.detail)
        elif outcome.status is AckStatus.REJECTED:
            self._finish(record, FrameStatus.LOST, f"rejected: {outcome.detail}")
        else:
            self._finish(record, FrameStatus.LOST, outcome.detail, outcome.loss)
        if (record.sent_at is not None and outcome.status is not AckStatus.LOST
                and not self.comparison.owns(record.frame_id)):
            self.metrics.ack_seconds.observe(max(0.0, record.done_at - record.sent_at))

    def _lose(self, record: FrameRecord, reason: str) -> None:
        self._finish(record, FrameStatus.LOST, reason)
        if not record.on_wire.done():
            record.on_wire.set_result(False)

    def _finish(self, record: FrameRecord, status: FrameStatus, reason: str,
                loss: LossReason = LossReason.NONE) -> None:
        """``record`` ends ``status``; a lost one is counted by its link's loss code (``loss``, none for a loss of
        this transmitter's own: stopped, encode failed, rejected) and, for people, by its reason's first words."""
        record.status, record.reason, record.done_at = status, reason, time.time()
        if self.comparison.owns(record.frame_id):
            self.comparison.counts[status] += 1
            return
        self.counts[status] += 1
        self.metrics.frames.labels(status).inc()
        if status is FrameStatus.LOST:
            self.losses[loss] += 1
            self.lost_reasons[reason.split(":")[0]] += 1

    # --- reporting -----------------------------------------------------------------------------
    def stats(self) -> dict:
        c = self.counts
        batches = c["batches"]
        return {
            "model": self.settings.model,
            "codec": self.settings.codec,
            "ready": self.ready,
            "load_error": self.load_error,
            "session": {"id": session_number(self.session_id), "open": self.sender.session_open,
                        "refused": self.sender.refusal,
                        "bytes": session_bytes(self.sender.session) if self.sender.session else None},
            "queue_depth": self.batcher.waiting,
            "queue_size": self.settings.queue_size,
            "queued_bytes": self.queued_bytes,
            "frames": {k: c[k] for k in ("accepted", FrameStatus.SENT, FrameStatus.ACKED, FrameStatus.PARTIAL,
                                          FrameStatus.LOST)},
            "lost_reasons": dict(self.lost_reasons),  # for people: the reason texts' first words
            "losses": {(loss.value or "transmitter"): n for loss, n in self.losses.items()},  # for programs
            "uploads_refused": {k: c[k] for k in ("queue_full", "too_large", "not_image", "corrupt_image")},
            "batches": batches,
            "mean_batch_size": c["encoded"] / batches if batches else 0.0,
            "mean_encode_ms": 1000 * self._encode_s / batches if batches else 0.0,
            "link": self.sender.stats(),
            "spread": ({"slots": self.spreader.spread, "slot_ms": self.settings.spread_slot_ms,
                        "waiting": self.spreader.waiting, **self.spreader.counts}
                       if self.spreader is not None else {"slots": 0}),
            "pack": ({"size": self.settings.pack, "wait_ms": self.settings.pack_wait_ms,
                      "waiting": self.packer.waiting, **self.packer.counts}
                     if self.packer is not None else {"size": 1}),
            "source": self.sources.describe(),
            "thumbnails": {"kept": len(self.thumbnails), "capacity": self.thumbnails.capacity},
            "comparison": self.comparison.stats(),
        }

