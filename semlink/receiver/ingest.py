"""Frame ingest: sessions accepted or refused, packets parsed, frames reassembled, decoded, stored and acked once.

A stream opens with a session (:meth:`FrameIngest.open_session`, which answers a
plain :class:`SessionDecision`; the gRPC module makes the reply): refused with a
reason (``malformed``, ``unknown codec``, ``fingerprint mismatch``, ``codec
mismatch``, ``session in use``: it is open on another stream, or its number
belongs to another session id, :mod:`semlink.packets.claims`) or accepted,
giving a :class:`StreamState`; only that stream writes the session's frames. Its
frame messages (:meth:`FrameIngest.receive`) are parsed against the session;
every frame ends with exactly one :class:`AckOutcome` on the stream's ``acks``
queue, an :class:`~semlink.packets.outcome.AckStatus`: ``ok`` (all packets),
``partial`` (some lost or corrupted; the detail counts them), ``lost`` (nothing of
it arrived: a gap in the sequence numbers or reported by the sender, loss ``gap``;
or every packet that came was corrupted, loss ``corrupted``) or ``rejected`` (a
message that cannot be used at all). Nothing here knows protobuf. Packets arriving for a frame already finished are counted late
and dropped: no frame is answered twice. Decoding runs in an executor thread;
the ack goes out once the frame is in the store, so an acked frame can be asked
about at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace

from semlink.codecs import Codec, CodecError
from semlink.packets import WIRE_VERSION, Frame, MalformedFrame, Session, SessionRefused, split_frame_id
from semlink.packets.claims import SessionClaims
from semlink.packets.outcome import AckStatus, LossReason
from semlink.packets.session import session_number
from semlink.packets.transport import MAX_OVERHEAD, with_overhead
from semlink.receiver.engine import FrameDecoder
from semlink.receiver.reassembly import Reassembled, Reassembler
from semlink.receiver.store import FeatureStore, ReceivedFrame
from semlink.wire import lost_frame, parse_packets, wire_bytes

log = logging.getLogger(__name__)

GAP = "no packet arrived (a gap in the session's sequence numbers)"
DEADLINE_SLACK_S = 0.001  # fire deadline timers just after the deadline, never just before
MAX_GAP = 1024  # frames a single jump in sequence numbers may declare missing
CLAIM_AHEAD = 8  # how far past the highest sequence number an unchecked header is trusted to name a frame


@dataclass(frozen=True)
class FrameLink:
    """What the link did to one finished frame, for events: its codec, bytes, packets and latency."""

    codec: str
    wire_bytes: float  # bytes of the datagrams that arrived for it, each with its transport overhead (packed: a share)
    packets: int
    packets_missing: int
    packets_corrupted: int
    latency_ms: float  # from its first packet (or the gap that announced it) to its outcome, on this receiver
    datagrams: float = 0  # datagrams that arrived for it (packed: its share of its group's)
    datagram_overhead: int = 0  # transport bytes counted per datagram (what the link stamped on the frame)

    @property
    def packets_lost(self) -> int:
        return self.packets_missing + self.packets_corrupted


@dataclass(frozen=True)
class AckOutcome:
    """What the receiver says about one frame (the gRPC module sends it as a ``semlink.v2.Ack``; ``link`` stays
    local)."""

    frame_id: int
    status: AckStatus
    detail: str = ""
    reason: str = ""  # for rejections and refusals: "malformed", "unknown codec", ...
    link: FrameLink | None = field(default=None, compare=False)
    loss: LossReason = LossReason.NONE  # for a lost frame: gap or corrupted


@dataclass
class StreamState:
    """One accepted stream: its session, the highest sequence number seen, and where its acks go."""

    session: Session
    acks: asyncio.Queue = field(default_factory=asyncio.Queue)
    highest_seq: int | None = None
    closed: bool = False
    datagram_overhead: int = 0  # the last frame message's: what a frame nothing arrived of is counted with

    def emit(self, outcome: AckOutcome) -> None:
        if not self.closed:
            self.acks.put_nowait(outcome)


@dataclass(frozen=True)
class SessionDecision:
    """A stream's session accepted (``state`` to receive its frames with) or refused with a reason."""

    session_id: int
    state: StreamState | None = None
    reason: str = ""  # when refused: "malformed", "unknown codec", "fingerprint mismatch", ...
    detail: str = ""  # when refused: what to do

    @property
    def accepted(self) -> bool:
        return self.state is not None


OutcomeHook = Callable[[AckOutcome, ReceivedFrame | None], None]


