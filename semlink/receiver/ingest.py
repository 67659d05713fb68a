"""Frame ingest: every incoming ``FrameMessage`` → validated, reassembled, decoded, stored, and acked.

One :class:`AckOutcome` per message: ``ok`` (all packets), ``partial`` (some lost
or corrupted; the detail counts them), ``rejected`` (the detail says why:
``unknown codec``, ``fingerprint mismatch``, ``malformed``). A message for a
frame that is still pending waits until the frame is finished (complete, or
its deadline passed), so its ack reports the whole frame. A message for a
frame already finished is acked again with that frame's status and a
``duplicate`` detail; its packets are not used. Decoding runs in an executor
thread; the ack goes out once the frame is in the store, so an acked frame can
be asked about at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from semlink.codecs import Codec, CodecError
from semlink.packets import MalformedFrame, UnknownCodec
from semlink.receiver.engine import FrameDecoder
from semlink.receiver.reassembly import Reassembled, Reassembler
from semlink.receiver.store import FeatureStore, ReceivedFrame
from semlink.v1 import semlink_pb2 as pb
from semlink.wire import message_to_frame

log = logging.getLogger(__name__)

OK, PARTIAL, REJECTED = "ok", "partial", "rejected"
DEADLINE_SLACK_S = 0.001  # fire deadline timers just after the deadline, never just before


@dataclass(frozen=True)
class AckOutcome:
    """What the receiver says about one message's frame (mirrors ``semlink.v1.Ack``)."""

    frame_id: int
    status: str
    detail: str = ""
    reason: str = ""  # for rejections: "unknown codec", "fingerprint mismatch", "malformed"
    duplicate: bool = False

    def to_message(self) -> pb.Ack:
        return pb.Ack(frame_id=self.frame_id, status=self.status, detail=self.detail)


OutcomeHook = Callable[[AckOutcome, ReceivedFrame | None], None]


class FrameIngest:
    """Validate, reassemble, decode and store frames; answer each message with an :class:`AckOutcome`.

    ``on_outcome(outcome, frame)`` is called on the event loop once per finished
    frame (``frame`` is ``None`` for a rejection), for metrics and events.
    """

    def __init__(self, codec: Codec, decoder: FrameDecoder, store: FeatureStore, *, deadline_s: float,
                 executor: Executor | None = None, max_pending: int = 1024, remember: int = 4096,
                 on_outcome: OutcomeHook | None = None):
        self.codec = codec
        self.decoder = decoder
        self.store = store
        self.reassembler = Reassembler(deadline_s, max_pending=max_pending)
        self.executor = executor
        self.remember = remember
        self.on_outcome = on_outcome
        self._outcomes: dict[int, asyncio.Future[AckOutcome]] = {}
        self._finished: OrderedDict[int, AckOutcome] = OrderedDict()
        self._tasks: set[asyncio.Task] = set()

    @property
    def pending(self) -> int:
        return len(self.reassembler)

    async def receive(self, msg: pb.FrameMessage) -> AckOutcome:
        """Take one message; return the ack for its frame once that frame is finished (or rejected)."""
        fid = msg.header.frame_id if msg.HasField("header") else 0
        try:
            frame = message_to_frame(msg, known_codecs=(self.codec.codec_id,))
        except UnknownCodec as err:
            return self.reject(fid, "unknown codec", err)
        except MalformedFrame as err:
            return self.reject(fid, "malformed", err)
        try:
            self.codec.check_frame(frame)
        except CodecError as err:
            mismatch = frame.header.fingerprint != self.codec.fingerprint
            return self.reject(fid, "fingerprint mismatch" if mismatch else "malformed", err)

        if (done := self._finished.get(fid)) is not None:
            return _as_duplicate(done)
        outcome = self._outcomes.get(fid)
        if outcome is not None and fid not in self.reassembler:  # being decoded right now
            return _as_duplicate(await asyncio.shield(outcome))
        if outcome is None:
            outcome = self._outcomes[fid] = asyncio.get_running_loop().create_future()
        try:
            finished = self.reassembler.offer(frame)
        except MalformedFrame as err:
            return self.reject(fid, "malformed", err)
        for reassembled in finished:
            self._spawn(self._finish(reassembled))
        if fid in self.reassembler:
            asyncio.get_running_loop().call_later(self.reassembler.deadline_s + DEADLINE_SLACK_S, self._expire)
        return await asyncio.shield(outcome)

    def outcome_of(self, frame_id: int) -> AckOutcome | None:
        """How a recently finished frame ended (``None`` if unknown or long forgotten)."""
        return self._finished.get(frame_id)

    async def close(self) -> None:
        """Finish every pending frame now and wait for their decoding."""
        for reassembled in self.reassembler.flush():
            self._spawn(self._finish(reassembled))
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def reject(self, fid: int, reason: str, err: Exception | str) -> AckOutcome:
        """The ack for a message that cannot be used (also for bytes that are not a message at all)."""
        outcome = AckOutcome(fid, REJECTED, f"{reason}: {err}", reason=reason)
        log.info("frame %d rejected: %s", fid, outcome.detail)
        if self.on_outcome is not None:
            self.on_outcome(outcome, None)
        return outcome

    # --- internals ------------------------------------------------------------------------------
    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _expire(self) -> None:
        for reassembled in self.reassembler.expire():
            self._spawn(self._finish(reassembled))

    async def _finish(self, reassembled: Reassembled) -> None:
        fid = reassembled.frame.header.frame_id
        frame: ReceivedFrame | None = None
        try:
            frame = await asyncio.get_running_loop().run_in_executor(self.executor, self.decoder.decode, reassembled)
        except (CodecError, MalformedFrame) as err:
            outcome = AckOutcome(fid, REJECTED, f"malformed: {err}", reason="malformed")
        except Exception as err:  # a decoder bug must not leave the sender waiting forever
            log.exception("frame %d: decoding failed", fid)
            outcome = AckOutcome(fid, REJECTED, f"malformed: decoding failed ({type(err).__name__}: {err})",
                                 reason="malformed")
        else:
            self.store.put(frame)
            outcome = AckOutcome(fid, frame.status, _loss_detail(frame))
        self._finished[fid] = outcome
        while len(self._finished) > self.remember:
            self._finished.popitem(last=False)
        if self.on_outcome is not None:
            try:
                self.on_outcome(outcome, frame)
            except Exception:
                log.exception("frame %d: on_outcome hook failed", fid)
        future = self._outcomes.pop(fid, None)
        if future is not None and not future.done():
            future.set_result(outcome)


def _loss_detail(frame: ReceivedFrame) -> str:
    if not frame.packets_lost:
        return ""
    return (f"{frame.packets_lost} of {frame.packets} packets lost "
            f"({frame.packets_missing} missing, {frame.packets_corrupted} corrupted)")


def _as_duplicate(outcome: AckOutcome) -> AckOutcome:
    detail = "duplicate: frame already received" + (f"; {outcome.detail}" if outcome.detail else "")
    return AckOutcome(outcome.frame_id, outcome.status, detail, reason=outcome.reason, duplicate=True)
