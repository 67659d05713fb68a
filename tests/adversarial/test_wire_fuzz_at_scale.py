"""Wire fuzzing at scale: at least 10,000 hypothesis-made malformed messages through the receiver's and
channel_sim's real parsers per run, each ending in a clean refusal, drop or lost ack — never an unhandled
exception, never a hang, never unbounded memory.

The bulk goes straight to the functions the gRPC servicers call on every incoming message (the receiver's
``semlink.wire.parse_uplink`` (both services read their streams with it), ``message_to_session``, ``parse_packets`` and channel_sim's
``identify_frame`` (which must name the frame ``parse_packets`` names), the codec's decoder,
``FrameIngest``); a few hundred go through the receiver's servicer in-process and through real receiver and
channel_sim servers on 127.0.0.1. Messages are counted as they are driven, and the count is checked at the end
(``test_the_count_is_honest``). tests/packets/test_packet_fuzz.py fuzzes ``depacketize`` on in-memory frames;
tests/adversarial/test_wire_attacks.py has the targeted attacks (a million packets, oversized messages).
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace

import grpc
import pytest
import torch
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channel_sim.main import create_app as channel_app
from channel_sim.settings import ChannelSimSettings
from receiver_service.grpc_ingest import FeatureLinkServicer, session_reply
from receiver_service.metrics import ReceiverMetrics
from semlink.codecs import Codec, CodecError
from semlink.florence import VisionHalf
from semlink.bench.stream_client import StreamClient
from semlink.launch.ports import free_port
from tests.helpers.link import serving
from semlink.packets import MalformedFrame, Session, encode_datagram, split_frame_id
from semlink.packets.datagram import MAX_INDEX, _check_value
from semlink.receiver import FeatureStore, FrameDecoder, FrameIngest
from semlink.receiver.ingest import MAX_GAP, StreamState
from semlink.runtime import load_codec_for, load_model
from semlink.samples import sample_images
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import (
    Unparsable,
    frame_datagrams,
    identify_frame,
    max_datagram_bytes,
    message_to_session,
    parse_packets,
    parse_uplink,
    session_to_message,
)

pytestmark = pytest.mark.timeout(240)

TOTAL_AT_LEAST = 10_000
COUNTS: Counter[str] = Counter()  # malformed messages driven, by entry point
ACK_STATUSES = {"ok", "partial", "lost", "rejected"}
REFUSALS = {"malformed", "unknown codec", "fingerprint mismatch", "codec mismatch", "session in use"}


def fuzz(examples: int):
    """Hypothesis settings for a fuzz target: no per-example deadline (the CPU is shared), fixtures allowed."""
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


# --- the links under attack: a session and real frames of two real codecs ---------------------------------------

@dataclass
class Link:
    """A codec, the session a transmitter opens with it, and the datagrams of a few real frames of that session."""

    codec: Codec
    session: Session
    valid: list[list[bytes]]
    decoder: FrameDecoder

    @property
    def datagrams(self) -> list[bytes]:
        return [d for frame in self.valid for d in frame]


def make_link(bundle, spec: str, session_id: int) -> Link:
    codec = load_codec_for(bundle, spec)
    images = sample_images(2)
    session = codec.session(session_id, images[0].size)
    features = VisionHalf(bundle).encode(images)
    frames = codec.compress(features, [session.frame_id(seq) for seq in range(len(images))])
    return Link(codec, session, [frame_datagrams(f, session) for f in frames], FrameDecoder(codec, bundle))


@pytest.fixture(scope="module")
def links(bundle) -> dict[str, Link]:
    """q8 on tiny-random (crc32, a side packet of per-frame constants, zstd) and shapes-tiny's shipped learned
    codec (crc16, static constants, the range coder): every framing the wire has."""
    torch.set_num_threads(1)
    return {"q8": make_link(bundle, "q8", 21), "learned": make_link(load_model("shapes-tiny", "cpu"), "learned", 22)}


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    print(f"\nwire fuzz: {sum(COUNTS.values())} malformed messages driven: {dict(COUNTS)}")


# --- strategies --------------------------------------------------------------------------------------------------

UINT32 = st.integers(0, 2**32 - 1)
UINT64 = st.integers(0, 2**64 - 1)
SEQ16 = st.integers(0, 8) | st.integers(0, 0xFFFF)


def sealed(body: bytes, check: str) -> bytes:
    """``body`` with a check that passes: what a hostile sender (not the channel) can put on the wire."""
    return body + _check_value(body, check)


def flip(data: bytes, position: int, bit: int) -> bytes:
    if not data:
        return data
    i = position % len(data)
    return data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1:]


def datagrams_of(link: Link) -> st.SearchStrategy[bytes]:
    """One datagram: real, bit-flipped (header, payload or check), truncated, extended, re-sealed with any header
    and payload (so it passes its check and reaches the decoder), random bytes, or over the size bound."""
    s, valid, limit = link.session, link.datagrams, max_datagram_bytes(link.session)
    real = st.sampled_from(valid)
    size = st.none() | st.tuples(st.integers(1, 0xFFFF), st.integers(1, 0xFFFF))
    return st.one_of(
        real,
        st.builds(flip, real, st.integers(0, 10**6), st.integers(0, 7)),
        st.builds(lambda d, k: d[:k % len(d)], real, st.integers(0, 10**6)),
        st.builds(lambda d, junk: d + junk, real, st.binary(min_size=1, max_size=32)),
        st.builds(lambda seq, i, payload, wh: encode_datagram(seq, i, payload, s.check, wh),
                  SEQ16, st.integers(0, MAX_INDEX), st.binary(max_size=min(limit - 16, 160)), size),
        st.builds(lambda first, seq, extra, payload: sealed(struct.pack("<BH", first, seq) + extra + payload, s.check),
                  st.integers(0, 255), SEQ16, st.binary(max_size=6), st.binary(max_size=48)),
        st.binary(max_size=48),
        st.integers(1, 4096).map(lambda n: bytes(limit + n)),
    )


def frame_messages(link: Link) -> st.SearchStrategy[list[bytes]]:
    """The datagrams of one ``FramePackets`` message: any mix (duplicates included), or more than a frame has."""
    n = link.session.packets_per_frame
    return st.lists(datagrams_of(link), max_size=n + 2) | st.integers(n + 1, 4 * n + 64).map(lambda k: [b""] * k)


def session_messages(link: Link) -> st.SearchStrategy[pb.Session]:
    """A session message with any subset of its fields made wrong: other versions, ids, codecs, shapes, dtypes,
    checks, absurd numbers, constants of any length (NaN and infinities too), missing fields."""
    floats = st.lists(st.floats(width=32), max_size=80)
    dims = st.lists(UINT32 | st.integers(0, 70), max_size=5)
    text = st.text(max_size=40) | st.sampled_from(["q8", "learned", "fp16", "raw", "pca", ""])
    changes = st.fixed_dictionaries({}, optional={
        "version": UINT32 | st.integers(0, 3), "session_id": UINT32 | st.sampled_from([0, 1, 2**20 - 1, 2**20]),
        "codec": text, "codec_config": text, "fingerprint": text, "entropy_model": text,
        "entropy_coder": st.sampled_from(["zstd", "range", "", "rans"]) | text,
        "feature_shape": dims, "latent_shape": dims,
        "dtype": st.sampled_from(["uint8", "int8", "float16", "float32", "float64", "object", "S9999", "<u2", ""]),
        "rows_per_packet": UINT32 | st.integers(0, 9), "scale": floats, "offset": floats, "side_info": st.booleans(),
        "check": st.sampled_from(["crc16", "crc32", "", "md5", "crc64"]),
        "image_width": UINT32 | st.integers(0, 70_000), "image_height": UINT32 | st.integers(0, 70_000),
        "clear": st.lists(st.sampled_from(["codec", "fingerprint", "feature_shape", "latent_shape", "dtype",
                                           "rows_per_packet", "check", "version", "session_id"]), max_size=3),
    })

    def build(change: dict) -> pb.Session:
        msg = session_to_message(link.session)
        for name, value in change.items():
            if name == "clear":
                for field in value:
                    msg.ClearField(field)
            elif isinstance(value, list):
                getattr(msg, name)[:] = value
            else:
                setattr(msg, name, value)
        return msg

    return changes.map(build)


def uplink_bytes(links: dict[str, Link]) -> st.SearchStrategy[bytes]:
    """Bytes on the stream: random, real messages mutated (flipped, cut, spliced, merged), hostile sessions,
    frames and absurd sender reports, empty Uplinks."""
    link = links["q8"]
    real = [pb.Uplink(session=session_to_message(link.session)).SerializeToString(),
            *(pb.Uplink(frame=pb.FramePackets(packets=d)).SerializeToString() for d in link.valid),
            pb.Uplink(report=pb.SenderReport(last_frame_id=link.session.frame_id(1))).SerializeToString()]
    reals = st.sampled_from(real)
    return st.one_of(
        st.binary(max_size=256),
        st.builds(flip, reals, st.integers(0, 10**6), st.integers(0, 7)),
        st.builds(lambda d, k: d[:k % len(d)], reals, st.integers(0, 10**6)),
        st.builds(lambda a, b, k: a[:k % len(a)] + b, reals, reals, st.integers(0, 10**6)),
        st.lists(reals, min_size=2, max_size=4).map(b"".join),  # protobuf merges: later fields win or append
        session_messages(link).map(lambda m: pb.Uplink(session=m).SerializeToString()),
        frame_messages(link).map(lambda d: pb.Uplink(frame=pb.FramePackets(packets=d)).SerializeToString()),
        UINT64.map(lambda f: pb.Uplink(report=pb.SenderReport(last_frame_id=f)).SerializeToString()),
        st.just(b""),
    )


# --- invariants ---------------------------------------------------------------------------------------------------

def decode_like_the_receiver(link: Link, frame) -> None:
    """Decode a parsed frame as the receiver's FrameDecoder does: features or CodecError/MalformedFrame (which the
    receiver acks ``rejected``); a packet that does not decode costs its rows, never the call."""
    try:
        features, lost_rows, reports = link.codec.decompress_with_reports([frame])
    except (CodecError, MalformedFrame):
        return
    s = link.session
    assert tuple(features.shape) == (1, *s.feature_shape) and tuple(lost_rows.shape) == (1, s.shape[1])
    report = reports[0]
    assert report.packet_count == s.packets_per_frame
    assert report.decoded_count + report.lost_count + len(report.corrupted) == s.packets_per_frame
    arrived = {p.index for p in frame.packets}
    for index in range(s.packet_count):
        if index not in arrived:
            assert lost_rows[0, index * s.rows_per_packet:(index + 1) * s.rows_per_packet].all()


def check_parsed(link: Link, datagrams: list[bytes], parsed) -> None:
    s = link.session
    intact = 0
    for frame in parsed.frames:
        sid, _ = split_frame_id(frame.header.frame_id)
        indices = [p.index for p in frame.packets]
        assert sid == s.session_id and len(indices) == len(set(indices))
        assert all(0 <= i < s.packets_per_frame for i in indices) and frame.damaged >= 0
        intact += len(indices) + frame.damaged
    assert intact + parsed.unattributed <= len(datagrams)


# --- 1. the bulk: frame messages through parse_packets (receiver), identify_frame (channel_sim), the decoder ------

@pytest.mark.parametrize("name, examples", [("q8", 2500), ("learned", 2500)])
def test_frame_messages_are_parsed_and_decoded_or_refused(links, name, examples, peak_memory):
    link = links[name]
    s, limit = link.session, max_datagram_bytes(link.session)

    @fuzz(examples)
    @given(frame_messages(link), st.none() | st.integers(0, 8) | st.integers(0, 2**33))
    def target(datagrams, highest_seq):
        COUNTS[f"FramePackets/{name}"] += 1
        try:
            parsed = parse_packets(datagrams, s, highest_seq)
        except MalformedFrame as err:  # refused before any datagram is parsed: only for these two reasons
            assert len(datagrams) > s.packets_per_frame or any(len(d) > limit for d in datagrams), err
            with pytest.raises(MalformedFrame):
                identify_frame(datagrams, s, highest_seq)
            return
        # channel_sim's read of the message (headers, one CRC) names the frame the full parse names, or refuses it
        if len(parsed.frames) == 1:
            assert identify_frame(datagrams, s, highest_seq) == (parsed.frames[0].header.frame_id,
                                                                 parsed.highest_seq)
        else:
            with pytest.raises(MalformedFrame):
                identify_frame(datagrams, s, highest_seq)
        check_parsed(link, datagrams, parsed)
        for frame in parsed.frames:
            decode_like_the_receiver(link, frame)

    peak_memory.reset()
    target()
    print(f"{name}: peak memory growth over {examples} frame messages {peak_memory.growth_mb:.1f} MB")
    assert peak_memory.growth_mb < 100  # nothing a message claims is allocated before it is checked


# --- 2. sessions: channel_sim's check and the receiver's accept/refuse -------------------------------------------

def make_ingest(link: Link, **kw) -> FrameIngest:
    return FrameIngest(link.codec, link.decoder, FeatureStore(16), deadline_s=kw.pop("deadline_s", 0.005), **kw)


@pytest.mark.parametrize("name", ["q8", "learned"])
def test_hostile_sessions_are_refused_with_a_reason(links, name):
    link = links[name]
    ingest = make_ingest(link)
    ours = session_to_message(link.session)

    @fuzz(800)
    @given(session_messages(link))
    def target(msg):
        COUNTS[f"Session/{name}"] += 1
        try:
            message_to_session(msg)  # channel_sim's check before it opens a hop
        except MalformedFrame:
            pass
        reply, state = session_reply(ingest, msg)
        assert reply.accepted == (state is not None)
        if state is None:
            assert reply.reason in REFUSALS and reply.detail, reply
            return
        # accepted only what our codec decodes: the same codec, weights, shapes, coder and constants (the session
        # id, image size and rows per packet are the sender's choice; any rows per packet unpacks)
        for field in ("version", "codec", "fingerprint", "entropy_model", "entropy_coder", "feature_shape",
                      "latent_shape", "dtype", "scale", "offset", "side_info", "check"):
            assert getattr(msg, field) == getattr(ours, field), field
        ingest.close_stream(state)

    target()
    assert not ingest._claims  # every accepted stream closed again: nothing held


# --- 3. the receiver's ingest: frames, reports and rejects on an open session, to the last ack ---------------------

async def settle(ingest: FrameIngest, timeout_s: float = 5.0) -> None:
    """Wait until every frame the ingest holds has finished (deadlines are milliseconds here)."""
    deadline = time.monotonic() + timeout_s
    while ingest.pending or ingest._tasks:
        assert time.monotonic() < deadline, f"{ingest.pending} frames still pending after {timeout_s} s: a hang"
        await asyncio.sleep(0.002)


def drain(state: StreamState) -> list:
    acks = []
    while not state.acks.empty():
        acks.append(state.acks.get_nowait())
    return acks


@pytest.fixture(scope="module")
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def operations(link: Link):
    """A stream's messages after its session: frame messages, sender reports (absurd ones too), junk."""
    s = link.session
    report = st.one_of(UINT64, st.integers(0, 2**32 - 1).map(s.frame_id),
                       st.integers(0, 4 * MAX_GAP).map(s.frame_id)).map(lambda f: ("report", f))
    return st.lists(frame_messages(link).map(lambda d: ("frame", d)) | report | st.just(("junk", b"")),
                    min_size=1, max_size=6)


