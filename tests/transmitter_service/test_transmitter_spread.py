"""A spreading transmitter (SEMLINK_TX_SPREAD) against a real receiver: every upload acked once, each datagram its
own message, bytes counted as when sent whole, and its /v1/stats say how many datagrams went and wait."""

from __future__ import annotations

import asyncio

from semlink.runtime import load_model
from tests.receiver_service.conftest import running_receiver


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_a_spreading_transmitter_gets_every_frame_acked_once(running_transmitter, image_bytes):
    async def main(rx_target: str, spread: int):
        async with running_transmitter(target=rx_target, spread=spread, spread_slot_ms=20) as client:
            sent = [(await client.post("/v1/frames", content=image_bytes(color=(40 * i, 90, 200)),
                                       headers={"content-type": "image/png"})).json() for i in range(3)]
            records = []
            for ticket in sent:
                for _ in range(200):
                    record = (await client.get(f"/v1/frames/{ticket['frame_id']}")).json()
                    if record["status"] in ("acked", "partial", "lost"):
                        break
                    await asyncio.sleep(0.05)
                records.append(record)
            return records, (await client.get("/v1/stats")).json()

    with running_receiver(load_model("tiny-random", "cpu"), frame_deadline_ms=2000) as rx:
        spread, stats = run(main(rx.grpc_target, 1))
        messages = [rx.http.get(f"/v1/frames/{r['frame_id']}").json()["messages"] for r in spread]
        whole, _ = run(main(rx.grpc_target, 0))
    assert [r["status"] for r in spread] == ["acked"] * 3, spread
    assert messages == [r["datagrams"] for r in spread] and min(messages) > 1  # a message a datagram
    assert [r["wire_bytes"] for r in spread] == [r["wire_bytes"] for r in whole]  # nothing added to the wire
    assert stats["frames"]["acked"] == 3 and stats["frames"]["lost"] == 0
    assert stats["spread"] == {"slots": 1, "slot_ms": 20.0, "waiting": 0, "frames": 3,
                               "parts_sent": sum(messages), "parts_dropped": 0}


def test_the_comparison_reference_is_spread_alike(running_transmitter, image_bytes):
    """fp16 as the reference (8 datagrams a frame): its frames are spread as the main stream's, a fair comparison
    under bursts, and both ends of the pair are acked."""
    async def main(rx_target: str):
        async with running_transmitter(target=rx_target, spread=2, spread_slot_ms=20) as client:
            await client.put("/v1/comparison", json={"enabled": True, "reference": "fp16"})
            sent = (await client.post("/v1/frames", content=image_bytes(), headers={"content-type": "image/png"})).json()
            for _ in range(200):
                main = (await client.get(f"/v1/frames/{sent['frame_id']}")).json()
                twin = (await client.get(f"/v1/frames/{main['twin_id']}")).json() if main.get("twin_id") else {}
                if main["status"] == twin.get("status") == "acked":
                    break
                await asyncio.sleep(0.05)
            return main, twin

    with running_receiver(load_model("tiny-random", "cpu"), frame_deadline_ms=3000, reference_codecs="fp16") as rx:
        main, twin = run(main(rx.grpc_target))
        messages = rx.http.get(f"/v1/frames/{twin['frame_id']}").json()["messages"]
    assert (main["status"], twin["status"], twin["codec"]) == ("acked", "acked", "fp16"), (main, twin)
    assert messages == twin["datagrams"] > 1
