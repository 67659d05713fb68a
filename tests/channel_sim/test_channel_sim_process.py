"""channel_sim as a real process: realised loss over whole datagrams, REST validation, garbage on its gRPC port."""

from __future__ import annotations

import asyncio
import math
import socket

import grpc
import httpx

from semlink.link import FrameSender
from semlink.bench.stream_client import StreamClient
from tests.helpers.link import make_frame, make_session
from semlink.v2 import semlink_pb2 as pb

FRAMES, PACKETS = 300, 8
SESSION = make_session(PACKETS)


def send_frames(target: str, frames, timeout: float = 15.0, session=SESSION):
    async def main():
        async with FrameSender(target, session=session) as sender:
            deliveries = [await sender.submit(f) for f in frames]
            return await asyncio.gather(*(d.outcome for d in deliveries))

    return asyncio.run(asyncio.wait_for(main(), timeout))


def test_loss_0_3_is_realised_over_a_few_hundred_frames(channel_sim_process, receiver):
    url, target, _ = channel_sim_process
    receiver.clear()
    httpx.post(f"{url}/v1/channel/reset").raise_for_status()
    httpx.put(f"{url}/v1/channel", json={"loss": 0.3, "seed": 11}).raise_for_status()

    outcomes = send_frames(target, [make_frame(i, packets=PACKETS, session=SESSION) for i in range(FRAMES)])
    stats = httpx.get(f"{url}/v1/stats").json()
    erased = stats["frames"]["erased"]
    frames = receiver.wait_for(FRAMES - erased)

    n = FRAMES * PACKETS
    assert stats["packets"]["in"] == n
    assert abs(stats["realised_loss_rate"] - 0.3) < 5 * math.sqrt(0.3 * 0.7 / n)  # 5 sigma: ±0.047
    # the receiver holds exactly the packets the proxy let out, and nothing of the frames it erased
    assert len({f.header.frame_id for f in frames}) == FRAMES - erased
    assert sum(len(f.packets) for f in frames) == stats["packets"]["out"] == n - stats["packets"]["dropped"]
    assert stats["wire_bytes"]["in"] == n * (32 + 7)  # 32 payload bytes, a 3-byte header and a CRC-32 each
    # and each transmitter frame got the receiver's ack, relayed (an erased one: lost, from the sender's report)
    assert {o.status for o in outcomes} <= {"ok", "partial", "lost"}
    assert sum(o.status == "partial" for o in outcomes) == sum(1 for f in frames if f.lost_indices())
    assert sum(o.status == "lost" for o in outcomes) == erased


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


def metric(url: str, name: str) -> float:
    """One sample of channel_sim's Prometheus metrics."""
    line = next(line for line in httpx.get(f"{url}/metrics").text.splitlines() if line.startswith(name + " "))
    return float(line.split()[-1])


def test_datagram_overhead_adds_exactly_b_per_datagram_and_is_stamped_upstream(channel_sim_process, receiver):
    url, target, _ = channel_sim_process
    httpx.post(f"{url}/v1/channel/reset").raise_for_status()
    assert httpx.get(f"{url}/v1/channel").json()["datagram_overhead"] == 0
    frames = [make_frame(i, packets=PACKETS, session=SESSION) for i in range(40)]
    send_frames(target, frames[:20])
    bare = httpx.get(f"{url}/v1/stats").json()
    assert bare["wire_bytes"] == bare["datagram_bytes"] == {"in": 20 * PACKETS * 39, "out": 20 * PACKETS * 39}

    assert httpx.put(f"{url}/v1/channel", json={"datagram_overhead": 40}).json()["datagram_overhead"] == 40
    httpx.post(f"{url}/v1/channel/reset").raise_for_status()  # back to 0 and zeroed stats...
    httpx.put(f"{url}/v1/channel", json={"datagram_overhead": 40}).raise_for_status()  # ...then 40 again
    receiver.clear()
    counted = metric(url, 'semlink_ch_wire_bytes_total{direction="out"}')
    outcomes = send_frames(target, frames[20:])
    stats = httpx.get(f"{url}/v1/stats").json()
    datagrams = 20 * PACKETS
    assert stats["datagrams"] == {"in": datagrams, "out": datagrams} and stats["datagram_overhead"] == 40
    assert stats["datagram_bytes"] == bare["datagram_bytes"]
    assert stats["wire_bytes"]["in"] - stats["datagram_bytes"]["in"] == 40 * datagrams
    assert stats["wire_bytes"]["out"] - stats["datagram_bytes"]["out"] == 40 * datagrams
    receiver.wait_for(20)
    assert set(receiver.overheads) == {40}  # stamped on what it forwarded: the receiver counts the same
    assert {o.datagram_overhead for o in outcomes} == {40}  # and on the acks it relayed back
    assert metric(url, 'semlink_ch_wire_bytes_total{direction="out"}') - counted == stats["wire_bytes"]["out"]
    assert metric(url, "semlink_ch_datagram_overhead") == 40

    for bad in (-1, 1025, 40.5, "40", True, None):
        response = httpx.put(f"{url}/v1/channel", json={"datagram_overhead": bad})
        assert response.status_code == 422 and "datagram_overhead" in response.json()["detail"], (bad, response.text)
    assert httpx.get(f"{url}/v1/channel").json()["datagram_overhead"] == 40
    assert httpx.post(f"{url}/v1/channel/reset").json()["datagram_overhead"] == 0


def test_garbage_on_the_grpc_port_does_not_kill_it(channel_sim_process, receiver):
    url, target, proc = channel_sim_process
    host, port = target.split(":")
    httpx.post(f"{url}/v1/channel/reset").raise_for_status()
    for garbage in (b"\x00" * 64, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", bytes(range(256)) * 8):
        with socket.create_connection((host, int(port)), timeout=2) as sock:  # not even HTTP/2
            sock.sendall(garbage)

    with grpc.insecure_channel(target) as channel:
        with StreamClient(channel, None, open_with=b"\xff\xfe not a protobuf") as link:
            refused = link.opened()
        with StreamClient(channel, SESSION) as link:
            assert link.opened().accepted
            link.send(datagrams=[b"\x00" * 5000])  # longer than any packet of this session
            link.put(b"\xff\xfe not a protobuf")
            rejected = link.wait_acks(2)

    assert not refused.accepted and refused.reason == "malformed"
    assert [a.status for a in rejected] == ["rejected"] * 2
    assert any("over the" in a.detail for a in rejected) and any("unexpected" in a.detail for a in rejected)

    receiver.clear()
    outcomes = send_frames(target, [make_frame(1000 + i, packets=PACKETS, session=SESSION) for i in range(3)])
    assert [o.status for o in outcomes] == ["ok"] * 3
    assert proc.poll() is None
    assert httpx.get(f"{url}/v1/stats").json()["frames"]["rejected"] == 2