class FrameIngest:
    """Sessions, reassembly, decoding and storing of frames; each frame's outcome goes to its stream once.

    ``on_outcome(outcome, frame)`` is called on the event loop once per finished
    frame (``frame`` is ``None`` unless it was stored), for metrics and events.
    ``references`` decode sessions of other codecs too (a reference such as fp16
    for comparison sends); ``codec`` is the main one.
    """

    def __init__(self, codec: Codec, decoder: FrameDecoder, store: FeatureStore, *, deadline_s: float,
                 executor: Executor | None = None, max_pending: int = 1024, remember: int = 4096,
                 on_outcome: OutcomeHook | None = None, references: Sequence[FrameDecoder] = ()):
        self.codec = codec
        self.decoder = decoder
        self.decoders = {d.codec.codec_id: d for d in references} | {codec.codec_id: decoder}
        self._first_at: dict[int, float] = {}  # pending frame id -> when its first packet (or gap) was seen
        self.store = store
        self.reassembler = Reassembler(deadline_s, max_pending=max_pending)
        self.executor = executor
        self.remember = remember
        self.on_outcome = on_outcome
        self.counts: Counter[str] = Counter()
        self._owner: dict[int, StreamState] = {}  # pending frame id -> the stream its ack goes to
        self._finished: OrderedDict[int, AckStatus] = OrderedDict()
        self._claims: SessionClaims[StreamState] = SessionClaims(remember)
        self._first_seq: OrderedDict[int, int] = OrderedDict()  # session number -> its first seq seen here
        self._tasks: set[asyncio.Task] = set()

    @property
    def pending(self) -> int:
        return len(self.reassembler)

    # --- sessions ------------------------------------------------------------------------------
    def open_session(self, session: Session) -> SessionDecision:
        """Accept or refuse a stream's session (already read from the wire; see :meth:`refuse_session`)."""
        try:
            self._check_session(session)
            state = StreamState(session)
            self._claims.claim(session, state)  # this stream alone writes the session's frames
        except SessionRefused as refusal:
            return self.refuse_session(session.session_id, refusal)
        self.counts["sessions"] += 1
        log.info("session %d accepted: %s codec, %d packets a frame", session.number, session.codec,
                 session.packets_per_frame)
        return SessionDecision(session.session_id, state)

    def refuse_session(self, session_id: int, refusal: SessionRefused) -> SessionDecision:
        """Refuse a session (also one that could not be read at all), counted and logged."""
        self.counts[f"refused: {refusal.reason}"] += 1
        log.info("session %d refused: %s", session_number(session_id), refusal)  # its number: never the secret id
        return SessionDecision(session_id, None, refusal.reason, refusal.detail)

    def _check_session(self, session: Session) -> None:
        if session.version != WIRE_VERSION:
            raise SessionRefused("malformed", f"the sender speaks wire version {session.version}, this receiver "
                                              f"{WIRE_VERSION}; run the same semlink release at both ends")
        decoder = self.decoders.get(session.codec)
        if decoder is None:
            raise SessionRefused("unknown codec", f"the sender codes with {session.codec!r}, this receiver decodes "
                                                  f"{' or '.join(map(repr, self.decoders))}; start both with the "
                                                  "same --codec")
        codec = decoder.codec
        if session.fingerprint != codec.fingerprint:
            raise SessionRefused("fingerprint mismatch", f"the sender's codec is for Florence-2 weights "
                                 f"{session.fingerprint}, this receiver has {codec.fingerprint}; load the same "
                                 "model on both ends")
        try:  # a pixel stream's session is checked against the one this receiver would open at its setting
            ours = (codec.expected_session(session) if hasattr(codec, "expected_session")
                    else codec.session(session.session_id, session.image_size))
        except CodecError as err:
            raise SessionRefused("codec mismatch", f"{err}; run the same semlink release at both ends") from None
        for name in ("domain", "feature_shape", "shape", "dtype", "entropy_coder", "entropy_model", "scale",
                     "offset", "side_info", "check", "stream_header"):
            if getattr(session, name) != getattr(ours, name):
                theirs, own = getattr(session, name), getattr(ours, name)
                if name == "stream_header":
                    theirs, own = f"{len(theirs)} bytes", f"other {len(own)} bytes (what its own encoder writes)"
                raise SessionRefused("codec mismatch", f"session {name} is {theirs!r}, this receiver's codec "
                                     f"has {own!r}; load the same codec checkpoint (or semlink release) on both ends")

    def close_stream(self, state: StreamState) -> None:
        """The stream ended: its frames still finish (and are stored), but their acks go nowhere."""
        state.closed = True
        self._claims.release(state.session, state)

    # --- frames ---------------------------------------------------------------------------------
    def receive(self, state: StreamState, datagrams: Sequence[bytes], datagram_overhead: int = 0) -> None:
        """Take one frame message of ``state``'s stream, whose link counts ``datagram_overhead`` transport bytes
        per datagram (the message's stamp); outcomes follow on ``state.acks``."""
        if datagram_overhead > MAX_OVERHEAD:
            self.reject(state, "malformed", f"datagram_overhead {datagram_overhead} is over {MAX_OVERHEAD} bytes")
            return
        try:
            parsed = parse_packets(datagrams, state.session, state.highest_seq)
        except MalformedFrame as err:
            self.reject(state, "malformed", err)
            return
        state.datagram_overhead = datagram_overhead
        nbytes = with_overhead(wire_bytes(datagrams), len(datagrams), datagram_overhead)
        if parsed.claimed_seq is not None and self._all_corrupted(state, parsed.claimed_seq, parsed.unattributed,
                                                                   nbytes, len(datagrams), datagram_overhead):
            return
        if parsed.unattributed:
            self.counts["packets_unattributed"] += parsed.unattributed
        # a packed group's frames share its message's bytes; those of any other message holding several are nobody's
        shares = len(parsed.frames) if state.session.pack > 1 else 1 if len(parsed.frames) == 1 else 0
        for frame in parsed.frames:
            number, seq = split_frame_id(frame.header.frame_id)
            self._note_first(number, seq)
            self._expect_gap(state, seq - 1)
            fid = frame.header.frame_id
            if fid in self._finished:
                self.counts["late_packets"] += len(frame.packets)
                continue
            self._owner.setdefault(fid, state)
            self._first_at.setdefault(fid, time.monotonic())
            try:
                finished = self.reassembler.offer(frame, nbytes / shares if shares else 0,
                                                  len(datagrams) / shares if shares else 0, datagram_overhead)
            except MalformedFrame as err:
                if fid not in self.reassembler:
                    self._first_at.pop(fid, None)
                self.reject(state, "malformed", err)
                continue
            self._finish_all(finished)
            if fid in self.reassembler:
                self._arm_deadline()
        state.highest_seq = parsed.highest_seq

    def _all_corrupted(self, state: StreamState, seq: int, damaged: int, nbytes: int, datagrams: int,
                       datagram_overhead: int) -> bool:
        """A message none of whose datagrams passed its check: its damage goes to frame ``seq``, the one their
        unchecked headers name, when that is one of the stream's next ``CLAIM_AHEAD`` frames or one already pending
        (a header the channel hit could name any number: never trusted to open a long gap). Whether it was taken."""
        fid = state.session.frame_id(seq)
        if state.highest_seq is None or fid in self._finished or not (
                state.highest_seq < seq <= state.highest_seq + CLAIM_AHEAD or fid in self.reassembler):
            return False
        self._expect_gap(state, seq - 1)
        self._owner.setdefault(fid, state)
        self._first_at.setdefault(fid, time.monotonic())
        try:
            finished = self.reassembler.offer(Frame(lost_frame(state.session, seq).header, (), damaged), nbytes,
                                              datagrams, datagram_overhead)
        except MalformedFrame:  # pending with intact packets under another header (an image size): theirs stand
            return False
        self._finish_all(finished)
        if fid in self.reassembler:
            self._arm_deadline()
        state.highest_seq = max(state.highest_seq, seq)
        return True

    def report(self, state: StreamState, last_frame_id: int) -> None:
        """The sender says it has sent up to ``last_frame_id``: what never showed up is missing."""
        sid, seq = split_frame_id(last_frame_id)
        if sid != state.session.number:
            return
        self._expect_gap(state, seq)
        state.highest_seq = max(seq, state.highest_seq if state.highest_seq is not None else -1)

    def _expect_gap(self, state: StreamState, upto: int) -> None:
        """Frames after the highest seen, up to ``upto``, become pending with nothing received."""
        if state.highest_seq is None:
            return  # the stream's first frame: nothing is known before it
        for seq in range(max(state.highest_seq + 1, upto - MAX_GAP + 1), upto + 1):
            header = lost_frame(state.session, seq).header
            if header.frame_id in self._finished or header.frame_id in self.reassembler:
                continue
            self._owner[header.frame_id] = state
            self._first_at.setdefault(header.frame_id, time.monotonic())
            self._finish_all(self.reassembler.expect(header))
            self._arm_deadline()

    def reject(self, state: StreamState | None, reason: str, err: Exception | str) -> AckOutcome:
        """The ack for a message that cannot be used (also for bytes that are not a message at all); its frame
        is unknown (frame id 0): nothing in it could be trusted to name one."""
        outcome = AckOutcome(0, AckStatus.REJECTED, f"{reason}: {err}", reason=reason)
        log.info("message rejected: %s", outcome.detail)
        self.counts[f"rejected: {reason}"] += 1
        if state is not None:
            state.emit(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome, None)
        return outcome

    def _note_first(self, number: int, seq: int) -> None:
        first = self._first_seq.get(number)
        if first is None or seq < first:
            self._first_seq[number] = seq
            self._first_seq.move_to_end(number)
            while len(self._first_seq) > self.remember:
                self._first_seq.popitem(last=False)

    def first_seq(self, number: int) -> int | None:
        """The lowest sequence number of session ``number`` this receiver has seen (since it started)."""
        return self._first_seq.get(number)

    def outcome_of(self, frame_id: int) -> AckStatus | None:
        """How a recently finished frame ended (``None`` if unknown or long forgotten)."""
        return self._finished.get(frame_id)

    async def close(self) -> None:
        """Finish every pending frame now and wait for their decoding."""
        self._finish_all(self.reassembler.flush())
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- internals ------------------------------------------------------------------------------
    def _arm_deadline(self) -> None:
        asyncio.get_running_loop().call_later(self.reassembler.deadline_s + DEADLINE_SLACK_S, self._expire)

    def _finish_all(self, finished: list[Reassembled]) -> None:
        for reassembled in finished:
            task = asyncio.create_task(self._finish(reassembled))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _expire(self) -> None:
        self._finish_all(self.reassembler.expire())

    async def _finish(self, reassembled: Reassembled) -> None:
        fid = reassembled.frame.header.frame_id
        decoder = self.decoders.get(reassembled.frame.header.codec, self.decoder)
        frame: ReceivedFrame | None = None
        if not reassembled.frame.packets:
            damaged = reassembled.frame.damaged
            outcome = (AckOutcome(fid, AckStatus.LOST, GAP, loss=LossReason.GAP) if not damaged else
                       AckOutcome(fid, AckStatus.LOST, f"all {damaged} packets that arrived were corrupted",
                                  loss=LossReason.CORRUPTED))
        else:
            try:
                frame = await asyncio.get_running_loop().run_in_executor(self.executor, decoder.decode,
                                                                         reassembled)
            except (CodecError, MalformedFrame) as err:
                outcome = AckOutcome(fid, AckStatus.REJECTED, f"malformed: {err}", reason="malformed")
            except Exception as err:  # a decoder bug must not leave the sender waiting forever
                log.exception("frame %d: decoding failed", fid)
                outcome = AckOutcome(fid, AckStatus.REJECTED,
                                     f"malformed: decoding failed ({type(err).__name__}: {err})",
                                     reason="malformed")
            else:
                self.store.put(frame)
                outcome = AckOutcome(fid, AckStatus(frame.status), _loss_detail(frame))
        owner = self._owner.pop(fid, None)
        if not reassembled.datagrams and owner is not None:  # nothing arrived: the stream's link counts it
            reassembled = replace(reassembled, datagram_overhead=owner.datagram_overhead)
        outcome = replace(outcome, link=_link_facts(reassembled, frame, self._first_at.pop(fid, None)))
        self._finished[fid] = outcome.status
        while len(self._finished) > self.remember:
            self._finished.popitem(last=False)
        self.counts[outcome.status] += 1
        if self.on_outcome is not None:
            try:
                self.on_outcome(outcome, frame)
            except Exception:
                log.exception("frame %d: on_outcome hook failed", fid)
        if owner is not None:
            owner.emit(outcome)


def _link_facts(reassembled: Reassembled, frame: ReceivedFrame | None, first_at: float | None) -> FrameLink:
    latency_ms = round(1000 * (time.monotonic() - first_at), 3) if first_at is not None else 0.0
    transport = {"datagrams": reassembled.datagrams, "datagram_overhead": reassembled.datagram_overhead}
    if frame is not None:
        return FrameLink(frame.codec, frame.wire_bytes, frame.packets, frame.packets_missing,
                         frame.packets_corrupted, latency_ms, **transport)
    header = reassembled.frame.header
    packets = header.packet_count + int(header.side_info)
    corrupted = reassembled.frame.damaged
    missing = packets - len(reassembled.frame.packets) - corrupted
    return FrameLink(header.codec, reassembled.wire_bytes, packets, missing, corrupted, latency_ms, **transport)


def _loss_detail(frame: ReceivedFrame) -> str:
    if not frame.packets_lost:
        return ""
    return (f"{frame.packets_lost} of {frame.packets} packets lost "
            f"({frame.packets_missing} missing, {frame.packets_corrupted} corrupted)")
