"""Frames streamed over real gRPC are acked once, decoded and answered over real HTTP as the in-process link does."""

from __future__ import annotations

import json
import socket
from dataclasses import replace

import pytest

from semlink.florence import VisionHalf
from semlink.bench.stream_client import StreamClient
from semlink.pipeline import InProcessLink
from semlink.receiver.ingest import GAP
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import frame_datagrams, wire_bytes

pytestmark = pytest.mark.timeout(30)


def test_answers_match_the_in_process_pipeline_frame_by_frame(rx, bundle, codec, images, make_frame):
    """Like with like: both paths see the same batch composition at every step.

    The in-process link encodes, decodes and answers one image at a time, so the frame sent to the receiver is
    coded from features the vision tower computed for that image alone (not sliced out of a batch of four:
    on some x86 CPUs a batch of four differs from a batch of one by ~4e-5, enough to flip a random model's
    boxes), and the receiver decodes it alone and answers each request in a batch of one (checked below).
    """
    vision, session = VisionHalf(bundle), make_frame.session
    for i, image in enumerate(images):
        assert image.size == session.image_size
        link = InProcessLink(bundle, codec)
        link.session = session  # the same framing as the stream below
        features = vision.encode([image])  # a batch of one, exactly as link.run([image]) encodes it
        for task in ("<CAPTION>", "<OD>"):
            expected = link.run([image], task)[0]
            seq = 100 + 2 * i + (task == "<OD>")
            frame = codec.compress(features, [session.frame_id(seq)])[0].with_image_size(image.size)
            ack = rx.send(frame, session)
            assert (ack.frame_id, ack.status, ack.detail) == (frame.header.frame_id, "ok", "")
            calls, requests = rx.metric("semlink_rx_batch_size_count"), rx.metric("semlink_rx_batch_size_sum")
            body = rx.ask(frame.header.frame_id, task).json()
            # the receiver answered it in a model call of its own: a batch of one, as link.run([image]) answers
            assert (rx.metric("semlink_rx_batch_size_count"), rx.metric("semlink_rx_batch_size_sum")) == (
                calls + 1, requests + 1)
            assert body["result"] == expected.result, task
            assert body["frame_id"] == frame.header.frame_id and body["task"] == task
            assert (body["model"], body["codec"]) == ("tiny-random", "q8")
            assert (body["wire_bytes"], body["payload_bytes"], body["packets"], body["packets_lost"]) == (
                expected.wire_bytes, expected.payload_bytes, expected.packets, 0)
            assert body["wire_bytes"] == wire_bytes(frame_datagrams(frame, session))
            assert body["latency_ms"] > 0


def test_one_transmission_many_questions(rx, make_frame):
    frame = make_frame(200)
    rx.send(frame, make_frame.session)
    fid = frame.header.frame_id
    answers = [rx.ask(fid, task) for task in ("<CAPTION>", "<DETAILED_CAPTION>", "<OD>", "<CAPTION>")]
    assert [a.status_code for a in answers] == [200] * 4
    assert answers[0].json()["result"] == answers[3].json()["result"]
    assert rx.metric("semlink_rx_frames_total", outcome="ok", reason="none") >= 1


def test_dropped_packets_give_a_partial_ack_and_still_an_answer(rx, make_frame):
    frame = make_frame(300)
    lossy = frame.with_packets(p for p in frame.packets if p.index != 1)
    ack = rx.send(lossy, make_frame.session)
    n = frame.total_packets
    assert ack.status == "partial" and f"1 of {n} packets lost (1 missing, 0 corrupted)" in ack.detail
    fid = frame.header.frame_id
    response = rx.ask(fid, "<CAPTION>")
    assert response.status_code == 200, response.text
    assert response.json()["packets_lost"] == 1
    detail = rx.http.get(f"/v1/frames/{fid}").json()
    assert (detail["status"], detail["packets_missing"], detail["lost_rows"]) == ("partial", 1, [1])


def test_a_corrupted_datagram_is_an_erasure_header_and_all(rx, make_frame):
    session = make_frame.session
    frame = make_frame(310)
    datagrams = frame_datagrams(frame, session)
    datagrams[2] = bytes([datagrams[2][0] ^ 0x01]) + datagrams[2][1:]  # a bit of the header: the index
    with rx.open(session) as link:
        link.send(datagrams=datagrams)
        ack = link.ack(frame.header.frame_id)
    assert ack.status == "partial" and "(0 missing, 1 corrupted)" in ack.detail
    assert rx.ask(frame.header.frame_id).json()["packets_lost"] == 1


