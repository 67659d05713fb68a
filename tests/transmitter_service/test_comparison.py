"""Comparison mode: each frame also sent with the fp16 reference on a stream of its own, records linked by pair_id."""

from __future__ import annotations

import asyncio
import io

import pytest
import torch
from PIL import Image

from tests.helpers.link import RecordingReceiver
from semlink.packets import split_frame_id
from semlink.florence import VisionHalf
from semlink.runtime import load_model, load_reference_for
from tests.receiver_service.conftest import running_receiver
from transmitter_service.comparison import REFERENCE_PATTERN, ComparisonSender, check_reference


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_each_frame_goes_twice_with_the_reference_and_the_records_are_linked(running_transmitter, image_bytes):
    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with running_transmitter(target=rx.target) as client:
                off = (await client.get("/v1/comparison")).json()
                on = (await client.put("/v1/comparison", json={"enabled": True, "reference": "fp16"})).json()
                unknown = await client.put("/v1/comparison", json={"enabled": True, "reference": "avif:500"})
                sent = (await client.post("/v1/frames", content=image_bytes(size=(80, 60)),
                                          headers={"content-type": "image/png"})).json()
                frames = list(await rx.wait_for(2))[:2]
                main_id = sent["frame_id"]
                for _ in range(100):  # until both acks are back
                    main = (await client.get(f"/v1/frames/{main_id}")).json()
                    twin = (await client.get(f"/v1/frames/{main['twin_id']}")).json()
                    if main["status"] == twin["status"] == "acked":
                        break
                    await asyncio.sleep(0.05)
                thumbs = [(await client.get(f"/v1/frames/{i}/thumbnail")).content for i in (main_id, main["twin_id"])]
                stats = (await client.get("/v1/stats")).json()
                refused = await client.put("/v1/comparison", json={"enabled": True, "reference": "webp"})
                await client.put("/v1/comparison", json={"enabled": False})
                await client.post("/v1/frames", content=image_bytes(), headers={"content-type": "image/png"})
                await rx.wait_for(3)
                await asyncio.sleep(0.3)
                after_off = len(rx.frames)
        finally:
            await rx.stop()
        return locals()

    r = run(main())
    main, twin, frames = r["main"], r["twin"], r["frames"]
    offered = ["avif:20", "fp16"]
    assert r["off"] == {"enabled": False, "reference": "avif:20", "offered": offered}  # the best pixel peer
    assert r["on"] == {"enabled": True, "reference": "fp16", "offered": offered}
    assert r["unknown"].status_code == 422 and "avif:500" in r["unknown"].json()["detail"]
    assert {f.header.frame_id: f.header.codec for f in frames} == {main["frame_id"]: "q8", twin["frame_id"]: "fp16"}
    assert split_frame_id(main["frame_id"])[0] != split_frame_id(twin["frame_id"])[0]  # its own session
    assert len({s.session_id for s in r["rx"].sessions}) == 2
    assert (main["codec"], twin["codec"]) == ("q8", "fp16")
    assert main["pair_id"] == twin["pair_id"] == main["frame_id"] and twin["twin_id"] == main["frame_id"]
    assert twin["source"] == main["source"] == "upload" and twin["status"] == "acked"
    assert twin["wire_bytes"] > 1.5 * main["wire_bytes"] > 0  # fp16 (2 bytes a value) against q8 (1 byte)
    assert r["thumbs"][0] == r["thumbs"][1] and r["thumbs"][0][:2] == b"\xff\xd8"
    assert r["stats"]["frames"]["acked"] == 1 and r["stats"]["comparison"]["frames"]["acked"] == 1
    assert r["stats"]["comparison"]["session"]["open"]
    assert r["refused"].status_code == 422
    assert r["after_off"] == 3  # once off, one frame an image again


def test_a_receiver_without_the_reference_refuses_it_and_says_so(running_transmitter, image_bytes):
    async def main(target):
        async with running_transmitter(target=target, comparison=True, comparison_reference="fp16") as client:
            sent = (await client.post("/v1/frames", content=image_bytes(), headers={"content-type": "image/png"}))
            main_id = sent.json()["frame_id"]
            for _ in range(200):
                main = (await client.get(f"/v1/frames/{main_id}")).json()
                twin = (await client.get(f"/v1/frames/{main['twin_id']}")).json() if main["twin_id"] else {}
                if main["status"] == "acked" and twin.get("status") == "lost":
                    break
                await asyncio.sleep(0.05)
            return main, twin, (await client.get("/v1/stats")).json()

    with running_receiver(load_model("tiny-random", "cpu")) as rx:  # reference_codecs unset: q8 only
        main, twin, stats = run(main(rx.grpc_target))
    assert main["status"] == "acked" and twin["status"] == "lost" and "unknown codec" in twin["reason"]
    assert "unknown codec" in stats["comparison"]["session"]["refused"]
    assert stats["comparison"]["frames"]["lost"] == 1 and stats["frames"]["lost"] == 0