def test_the_receivers_ingest_acks_each_frame_once_and_holds_nothing_after(links, loop):
    link = links["q8"]
    ingest = make_ingest(link, max_pending=64, remember=256)
    session_ids = iter(range(1000, 2**20))

    @fuzz(700)
    @given(operations(link))
    def target(ops):
        COUNTS["ingest"] += len(ops)
        session = replace(link.session, session_id=next(session_ids))
        reply, state = session_reply(ingest, session_to_message(session))
        assert reply.accepted, reply

        async def stream():
            for kind, value in ops:
                if kind == "frame":
                    ingest.receive(state, value)
                elif kind == "report":
                    ingest.report(state, value)
                else:
                    ingest.reject(state, "malformed", "an empty Uplink")
                assert ingest.pending <= 64  # bounded, whatever the sequence numbers claim
            await settle(ingest)

        loop.run_until_complete(asyncio.wait_for(stream(), 10))
        acks = drain(state)
        ingest.close_stream(state)
        assert all(a.status in ACK_STATUSES for a in acks)
        answered = [a.frame_id for a in acks if a.frame_id]
        assert len(answered) == len(set(answered)), "a frame was answered twice"
        assert all(split_frame_id(f)[0] == session.session_id for f in answered), "an ack for another session"
        assert all(a.detail.startswith("malformed:") for a in acks if a.status == "rejected")
        assert not ingest._owner and len(ingest._finished) <= 256

    target()
    assert ingest.counts["ok"] + ingest.counts["partial"] + ingest.counts["lost"] > 0  # not vacuous


