"""The running receiver: model, codec, store, ingest, batcher, events and the gRPC server, started and stopped as one.

``Receiver.start`` returns at once and boots in the background (loading a model
takes a while); ``ready`` turns true once the model is loaded and gRPC ingest
is up. The methods here raise plain exceptions; the REST layer maps them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch

from semlink.codecs import Codec, CodecError
from semlink.florence import FlorenceBundle
from semlink.receiver import (
    AckOutcome,
    DynamicBatcher,
    EventBus,
    FeatureStore,
    FrameDecoder,
    FrameIngest,
    Overloaded,
    ReceivedFrame,
    TaskJob,
    TaskRunner,
)
from semlink.receiver.ingest import FrameLink
from semlink.packets import MalformedFrame, split_frame_id
from semlink.packets.outcome import AckStatus
from semlink.receiver.stores import FrameStoreError, StoreBounds, open_frame_store
from semlink.receiver.stores.sharing import SharingDecoder
from semlink.runtime import load_codec_for, load_model, load_reference_for
from semlink.link.grpc_channel import secret
from semlink.link.grpc_server import LinkServer
from semlink.security.tls import server_tls
from receiver_service.grpc_ingest import add_feature_link
from receiver_service.metrics import ReceiverMetrics
from receiver_service.schemas import FrameSummary
from receiver_service.settings import ReceiverSettings

log = logging.getLogger(__name__)
SHARED_POLL_S = 0.05  # how often a request waiting for a frame looks in the shared store


class FrameNotFound(LookupError):
    """No decoded features for this frame id: never arrived, rejected, or evicted (the message says which)."""


class NotReady(RuntimeError):
    """The receiver is still loading its model (or failed to)."""


class StoreUnavailable(NotReady):
    """The shared frame store cannot be reached: no answer rather than a guess (503, retry)."""


class TaskFailed(RuntimeError):
    """The model could not answer this request (the requests batched with it were answered without it)."""


@dataclass(frozen=True)
class TaskAnswer:
    """One answered task request and what it cost."""

    frame: ReceivedFrame
    task: str
    result: Any
    latency_ms: float
    queue_ms: float
    compute_ms: float
    batch_size: int


def link_event_fields(link: FrameLink | None) -> dict:
    """A frame event's link facts: codec, bytes, packets lost and corrupted, latency since its first packet."""
    if link is None:  # a message rejected before any frame could be named
        return {}
    return {"codec": link.codec, "wire_bytes": link.wire_bytes, "datagrams": link.datagrams,
            "datagram_overhead": link.datagram_overhead, "packets": link.packets,
            "packets_lost": link.packets_lost, "packets_missing": link.packets_missing,
            "packets_corrupted": link.packets_corrupted, "latency_ms": link.latency_ms,
            "latency_from": "first_packet"}


