"""Frames sent over real gRPC are acked, decoded and answered over real HTTP exactly as the in-process link does."""

from __future__ import annotations

import json
import socket
from dataclasses import replace

import pytest

from semlink.pipeline import InProcessLink
from semlink.v1 import semlink_pb2 as pb
from semlink.wire import frame_to_message

pytestmark = pytest.mark.timeout(20)


@pytest.mark.parametrize("task", ["<CAPTION>", "<OD>"])
def test_answers_match_the_in_process_pipeline(rx, bundle, codec, images, make_frame, task):
    link = InProcessLink(bundle, codec)
    results = []
    for i in range(len(images)):
        expected = link.run([images[i]], task)[0]
        frame_id = 1000 + 10 * i + (task == "<OD>")
        ack = rx.send(make_frame(frame_id, image=i))
        assert (ack.frame_id, ack.status, ack.detail) == (frame_id, "ok", "")

        response = rx.ask(frame_id, task)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["result"] == expected.result
        assert body["frame_id"] == frame_id and body["task"] == task
        assert (body["model"], body["codec"]) == ("tiny-random", "q8")
        assert (body["payload_bytes"], body["packets"], body["packets_lost"]) == (
            expected.payload_bytes, expected.packets, 0)
        assert body["latency_ms"] > 0
        results.append(body["result"])
    if task == "<OD>":  # boxes scaled to the 256x192 original prove meta["image_size"] was used
        assert any(r["bboxes"] for r in results)


def test_one_transmission_many_questions(rx, make_frame):
    rx.send(make_frame(2000))
    answers = [rx.ask(2000, task) for task in ("<CAPTION>", "<DETAILED_CAPTION>", "<OD>", "<CAPTION>")]
    assert [a.status_code for a in answers] == [200] * 4
    assert answers[0].json()["result"] == answers[3].json()["result"]
    assert rx.metric("semlink_rx_frames_total", outcome="ok", reason="none") >= 1


def test_dropped_packets_give_a_partial_ack_and_still_an_answer(rx, make_frame):
    frame = make_frame(3000)
    lossy = frame.with_packets(p for p in frame.packets if p.index != 1)
    ack = rx.send(lossy)
    assert ack.status == "partial"
    assert "1 of 4 packets lost (1 missing, 0 corrupted)" in ack.detail

    response = rx.ask(3000, "<CAPTION>")
    assert response.status_code == 200, response.text
    assert response.json()["packets_lost"] == 1
    detail = rx.http.get("/v1/frames/3000").json()
    assert (detail["status"], detail["packets_missing"], detail["lost_rows"]) == ("partial", 1, [1])


def test_a_corrupted_packet_is_an_erasure(rx, make_frame):
    frame = make_frame(3100)
    bad = replace(frame.packets[2], payload=b"\x00" + frame.packets[2].payload[1:])
    ack = rx.send(frame.with_packets([*frame.packets[:2], bad, *frame.packets[3:]]))
    assert ack.status == "partial" and "(0 missing, 1 corrupted)" in ack.detail
    assert rx.ask(3100).json()["packets_lost"] == 1


def test_a_frame_split_over_messages_is_merged_and_duplicates_are_acked_as_such(rx, make_frame):
    frame = make_frame(3200)
    first, second = frame.with_packets(frame.packets[:2]), frame.with_packets(frame.packets[2:])
    acks = rx.stream([first, second])
    assert [(a.frame_id, a.status) for a in acks] == [(3200, "ok"), (3200, "ok")]
    assert rx.http.get("/v1/frames/3200").json()["messages"] == 2

    again = rx.send(frame)
    assert again.status == "ok" and again.detail.startswith("duplicate")
    assert rx.metric("semlink_rx_duplicate_messages_total") >= 1


def test_a_stream_acks_every_frame(rx, make_frame):
    frames = [make_frame(3300 + i, image=i % 4) for i in range(6)]
    frames[3] = frames[3].with_packets(frames[3].packets[:-1])
    acks = {a.frame_id: a.status for a in rx.stream(frames)}
    assert acks == {3300: "ok", 3301: "ok", 3302: "ok", 3303: "partial", 3304: "ok", 3305: "ok"}


