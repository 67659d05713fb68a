"""A packing transmitter (SEMLINK_TX_PACK) against a real receiver: frames go in groups, one message a group, each
frame acked once with its share of the group's bytes; a group goes when full or when its first frame has waited;
what cannot be packed says so before anything is sent."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from semlink.runtime import load_model
from tests.receiver_service.conftest import running_receiver
from transmitter_service.settings import TransmitterSettings


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def settled(client, frame_id: int) -> dict:
    for _ in range(200):
        record = (await client.get(f"/v1/frames/{frame_id}")).json()
        if record["status"] in ("acked", "partial", "lost"):
            return record
        await asyncio.sleep(0.05)
    return record


def test_a_packing_transmitter_sends_groups_and_every_frame_is_acked_once(running_transmitter, image_bytes):
    async def main(rx_target: str, **settings):
        async with running_transmitter(target=rx_target, max_delay_ms=200, **settings) as client:
            posts = [client.post("/v1/frames", content=image_bytes(color=(40 * i, 90, 200)),
                                 headers={"content-type": "image/png"}) for i in range(5)]
            sent = [r.json() for r in await asyncio.gather(*posts)]
            records = [await settled(client, ticket["frame_id"]) for ticket in sent]
            return records, (await client.get("/v1/stats")).json()

    with running_receiver(load_model("tiny-random", "cpu"), frame_deadline_ms=2000) as rx:
        packed, stats = run(main(rx.grpc_target, pack=3, pack_wait_ms=300))
        at_receiver = [rx.http.get(f"/v1/frames/{r['frame_id']}").json() for r in packed]
        alone, _ = run(main(rx.grpc_target))
    assert [r["status"] for r in packed] == ["acked"] * 5, packed
    assert stats["frames"]["acked"] == 5 and stats["frames"]["lost"] == 0
    assert stats["pack"]["size"] == 3 and stats["pack"]["frames"] == 5 and stats["pack"]["waiting"] == 0
    assert stats["pack"]["groups"] >= 2 and stats["pack"]["full"] + stats["pack"]["waited"] == stats["pack"]["groups"]
    # a group's datagrams carry every frame's slices: each frame pays a share of the framing, so less than alone
    assert sum(r["wire_bytes"] for r in packed) < sum(r["wire_bytes"] for r in alone)
    assert all(r["datagrams"] < a["datagrams"] for r, a in zip(packed, alone))
    assert [r["messages"] for r in at_receiver] == [1] * 5  # its group's one message
    assert sum(r["wire_bytes"] for r in at_receiver) == pytest.approx(sum(r["wire_bytes"] for r in packed))


def test_the_comparison_reference_is_packed_alike(running_transmitter, image_bytes):
    """fp16 as the reference (4 datagrams a frame here): its frames go in groups as the main stream's do (a fair
    comparison), so two frames in a group each pay half of the group's 4 datagrams."""
    async def main(rx_target: str):
        async with running_transmitter(target=rx_target, pack=2, pack_wait_ms=2000, max_delay_ms=300) as client:
            await client.put("/v1/comparison", json={"enabled": True, "reference": "fp16"})
            posts = [client.post("/v1/frames", content=image_bytes(color=(90 * i, 20, 200)),
                                 headers={"content-type": "image/png"}) for i in range(2)]
            sent = [r.json() for r in await asyncio.gather(*posts)]
            mains = [await settled(client, ticket["frame_id"]) for ticket in sent]
            twins = [await settled(client, main["twin_id"]) for main in mains]
            return mains, twins

    with running_receiver(load_model("tiny-random", "cpu"), frame_deadline_ms=3000, reference_codecs="fp16") as rx:
        mains, twins = run(main(rx.grpc_target))
    assert [(m["status"], t["status"], t["codec"]) for m, t in zip(mains, twins)] == [("acked", "acked", "fp16")] * 2
    assert [t["datagrams"] for t in twins] == [2, 2]  # 4 datagrams for the group of 2


def test_pack_and_spread_together_are_refused_saying_which_to_choose():
    with pytest.raises(ValidationError, match="pack or spread, not both"):
        TransmitterSettings(pack=4, spread=1)
    with pytest.raises(ValidationError, match="less than or equal to 15"):
        TransmitterSettings(pack=16)