def test_the_default_pixel_reference_goes_end_to_end_and_the_receiver_sees_the_encoders_image(running_transmitter,
                                                                                                 image_bytes):
    """avif:20 (the default): the image in streaming form on its own session, rebuilt at a real receiver, answered;
    its features are the vision tower's on the encoder's own file, decoded (a clean channel changes no byte)."""
    bundle = load_model("tiny-random", "cpu")
    upload = image_bytes(size=(80, 60), color=None)

    async def main(rx):
        async with running_transmitter(target=rx.grpc_target, comparison=True) as client:
            main_id = (await client.post("/v1/frames", content=upload, headers={"content-type": "image/png"})
                       ).json()["frame_id"]
            for _ in range(200):
                main = (await client.get(f"/v1/frames/{main_id}")).json()
                twin = (await client.get(f"/v1/frames/{main['twin_id']}")).json() if main["twin_id"] else {}
                if main["status"] == "acked" and twin.get("status") in ("acked", "lost"):
                    break
                await asyncio.sleep(0.05)
            return main, twin, (await client.get("/v1/stats")).json()

    with running_receiver(bundle, reference_codecs="fp16,pixels-avif") as rx:
        main, twin, stats = run(main(rx))
        answer = rx.ask(twin["frame_id"]).json()
        stored = rx.receiver.store.get(twin["frame_id"])
    assert (main["codec"], twin["codec"], twin["status"]) == ("q8", "avif:20", "acked"), twin
    assert stats["comparison"]["domain"] == "pixels" and stats["comparison"]["session"]["bytes"] > 288
    assert answer["codec"] == "pixels-avif" and isinstance(answer["result"], str)
    assert answer["wire_bytes"] == twin["wire_bytes"] > 0
    stream = load_reference_for(bundle, "avif:20")
    image = Image.open(io.BytesIO(upload)).convert("RGB")
    file = stream.peer().encode(image, stream.input_size)
    frame_bytes = len(file) - len(stream.peer().session(stream.input_size))  # the session's bytes went once
    assert twin["packets"] == -(-frame_bytes // 1200) == 2  # noise codes big: 2 datagrams, each with its count byte
    assert twin["payload_bytes"] == frame_bytes + twin["packets"]
    decoded = Image.open(io.BytesIO(file)).convert("RGB")
    assert torch.equal(stored.features, VisionHalf(bundle).encode([decoded])[0])


def test_a_configured_reference_is_one_the_api_takes_back():
    """The page sends the configured reference back to PUT /v1/comparison: a setting the API would refuse (another
    spelling of a point) is refused when the transmitter starts, not when the page first asks."""
    for name in ("fp16", "avif:20", "webp@32:60", "avif-s0:10", "jpeg:50"):
        assert check_reference(name) == name
    for name in ("AVIF:20", "avif:020", " avif:20", "avif:500", "pixels-avif", "learned"):
        with pytest.raises(ValueError, match="not offered"):
            check_reference(name)
    assert REFERENCE_PATTERN.startswith("^") and REFERENCE_PATTERN.endswith("$")


def test_a_change_asked_while_another_switches_streams_lands_after_it():
    """A page's two quick clicks: the reference back to avif:20 (switching streams, the old one waiting for a frame
    in flight to close), then comparison off. The second is applied after the first, whole, so the state ends as
    it asked (the route applied the reference and the switch apart: the first click's 'on' could land last, and
    the page waited for a state that never came; seen once in a full run)."""
    bundle = load_model("tiny-random", "cpu")
    images = [Image.new("RGB", (64, 48), (200, 30, 30))]
    features = VisionHalf(bundle).encode(images)

    async def main():
        rx = await RecordingReceiver(ack=False).start()  # frames stay in flight: closing a stream takes its grace
        comparison = ComparisonSender(rx.target, "fp16", enabled=True, ack_timeout_s=30, queue_size=4,
                                      on_outcome=lambda delivery: None)
        try:
            comparison.load(bundle)
            await comparison.sender.start()
            comparison.open_session(images[0].size)
            await comparison.sender.submit(comparison.compress(images, features)[0])
            await rx.wait_for(1)
            first = asyncio.create_task(comparison.update("avif:20", True))
            await asyncio.sleep(0.2)  # the first now waits for the fp16 stream to close
            assert not first.done()
            await comparison.update("avif:20", False)
            assert first.done()  # the second waited for the first
            return comparison.enabled, comparison.reference
        finally:
            await comparison.close()
            await rx.stop()

    assert run(main()) == (False, "avif:20")