# --- 4. the receiver's servicer, in-process: raw bytes as grpc hands them over, one stream per example -------------

class FakeContext:
    def peer(self) -> str:
        return "ipv4:127.0.0.1:0"


def test_the_receivers_servicer_answers_every_stream_cleanly(links, loop):
    link = links["q8"]
    ingest = make_ingest(link)
    servicer = FeatureLinkServicer(ingest, ReceiverMetrics())
    first = st.one_of(st.just(pb.Uplink(session=session_to_message(link.session)).SerializeToString()),
                      session_messages(link).map(lambda m: pb.Uplink(session=m).SerializeToString()),
                      uplink_bytes(links))

    @fuzz(300)
    @given(first, st.lists(uplink_bytes(links), max_size=8))
    def target(opening, rest):
        COUNTS["servicer"] += 1 + len(rest)
        consumed = []

        async def requests():
            for data in [opening, *rest]:
                consumed.append(data)
                yield parse_uplink(data)
            await settle(ingest)  # the stream stays open until its frames are answered

        async def stream():
            return [reply async for reply in servicer.Stream(requests(), FakeContext())]

        replies = loop.run_until_complete(asyncio.wait_for(stream(), 10))
        assert replies and replies[0].WhichOneof("kind") == "session"
        if not replies[0].session.accepted:
            assert len(replies) == 1 and replies[0].session.reason in REFUSALS
            return
        assert len(consumed) == 1 + len(rest), "the stream's reader stopped early: a message raised"
        acks = [r.ack for r in replies[1:]]
        assert all(r.WhichOneof("kind") == "ack" for r in replies[1:])
        assert all(a.status in ACK_STATUSES for a in acks)
        answered = [a.frame_id for a in acks if a.frame_id]
        assert len(answered) == len(set(answered))

    target()
    assert not ingest._claims