def test_a_frame_split_over_messages_is_merged_and_answered_once(rx, make_frame):
    session = make_frame.session
    frame = make_frame(320)
    first, second = frame.with_packets(frame.packets[:2]), frame.with_packets(frame.packets[2:])
    with rx.open(session) as link:
        link.send(first)
        link.send(second)
        assert link.ack(frame.header.frame_id).status == "ok"
        link.send(frame)  # a duplicate of a finished frame: late packets, no second answer
        after = make_frame(321)
        link.send(after)
        assert link.ack(after.header.frame_id).status == "ok"
        assert len(link.acks[frame.header.frame_id]) == 1
    assert rx.http.get(f"/v1/frames/{frame.header.frame_id}").json()["messages"] == 2
    assert rx.receiver.ingest.counts["late_packets"] >= frame.total_packets


def test_a_stream_acks_every_frame(rx, make_frame):
    frames = [make_frame(330 + i, image=i % 4) for i in range(6)]
    frames[3] = frames[3].with_packets(frames[3].packets[:-2])
    with rx.open(make_frame.session) as link:
        for f in frames:
            link.send(f)
        acks = {a.frame_id: a.status for a in link.wait_acks(6)}
    assert acks == {f.header.frame_id: "partial" if i == 3 else "ok" for i, f in enumerate(frames)}


def test_a_sequence_gap_and_a_report_end_unseen_frames_lost(rx, make_frame):
    """Frames none of whose packets arrived are known from the gap (or the sender's report) and acked lost."""
    session = make_frame.session
    with rx.open(session) as link:
        link.send(make_frame(400))
        link.send(make_frame(403))  # 401 and 402 lost every packet
        link.report(session.frame_id(405))  # 404 and 405 too, after the last frame that arrived
        for seq in (401, 402, 404, 405):
            ack = link.ack(session.frame_id(seq))
            assert (ack.status, ack.detail) == ("lost", GAP)
        assert link.ack(session.frame_id(403)).status == "ok"
    assert rx.ask(session.frame_id(402), wait_ms=0).status_code == 404
    assert "lost on the link" in rx.ask(session.frame_id(402), wait_ms=0).json()["detail"]


@pytest.mark.parametrize("seq, change, reason", [
    (501, dict(codec="jpeg2000"), "unknown codec"),  # one no receiver decodes (fp16 may be a reference)
    (502, dict(fingerprint="0123456789abcdef"), "fingerprint mismatch"),
    (503, dict(check="crc16"), "codec mismatch"),
    (504, dict(version=1), "malformed"),
    (505, dict(rows_per_packet=0), "malformed"),
])
def test_bad_sessions_are_refused_with_the_reason_and_the_server_stays_up(rx, make_frame, seq, change, reason):
    session = replace(make_frame.session, **change)
    with StreamClient(rx.channel, None, open_with=pb.Uplink(session=_unchecked(session))) as link:
        reply = link.opened()
    assert not reply.accepted and reply.reason == reason, reply
    assert rx.metric("semlink_rx_sessions_total", outcome=reason) >= 1
    assert rx.send(make_frame(seq), make_frame.session).status == "ok"


def _unchecked(session) -> pb.Session:
    """The session message as a careless or hostile sender would build it (no validation)."""
    width, height = session.image_size
    return pb.Session(version=session.version, session_id=session.session_id, codec=session.codec,
                      codec_config=session.codec_config, fingerprint=session.fingerprint,
                      entropy_model=session.entropy_model, entropy_coder=session.entropy_coder,
                      feature_shape=session.feature_shape, latent_shape=session.shape, dtype=session.dtype,
                      rows_per_packet=session.rows_per_packet, side_info=session.side_info, check=session.check,
                      image_width=width, image_height=height)


def test_a_stream_must_open_with_a_session(rx, make_frame):
    frame = make_frame(600)
    datagrams = frame_datagrams(frame, make_frame.session)
    with StreamClient(rx.channel, None, open_with=pb.Uplink(frame=pb.FramePackets(packets=datagrams))) as link:
        reply = link.opened()
    assert not reply.accepted and reply.reason == "malformed" and "open with a Session" in reply.detail


