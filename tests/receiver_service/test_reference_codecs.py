"""The receiver accepts sessions of its reference codecs (fp16, for comparison sends) beside its main codec, and
its events carry each frame's codec, bytes, packets lost and corrupted, and latency."""

from __future__ import annotations

import json

import pytest

from semlink.bench.stream_client import StreamClient
from semlink.runtime import load_codec_for
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import frame_datagrams, session_to_message, wire_bytes

from tests.receiver_service.conftest import IMAGE_SIZE

REFERENCE_SESSION = 12


@pytest.fixture(scope="module")
def fp16(bundle):
    return load_codec_for(bundle, "fp16")


def read_events(lines, wanted: int) -> list[tuple[str, dict]]:
    events = []
    while len(events) < wanted:
        line = next(lines)
        if line.startswith("event:"):
            kind = line.split(":", 1)[1].strip()
            events.append((kind, json.loads(next(lines).split(":", 1)[1])))
    return events


def test_a_reference_session_is_accepted_and_both_frames_are_answered(start_receiver, make_frame, features, fp16):
    reference = fp16.session(REFERENCE_SESSION, IMAGE_SIZE)
    ref_frame = fp16.compress(features[:1], [reference.frame_id(0)])[0]
    main_frame = make_frame(0)
    with start_receiver(reference_codecs="fp16", auto_task="<CAPTION>") as rx:
        with rx.http.stream("GET", "/v1/events", timeout=20) as response:
            lines = response.iter_lines()
            assert next(lines).startswith(":")
            assert rx.send(main_frame, make_frame.session).status == "ok"
            assert rx.send(ref_frame, reference).status == "ok"
            events = read_events(lines, 4)
        answers = {fid: rx.ask(fid).json() for fid in (main_frame.header.frame_id, ref_frame.header.frame_id)}
    received = {data["frame_id"]: data for kind, data in events if kind == "frame_received"}
    tasks = {data["frame_id"]: data for kind, data in events if kind == "task_done"}
    assert set(received) == set(tasks) == set(answers)
    for frame, session in ((main_frame, make_frame.session), (ref_frame, reference)):
        fid, codec = frame.header.frame_id, frame.header.codec
        sent_bytes = wire_bytes(frame_datagrams(frame, session))
        for event in (received[fid], tasks[fid]):
            assert (event["codec"], event["wire_bytes"], event["packets_lost"], event["packets_corrupted"]) == \
                   (codec, sent_bytes, 0, 0)
        assert received[fid]["latency_ms"] >= 0 and received[fid]["latency_from"] == "first_packet"
        assert tasks[fid]["frame_latency_ms"] >= received[fid]["latency_ms"]
        assert answers[fid]["codec"] == codec and isinstance(answers[fid]["result"], str)
    assert {received[f]["codec"] for f in received} == {"q8", "fp16"}


def test_without_reference_codecs_an_fp16_session_is_refused_naming_what_is_decoded(start_receiver, fp16):
    with start_receiver() as rx:
        message = pb.Uplink(session=session_to_message(fp16.session(REFERENCE_SESSION, IMAGE_SIZE)))
        with StreamClient(rx.channel, None, open_with=message) as link:
            reply = link.opened()
    assert not reply.accepted and reply.reason == "unknown codec" and "'q8'" in reply.detail


def test_a_lost_frame_event_counts_its_packets_and_latency(start_receiver, make_frame):
    with start_receiver(frame_deadline_ms=50) as rx:
        with rx.http.stream("GET", "/v1/events", timeout=20) as response:
            lines = response.iter_lines()
            assert next(lines).startswith(":")
            with rx.open(make_frame.session) as link:
                assert link.opened().accepted
                link.send(make_frame(0))
                link.send(make_frame(2))  # frame 1 never arrives: a gap
                assert link.ack(make_frame.session.frame_id(1)).status == "lost"
            events = {(kind, data["frame_id"]): data for kind, data in read_events(lines, 3)}
    lost = events[("frame_lost", make_frame.session.frame_id(1))]
    packets = make_frame(1).total_packets
    assert (lost["codec"], lost["packets"], lost["packets_lost"], lost["packets_corrupted"], lost["wire_bytes"]) == \
           ("q8", packets, packets, 0, 0)
    assert lost["latency_ms"] >= 40  # declared lost at its deadline after the gap announced it


def test_a_frame_whose_every_packet_arrives_corrupted_is_lost_to_corruption_not_a_gap(start_receiver, make_frame):
    """Every datagram of frame 1 fails its check (a payload bit flipped): its unchecked headers name it, it is the
    stream's next frame, so the ack and the frame_lost event say corrupted; a frame nothing arrived of says gap."""
    session = make_frame.session
    corrupted = [data[:-1] + bytes([data[-1] ^ 0x01]) for data in frame_datagrams(make_frame(1), session)]
    with start_receiver(frame_deadline_ms=50) as rx:
        with rx.http.stream("GET", "/v1/events", timeout=20) as response:
            lines = response.iter_lines()
            assert next(lines).startswith(":")
            with rx.open(session) as link:
                assert link.opened().accepted
                link.send(make_frame(0))
                link.send(datagrams=corrupted)
                link.send(make_frame(3))  # frame 2 never arrives: a gap
                acks = [link.ack(session.frame_id(seq)) for seq in (1, 2)]
            events = {(kind, data["frame_id"]): data for kind, data in read_events(lines, 4)}
    assert [(a.status, a.loss) for a in acks] == [("lost", pb.LOSS_CORRUPTED), ("lost", pb.LOSS_GAP)]
    lost = events[("frame_lost", session.frame_id(1))]
    packets = make_frame(1).total_packets
    assert (lost["loss"], lost["packets_corrupted"], lost["packets_missing"]) == ("corrupted", packets, 0)
    assert lost["wire_bytes"] == wire_bytes(corrupted)
    assert events[("frame_lost", session.frame_id(2))]["loss"] == "gap"