# --- 5. raw bytes: the services' one parser takes what protobuf takes, and whatever parses goes through the checks

def test_any_bytes_are_an_uplink_or_refused_by_both_services(links):
    link = links["q8"]

    @fuzz(1500)
    @given(uplink_bytes(links))
    def target(data):
        COUNTS["Uplink bytes"] += 1
        uplink = parse_uplink(data)
        try:
            pb.Uplink.FromString(data)
        except DecodeError:
            assert isinstance(uplink, Unparsable) and uplink.size == len(data) and uplink.error
            return
        assert not isinstance(uplink, Unparsable)
        kind = uplink.WhichOneof("kind")
        if kind == "session":
            try:
                message_to_session(uplink.session)
            except MalformedFrame:
                pass
        elif kind == "frame":
            try:
                parsed = parse_packets(uplink.frame.packets, link.session, None)
            except MalformedFrame:
                return
            check_parsed(link, list(uplink.frame.packets), parsed)
            for frame in parsed.frames:
                decode_like_the_receiver(link, frame)

    target()


# --- 6. a few hundred through real servers: a receiver and channel_sim in front of it, on 127.0.0.1 -------------

class Servers:
    """A receiver (tiny-random, q8) and a channel_sim proxying to it, served by a background thread's event loop."""

    def __init__(self, bundle):
        self.bundle = bundle
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        from receiver_service.main import create_app as receiver_app
        from receiver_service.settings import ReceiverSettings

        self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            app = receiver_app(ReceiverSettings(model="tiny-random", codec="q8", device="cpu", host="127.0.0.1",
                                                grpc_port=0, grace_s=1, frame_deadline_ms=20), bundle=self.bundle)
            async with serving(app) as self.receiver_url:
                self.receiver = app.state.receiver
                for _ in range(1500):
                    if self.receiver.ready or self.receiver.failed:
                        break
                    await asyncio.sleep(0.01)
                assert self.receiver.ready, self.receiver.failed
                self.receiver_target = f"127.0.0.1:{self.receiver.grpc_port}"
                port = free_port()
                proxy = channel_app(ChannelSimSettings(upstream=self.receiver_target, grpc_port=port,
                                                       ack_timeout_s=1, session_timeout_s=5))
                async with serving(proxy):
                    self.channel_target = f"127.0.0.1:{port}"
                    self.ready.set()
                    await self.stop.wait()
        except BaseException as err:  # reported to the test's thread
            self.error = err
            raise
        finally:
            self.ready.set()

    def __enter__(self) -> "Servers":
        self.thread.start()
        assert self.ready.wait(60) and self.error is None, self.error
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(20)
        assert not self.thread.is_alive(), "the servers did not stop within 20 s"


