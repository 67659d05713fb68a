"""channel_sim as a real process: realised loss, REST validation, and garbage on its gRPC port."""

from __future__ import annotations

import asyncio
import math
import socket

import grpc
import httpx

from semlink.link import FrameSender
from semlink.link.testing import make_frame
from semlink.v1 import semlink_pb2 as pb

FRAMES, PACKETS = 300, 8


def send_frames(target: str, frames, timeout: float = 15.0):
    async def main():
        async with FrameSender(target) as sender:
            deliveries = [await sender.submit(f) for f in frames]
            return await asyncio.gather(*(d.outcome for d in deliveries))

    return asyncio.run(asyncio.wait_for(main(), timeout))


def test_loss_0_3_is_realised_over_a_few_hundred_frames(channel_sim_process, receiver):
    url, target, _ = channel_sim_process
    receiver.clear()
    httpx.post(f"{url}/v1/channel/reset").raise_for_status()
    httpx.put(f"{url}/v1/channel", json={"loss": 0.3, "seed": 11}).raise_for_status()

    outcomes = send_frames(target, [make_frame(i, packets=PACKETS) for i in range(FRAMES)])
    frames = receiver.wait_for(FRAMES)
    stats = httpx.get(f"{url}/v1/stats").json()

    n = FRAMES * PACKETS
    assert stats["packets"]["in"] == n
    assert abs(stats["realised_loss_rate"] - 0.3) < 5 * math.sqrt(0.3 * 0.7 / n)  # 5 sigma: ±0.047
    # every header got through; the receiver holds exactly the packets the proxy let out
    assert sorted(f.header.frame_id for f in frames) == list(range(FRAMES))
    assert sum(len(f.packets) for f in frames) == stats["packets"]["out"] == n - stats["packets"]["dropped"]
    # and each transmitter frame got the receiver's ack, relayed
    assert {o.status for o in outcomes} <= {"ok", "partial"}
    assert sum(o.status == "partial" for o in outcomes) == sum(1 for f in frames if f.lost_indices())
    assert stats["acks"]["partial"] + stats["acks"].get("ok", 0) == FRAMES


def test_put_channel_validates_and_names_the_field(channel_sim_process):
    url, _, _ = channel_sim_process
    httpx.post(f"{url}/v1/channel/reset").raise_for_status()
    before = httpx.get(f"{url}/v1/channel").json()

    for body, field in [({"loss": 1.5}, "loss"), ({"duplicate": -1}, "duplicate"), ({"bogus": 1}, "bogus"),
                        ({"ber": 1e-3, "snr_db": 5.0}, "snr_db"), ({"fading": "foggy"}, "fading")]:
        response = httpx.put(f"{url}/v1/channel", json=body)
        assert response.status_code == 422, body
        assert field in response.json()["detail"], response.json()
    assert httpx.get(f"{url}/v1/channel").json() == before  # nothing half-applied

    changed = httpx.put(f"{url}/v1/channel", json={"loss": 0.1, "delay_ms": 5}).json()
    assert (changed["loss_model"], changed["loss"], changed["delay_ms"], changed["expected_loss_rate"]) == (
        "bernoulli", 0.1, 5.0, 0.1)
    assert httpx.post(f"{url}/v1/channel/reset").json() == before


def test_garbage_on_the_grpc_port_does_not_kill_it(channel_sim_process, receiver):
    url, target, proc = channel_sim_process
    host, port = target.split(":")
    httpx.post(f"{url}/v1/channel/reset").raise_for_status()
    for garbage in (b"\x00" * 64, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", bytes(range(256)) * 8):
        with socket.create_connection((host, int(port)), timeout=2) as sock:  # not even HTTP/2
            sock.sendall(garbage)

    async def grpc_garbage():
        async with grpc.aio.insecure_channel(target) as channel:
            call = channel.stream_stream("/semlink.v1.FeatureLink/Stream")()  # raw bytes in and out
            await call.write(b"\xff\xfe not a protobuf")
            first = pb.Ack.FromString(await call.read())
            await call.write(pb.FrameMessage(header=pb.FrameHeader(frame_id=5, version=1)).SerializeToString())
            second = pb.Ack.FromString(await call.read())
            await call.done_writing()
            return first, second

    first, second = asyncio.run(asyncio.wait_for(grpc_garbage(), 10))
    assert first.status == "rejected" and "not a semlink.v1.FrameMessage" in first.detail
    assert (second.frame_id, second.status) == (5, "rejected") and "channel_sim: frame 5" in second.detail

    receiver.clear()
    outcomes = send_frames(target, [make_frame(1000 + i) for i in range(3)])
    assert [o.status for o in outcomes] == ["ok"] * 3
    assert proc.poll() is None
    assert httpx.get(f"{url}/v1/stats").json()["frames"]["rejected"] == 2