def test_garbage_on_the_grpc_port_does_not_hurt(rx, make_frame):
    host, port = rx.grpc_target.split(":")
    for junk in (b"\x00\xff" * 512, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(junk)
            try:
                conn.recv(1024)
            except OSError:
                pass
    # Bytes that are not an Uplink get a rejected ack, and the stream goes on.
    with rx.open(make_frame.session) as link:
        link.put(b"\x0a\xff\xff\xff\xff\x0f")
        good = make_frame(701)
        link.send(good)
        assert link.ack(good.header.frame_id).status == "ok"
        [junk] = link.acks[0]
    assert junk.status == "rejected" and junk.detail.startswith("malformed:")
    assert rx.http.get("/health/ready").status_code == 200


def test_events_report_frames_and_tasks(rx, make_frame):
    with rx.http.stream("GET", "/v1/events", timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines).startswith(":")  # subscribed: events from now on reach us
        frame = make_frame(800)
        fid = frame.header.frame_id
        rx.send(frame, make_frame.session)
        assert rx.ask(fid).status_code == 200
        events = []
        while len(events) < 2:
            line = next(lines)
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
                data = json.loads(next(lines).split(":", 1)[1])
                events.append((kind, data))
    assert events[0][0] == "frame_received" and events[0][1]["frame_id"] == fid
    assert events[0][1]["wire_bytes"] == wire_bytes(frame_datagrams(frame, make_frame.session))
    assert events[1][0] == "task_done" and events[1][1]["frame_id"] == fid and events[1][1]["task"] == "<CAPTION>"


def test_listing_and_health(rx, make_frame):
    frame = make_frame(900)
    rx.send(frame, make_frame.session)
    frames = rx.http.get("/v1/frames", params={"limit": 5}).json()
    assert frames[0]["frame_id"] == frame.header.frame_id
    assert set(frames[0]) == {"frame_id", "codec", "status", "wire_bytes", "datagrams", "datagram_overhead",
                              "payload_bytes", "packets", "packets_lost", "age_s"}
    assert rx.http.get("/health/live").json()["status"] == "live"
    assert rx.http.get("/health/ready").json()["status"] == "ready"
    metrics = rx.http.get("/metrics").text
    for name in ("semlink_rx_task_queue_seconds", "semlink_rx_task_compute_seconds", "semlink_rx_batch_size",
                 "semlink_rx_frames_total", "semlink_rx_wire_bytes_total", "semlink_rx_sessions_total"):
        assert name in metrics
    assert "/v1/frames/{frame_id}/tasks" in rx.http.get("/openapi.json").json()["paths"]


def test_the_links_datagram_overhead_is_counted_per_datagram_in_answers_acks_and_events(rx, make_frame):
    session = make_frame.session
    frame, after_gap = make_frame(1000), make_frame(1002)  # 1001 never arrives: lost, counted at the stream's 40
    datagrams = frame_datagrams(frame, session)
    bare, n = wire_bytes(datagrams), len(datagrams)
    stamped = pb.Uplink(frame=pb.FramePackets(packets=datagrams, datagram_overhead=40))
    with rx.http.stream("GET", "/v1/events", timeout=10) as response, rx.open(session) as link:
        lines = response.iter_lines()
        assert next(lines).startswith(":")
        link.put(stamped)
        assert link.ack(frame.header.frame_id).datagram_overhead == 40
        link.put(pb.Uplink(frame=pb.FramePackets(packets=frame_datagrams(after_gap, session), datagram_overhead=40)))
        lost = link.ack(make_frame.session.frame_id(1001))
        assert (lost.status, lost.datagram_overhead) == ("lost", 40)
        link.put(pb.Uplink(frame=pb.FramePackets(packets=datagrams, datagram_overhead=5000)))
        assert "datagram_overhead 5000 is over 1024" in link.ack(0).detail
        event = next(json.loads(next(lines).split(":", 1)[1]) for line in lines if line == "event: frame_received")
    answer = rx.ask(frame.header.frame_id).json()
    assert (answer["wire_bytes"], answer["datagrams"], answer["datagram_overhead"]) == (bare + 40 * n, n, 40)
    assert (event["frame_id"], event["wire_bytes"], event["datagrams"], event["datagram_overhead"]) == (
        frame.header.frame_id, bare + 40 * n, n, 40)
    detail = rx.http.get(f"/v1/frames/{frame.header.frame_id}").json()
    assert (detail["wire_bytes"], detail["datagrams"]) == (bare + 40 * n, n)