@pytest.fixture(scope="module")
def servers(bundle):
    with Servers(bundle) as running:
        yield running


def acked_messages(messages: list[bytes]) -> int:
    """How many of ``messages`` channel_sim answers: every one but sender reports (one ack per message)."""
    parsed = (parse_uplink(m) for m in messages)
    return sum(1 for m in parsed if isinstance(m, Unparsable) or m.WhichOneof("kind") != "report")


@pytest.mark.parametrize("hop", ["receiver", "channel_sim"])
def test_hostile_streams_through_real_servers(links, servers, hop):
    link = links["q8"]
    target_address = servers.receiver_target if hop == "receiver" else servers.channel_target
    session_ids = iter(range(5000 + 1000 * (hop == "channel_sim"), 2**20))

    @fuzz(20)
    @given(st.lists(uplink_bytes(links), min_size=10, max_size=25))
    def target(messages):
        COUNTS[f"gRPC/{hop}"] += len(messages)
        with grpc.insecure_channel(target_address) as channel:
            hostile = replace(link.session, session_id=next(session_ids))
            with StreamClient(channel, hostile) as client:
                assert client.opened().accepted, client.session_reply
                for data in messages:
                    client.put(data)
                if hop == "channel_sim":  # one ack per message, whatever it held (within its 1 s ack timeout)
                    acks = client.wait_acks(acked_messages(messages), timeout=15)
                    assert len(acks) == acked_messages(messages)
                else:
                    acks = list(client.all_acks)
            assert client.error is None, client.error
            assert all(a.status in ACK_STATUSES for a in acks)
            if hop == "receiver":  # one ack per frame, never two (channel_sim answers per message: a frame sent in
                answered = [a.frame_id for a in acks if a.frame_id]  # two messages gets an ack for each)
                assert len(answered) == len(set(answered)), "a frame was answered twice"
            # and the next stream is served as if nothing happened
            with StreamClient(channel, replace(link.session, session_id=next(session_ids))) as good:
                assert good.opened().accepted
                good.put(pb.Uplink(frame=pb.FramePackets(packets=link.valid[0])))
                assert good.ack(good.session.frame_id(0), timeout=10).status == "ok"
        assert servers.receiver.ingest.pending <= 1024

    target()


# --- the count ----------------------------------------------------------------------------------------------------

COUNTED = {"FramePackets/q8", "FramePackets/learned", "Session/q8", "Session/learned", "ingest", "servicer",
           "Uplink bytes", "gRPC/receiver", "gRPC/channel_sim"}


def test_the_count_is_honest():
    """At least 10,000 malformed messages were driven in this run (skipped when only some targets ran, e.g. -k)."""
    total, missing = sum(COUNTS.values()), COUNTED - set(COUNTS)
    if missing:
        pytest.skip(f"only part of the fuzz ran ({total} messages; not run: {', '.join(sorted(missing))})")
    print(f"\nwire fuzz total: {total} malformed messages ({dict(COUNTS)})")
    assert total >= TOTAL_AT_LEAST, dict(COUNTS)