@pytest.mark.parametrize("change, reason", [
    (lambda h: replace(h, codec="fp16", dtype="float16", scale=(), offset=()), "unknown codec"),
    (lambda h: replace(h, fingerprint="0123456789abcdef"), "fingerprint mismatch"),
    (lambda h: replace(h, packet_count=h.packet_count + 1), "malformed"),
])
def test_bad_frames_are_rejected_and_the_server_stays_up(rx, make_frame, change, reason):
    frame = make_frame(4000)
    ack = rx.send(replace(frame, header=change(frame.header)))
    assert ack.status == "rejected" and ack.detail.startswith(reason + ":"), ack.detail
    assert rx.metric("semlink_rx_frames_total", outcome="rejected", reason=reason) >= 1
    assert rx.ask(4000, wait_ms=0).status_code == 404
    assert rx.send(make_frame(4001 + len(reason))).status == "ok"


def test_a_message_without_header_is_rejected(rx):
    ack = rx.stub.Send(pb.FrameMessage(packets=[pb.Packet(index=0)]), timeout=5)
    assert ack.status == "rejected" and "no header" in ack.detail


def test_garbage_on_the_grpc_port_does_not_hurt(rx, make_frame):
    host, port = rx.grpc_target.split(":")
    for junk in (b"\x00\xff" * 512, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(junk)
            try:
                conn.recv(1024)
            except OSError:
                pass
    # Bytes that are not a FrameMessage get a rejected ack, and the stream goes on.
    raw_send = rx.channel.unary_unary("/semlink.v1.FeatureLink/Send", response_deserializer=pb.Ack.FromString)
    ack = raw_send(b"\xff\xfe not a protobuf \x00" * 8, timeout=5)
    assert ack.status == "rejected" and ack.detail.startswith("malformed:")
    raw_stream = rx.channel.stream_stream("/semlink.v1.FeatureLink/Stream", response_deserializer=pb.Ack.FromString)
    good = frame_to_message(make_frame(4101)).SerializeToString()
    acks = list(raw_stream(iter([b"\x0a\xff\xff\xff\xff\x0f", good]), timeout=5))
    assert [(a.status, a.frame_id) for a in acks] == [("rejected", 0), ("ok", 4101)]
    assert rx.send(make_frame(4100)).status == "ok"
    assert rx.http.get("/health/ready").status_code == 200


def test_events_report_frames_and_tasks(rx, make_frame):
    with rx.http.stream("GET", "/v1/events", timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines).startswith(":")  # subscribed: events from now on reach us
        rx.send(make_frame(5000))
        assert rx.ask(5000).status_code == 200
        events = []
        while len(events) < 2:
            line = next(lines)
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
                data = json.loads(next(lines).split(":", 1)[1])
                events.append((kind, data))
    assert events[0][0] == "frame_received" and events[0][1]["frame_id"] == 5000
    assert events[1][0] == "task_done" and events[1][1]["frame_id"] == 5000 and events[1][1]["task"] == "<CAPTION>"


def test_listing_and_health(rx, make_frame):
    rx.send(make_frame(6000))
    frames = rx.http.get("/v1/frames", params={"limit": 5}).json()
    assert frames[0]["frame_id"] == 6000
    assert set(frames[0]) == {"frame_id", "codec", "status", "payload_bytes", "packets", "packets_lost", "age_s"}
    assert rx.http.get("/health/live").json()["status"] == "live"
    assert rx.http.get("/health/ready").json()["status"] == "ready"
    metrics = rx.http.get("/metrics").text
    for name in ("semlink_rx_task_queue_seconds", "semlink_rx_task_compute_seconds", "semlink_rx_batch_size",
                 "semlink_rx_frames_total"):
        assert name in metrics
    assert "/v1/frames/{frame_id}/tasks" in rx.http.get("/openapi.json").json()["paths"]