class Receiver:
    """Everything one receiver runs. ``bundle`` (optional) skips loading the model (tests share one)."""

    def __init__(self, settings: ReceiverSettings, bundle: FlorenceBundle | None = None):
        self.settings = settings
        self.bundle = bundle
        self.codec: Codec | None = None
        self.runner: TaskRunner | None = None
        self.ingest: FrameIngest | None = None
        self.batcher: DynamicBatcher | None = None
        self.metrics = ReceiverMetrics()
        self.store = FeatureStore(settings.store_size, on_evict=lambda _: self.metrics.store_evictions.inc())
        self.shared = open_frame_store(settings.store, StoreBounds(settings.store_ttl_s, settings.store_max_frames,
                                                                   settings.store_max_bytes), settings.store_timeout_s)
        self._decoders: dict[str, FrameDecoder | SharingDecoder] = {}
        self.events = EventBus(max_subscribers=settings.max_event_subscribers)
        self.metrics.event_subscribers.set_function(lambda: self.events.subscribers)
        self.metrics.events_dropped.set_function(lambda: self.events.dropped)
        self.metrics.store_frames.set_function(lambda: len(self.store))
        self.metrics.pending_frames.set_function(lambda: self.ingest.pending if self.ingest else 0)
        self.grpc_server: LinkServer | None = None
        self.grpc_port: int | None = None
        self.failed: str | None = None
        self.on_fatal: Callable[[str], None] | None = None
        self._decode_pool = ThreadPoolExecutor(1, thread_name_prefix="rx-decode")
        self._model_pool = ThreadPoolExecutor(1, thread_name_prefix="rx-generate")
        self._boot_task: asyncio.Task | None = None
        self.started_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        self._background: set[asyncio.Task] = set()

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.grpc_server is not None and self.batcher is not None and self.batcher.running

    def start(self) -> None:
        """Boot in the background on the running loop: load, then serve gRPC."""
        self._boot_task = asyncio.create_task(self._boot(), name="receiver-boot")

    async def stop(self) -> None:
        """Graceful stop: gRPC first (in-flight calls get ``grace_s``), then pending frames, then batches."""
        if self._boot_task is not None and not self._boot_task.done():
            self._boot_task.cancel()
            await asyncio.gather(self._boot_task, return_exceptions=True)
        if self.grpc_server is not None:
            await self.grpc_server.stop(self.settings.grace_s)
        if self.ingest is not None:
            await self.ingest.close()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.batcher is not None:
            await self.batcher.stop()
        self.events.close()
        self._decode_pool.shutdown(wait=False, cancel_futures=True)
        if self.shared is not None:
            self.shared.close()
        self._model_pool.shutdown(wait=False, cancel_futures=True)
        log.info("receiver stopped")

    async def _boot(self) -> None:
        s = self.settings
        try:
            if s.torch_threads:
                torch.set_num_threads(s.torch_threads)
            if self.bundle is None:
                log.info("loading model %s on %s (%s)", s.model, s.device, s.dtype)
                self.bundle = await asyncio.to_thread(load_model, s.model, s.device, s.dtype)
            self.codec = await asyncio.to_thread(load_codec_for, self.bundle, s.codec)
            generate = {"max_new_tokens": s.max_new_tokens} if s.max_new_tokens else {}
            self.runner = TaskRunner(self.bundle, **generate)
            if s.auto_task:
                self.runner.check(s.auto_task, None)
            references = [await asyncio.to_thread(load_reference_for, self.bundle, name)
                          for name in s.reference_codec_names if name != s.codec]
            self.ingest = FrameIngest(
                self.codec, self._decoder(self.codec), self.store,
                deadline_s=s.frame_deadline_ms / 1000, executor=self._decode_pool,
                max_pending=s.max_pending_frames, remember=max(4096, 4 * s.store_size), on_outcome=self._on_frame,
                references=[self._decoder(codec) for codec in references],
            )
            self.batcher = DynamicBatcher(
                self.runner, max_batch=s.max_batch, max_delay_s=s.max_delay_ms / 1000, queue_size=s.queue_size,
                executor=self._model_pool, on_batch=self.metrics.batch_done,
            )
            self.batcher.start()
            self.grpc_server, self.grpc_port = await self._serve_grpc()
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self.failed = f"receiver failed to start: {type(err).__name__}: {err}"
            log.exception(self.failed)
            if self.on_fatal is not None:
                self.on_fatal(self.failed)
            return
        log.info("receiver ready: model %s, codec %s, gRPC on %s:%d", self.bundle.name, self.codec.codec_id,
                 s.host, self.grpc_port)

    async def _serve_grpc(self) -> tuple[LinkServer, int]:
        """FeatureLink with TLS and token as set, grpc.health.v1 following ``ready``, and reflection."""
        s = self.settings
        limit = s.max_grpc_message_bytes
        tls = server_tls(s.tls_cert, s.tls_key, s.tls_ca, s.tls_client_auth)
        server = LinkServer(ready=lambda: self.ready, tls=tls, token=secret(s.grpc_token),
                            options=[("grpc.max_receive_message_length", limit),
                                     ("grpc.max_send_message_length", limit)])
        add_feature_link(server.server, self.ingest, self.metrics)
        port = server.bind(f"{s.host}:{s.grpc_port}", setting="SEMLINK_RX_GRPC_PORT")
        await server.start()
        return server, port

    # --- frames ------------------------------------------------------------------------------
    def _on_frame(self, outcome: AckOutcome, frame: ReceivedFrame | None) -> None:
        self.metrics.frame_finished(outcome, frame)
        link = link_event_fields(outcome.link)
        if frame is None:
            lost = outcome.status is AckStatus.LOST
            why = {"loss": outcome.loss} if lost else {}  # the ack's loss code, a LossReason: "gap" or "corrupted"
            self.events.publish("frame_lost" if lost else "frame_rejected",
                                {"frame_id": outcome.frame_id, "reason": outcome.reason or outcome.status, **why,
                                 "detail": outcome.detail, **link})
            return
        self.events.publish("frame_received", {**FrameSummary.of(frame).model_dump(), **link})
        if self.settings.auto_task:
            first_packet_at = time.monotonic() - outcome.link.latency_ms / 1000 if outcome.link else None
            task = asyncio.create_task(self._auto_task(frame, first_packet_at))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _auto_task(self, frame: ReceivedFrame, first_packet_at: float | None = None) -> None:
        try:
            answer = await self._run(frame, self.settings.auto_task, None, first_packet_at)
        except Exception as err:  # overloaded, or the model failed: the frame is still stored
            log.warning("auto task %s on frame %d skipped: %s", self.settings.auto_task, frame.frame_id, err)
            return
        frame.auto_result = answer.result

    def outcome_of(self, frame_id: int) -> AckStatus | None:
        """How a recently finished frame ended: ok, partial, lost or rejected (None if not known)."""
        return self.ingest.outcome_of(frame_id) if self.ingest is not None else None

    def describe_missing(self, frame_id: int, waited_ms: int) -> str:
        outcome = self.outcome_of(frame_id)
        if outcome is AckStatus.REJECTED:
            return f"frame {frame_id} was rejected as malformed; send it again with a matching codec and model"
        if outcome is AckStatus.LOST:
            return f"frame {frame_id} was lost on the link: none of its packets arrived intact; send it again"
        if outcome is not None:
            return (f"frame {frame_id} was received but has been evicted from the store (it keeps the "
                    f"{self.store.capacity} most recently used frames); send it again")
        number, seq = split_frame_id(frame_id)
        first = self.ingest.first_seq(number) if self.ingest is not None else None
        if first is not None and seq < first and self.shared is None:
            return (f"frame {frame_id} was sent before this receiver started (at {self.started_at}; its session's "
                    f"first frame here is number {first}): it was received before a restart, or by another "
                    "replica, and is gone from this receiver's in-memory store; send it again, or share frames "
                    "over restarts and replicas with SEMLINK_RX_STORE=redis://... (docs/scale-out.md)")
        return (f"frame {frame_id} has not arrived (waited {waited_ms} ms); send it, or pass a larger wait_ms "
                "(up to 10000) to wait for it")

    # --- the shared frame store ---------------------------------------------------------------
    def _decoder(self, codec: Codec) -> FrameDecoder | SharingDecoder:
        """The decoder of ``codec``'s frames; with a shared store it also writes each frame there."""
        decoder = FrameDecoder(codec, self.bundle)
        if self.shared is not None:
            decoder = SharingDecoder(decoder, self.shared)
        self._decoders[codec.codec_id] = decoder
        return decoder

    async def _find(self, frame_id: int, timeout_s: float) -> ReceivedFrame | None:
        """The frame from this replica's decoded LRU, else from the shared store (decoded here), waiting up to
        ``timeout_s`` for it to reach either. Raises ``StoreUnavailable`` when the shared store fails."""
        if self.shared is None:
            return await self.store.wait_for(frame_id, timeout_s)
        deadline = time.monotonic() + timeout_s
        while True:
            frame = self.store.get(frame_id) or await self._fetch_shared(frame_id)
            left = deadline - time.monotonic()
            if frame is not None or left <= 0:
                return frame
            frame = await self.store.wait_for(frame_id, min(left, SHARED_POLL_S))
            if frame is not None:
                return frame

    async def _fetch_shared(self, frame_id: int) -> ReceivedFrame | None:
        try:
            stored = await asyncio.to_thread(self.shared.get, frame_id)
        except FrameStoreError as err:
            raise StoreUnavailable(f"{err}; no replica can answer for frames it did not receive itself until "
                                   "the store is back: retry shortly") from err
        if stored is None:
            return None
        decoder = self._decoders.get(stored.frame.header.codec)
        if decoder is None:
            raise FrameNotFound(f"frame {frame_id} in the shared store was coded with {stored.frame.header.codec!r}, "
                                f"which this receiver does not decode; point replicas of one model and codec at "
                                "one store")
        try:
            frame = await asyncio.get_running_loop().run_in_executor(self._decode_pool, decoder.restore, stored)
        except (CodecError, MalformedFrame) as err:
            raise FrameNotFound(f"frame {frame_id} in the shared store cannot be decoded by this receiver ({err}); "
                                "point replicas of one model and codec at one store") from err
        if self.store.peek(frame_id) is None:
            self.store.put(frame)
        return self.store.get(frame_id)

    # --- tasks -------------------------------------------------------------------------------
    async def ask(self, frame_id: int, task: str, text: str | None, wait_ms: int) -> TaskAnswer:
        """Answer ``task`` on frame ``frame_id``, waiting up to ``wait_ms`` for the frame to arrive.

        Raises ``NotReady``, ``UnknownTask``, ``PromptTooLong``, ``FrameNotFound``, ``Overloaded`` or ``TaskFailed``.
        """
        if not self.ready:
            raise NotReady(self.failed or "the receiver is still loading its model; retry shortly")
        self.runner.check(task, text)
        frame = await self._find(frame_id, wait_ms / 1000)
        if frame is None:
            self.metrics.tasks.labels(task, "not_found").inc()
            raise FrameNotFound(self.describe_missing(frame_id, wait_ms))
        return await self._run(frame, task, text)

    async def _run(self, frame: ReceivedFrame, task: str, text: str | None,
                   first_packet_at: float | None = None) -> TaskAnswer:
        """Answer one task; ``first_packet_at`` (``time.monotonic()``), when known, adds the frame's latency from
        its first packet to this answer to the ``task_done`` event."""
        started = time.perf_counter()
        try:
            result, timing = await self.batcher.submit(TaskJob(frame, task, text))
        except Overloaded:
            self.metrics.tasks.labels(task, "overloaded").inc()
            raise
        except Exception as err:
            self.metrics.tasks.labels(task, "failed").inc()
            raise TaskFailed(f"the model could not answer {task} on frame {frame.frame_id} "
                             f"({type(err).__name__}: {err}); other requests were not affected") from err
        self.metrics.tasks.labels(task, "ok").inc()
        answer = TaskAnswer(frame, task, result, (time.perf_counter() - started) * 1000, timing.queue_s * 1000,
                            timing.compute_s * 1000, timing.batch_size)
        self.events.publish("task_done", {"frame_id": frame.frame_id, "task": task, "text": text, "result": result,
                                          "latency_ms": round(answer.latency_ms, 3),
                                          "batch_size": timing.batch_size, "codec": frame.codec,
                                          "wire_bytes": frame.wire_bytes, "datagrams": frame.datagrams,
                                          "datagram_overhead": frame.datagram_overhead, "packets": frame.packets,
                                          "packets_lost": frame.packets_lost,
                                          "packets_corrupted": frame.packets_corrupted,
                                          **({"frame_latency_ms": round(1000 * (time.monotonic() - first_packet_at), 3)}
                                             if first_packet_at is not None else {})})
        return answer
