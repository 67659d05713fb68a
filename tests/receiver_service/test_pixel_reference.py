"""A pixel reference at the receiver (real gRPC and REST on loopback): an AVIF session in streaming form is accepted,
its frame rebuilt byte for byte, decoded and run through the vision tower; anything garbled is refused cleanly."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
import torch
from PIL import Image

from semlink.florence import VisionHalf
from semlink.bench.stream_client import StreamClient
from semlink.packets import Frame
from semlink.packets.datagram import encode_datagram
from semlink.packets.pixels import COUNT_BYTES
from semlink.pixels.framing import rebuild
from semlink.runtime import load_reference_for
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import frame_datagrams, frame_message, session_to_message, wire_bytes

from tests.receiver_service.conftest import IMAGE_SIZE

PIXEL_SESSION = 21
REFERENCES = "fp16,pixels-avif"


@pytest.fixture(scope="module")
def avif(bundle):
    return load_reference_for(bundle, "avif:20")


def test_an_avif_frame_is_rebuilt_decoded_and_answered(start_receiver, avif, images, bundle):
    session = avif.session(PIXEL_SESSION, IMAGE_SIZE)
    frame = avif.compress_images(images[:1], [session.frame_id(0)])[0]
    sent = frame_datagrams(frame, session)
    with start_receiver(reference_codecs=REFERENCES) as rx:
        ack = rx.send(frame, session)
        answer = rx.ask(frame.header.frame_id).json()
        stored = rx.receiver.store.get(frame.header.frame_id)
    assert ack.status == "ok"
    assert answer["codec"] == "pixels-avif" and isinstance(answer["result"], str)
    assert answer["wire_bytes"] == wire_bytes(sent) == sum(len(p.payload) + 5 for p in frame.packets)
    # the file the receiver rebuilt is the encoder's, byte for byte, so its features are the tower's on that image
    file = avif.peer().encode(images[0], avif.input_size)
    assert rebuild("avif", session.stream_header, frame.packets[0].payload[COUNT_BYTES:]) == file
    decoded = Image.open(io.BytesIO(file)).convert("RGB")
    assert torch.equal(stored.features, VisionHalf(bundle).encode([decoded])[0])


def test_a_garbled_pixel_frame_is_rejected_with_its_reason_and_the_receiver_goes_on(start_receiver, avif, images):
    session = avif.session(PIXEL_SESSION, IMAGE_SIZE)
    good = avif.compress_images(images[1:2], [session.frame_id(1)])[0]
    payload = good.packets[0].payload
    garbled = payload[:COUNT_BYTES] + bytes(b ^ 0x5A for b in payload[COUNT_BYTES:])  # checks made after: they pass
    with start_receiver(reference_codecs=REFERENCES) as rx:
        with rx.open(session) as link:
            assert link.opened().accepted
            link.put(frame_message([encode_datagram(0, 0, garbled, session.check)]))
            refused = link.ack(session.frame_id(0))
            link.put(frame_message([encode_datagram(1, 0, b"\x07" + payload[COUNT_BYTES:], session.check)]))
            unusable = link.ack(session.frame_id(1))  # claims 7 packets, sits at index 0 of a 1-packet frame
            link.send(replace(good, header=replace(good.header, frame_id=session.frame_id(2)),
                              packets=tuple(replace(p, frame_id=session.frame_id(2)) for p in good.packets)))
            fine = link.ack(session.frame_id(2))
        assert rx.ask(session.frame_id(0)).status_code == 404
    assert refused.status == "rejected" and "malformed" in refused.detail and "does not decode" in refused.detail
    assert unusable.status in ("partial", "lost", "rejected") and unusable.status != "ok"
    assert fine.status == "ok"


def test_a_session_whose_stream_header_is_not_the_receivers_own_is_refused(start_receiver, avif):
    session = avif.session(PIXEL_SESSION, IMAGE_SIZE)
    header = bytearray(session.stream_header)
    header[-20] ^= 0xFF  # say, a sequence header claiming another (or a huge) frame size
    forged = replace(session, stream_header=bytes(header))
    with start_receiver(reference_codecs=REFERENCES) as rx:
        replies = []
        for candidate in (forged, replace(session, codec_config='{"fmt": "avif", "quality": 400}')):
            message = pb.Uplink(session=session_to_message(candidate))
            with StreamClient(rx.channel, None, open_with=message) as link:
                replies.append(link.opened())
    assert [(r.accepted, r.reason) for r in replies] == [(False, "codec mismatch")] * 2
    assert "stream_header" in replies[0].detail and "quality" in replies[1].detail


def test_without_pixels_in_reference_codecs_a_pixel_session_is_unknown(start_receiver, avif):
    with start_receiver(reference_codecs="fp16") as rx:
        message = pb.Uplink(session=session_to_message(avif.session(PIXEL_SESSION, IMAGE_SIZE)))
        with StreamClient(rx.channel, None, open_with=message) as link:
            reply = link.opened()
    assert not reply.accepted and reply.reason == "unknown codec" and "pixels-avif" in reply.detail


def test_a_frame_missing_its_last_packet_decodes_its_prefix_as_the_eval_does(avif, images):
    session = avif.session(PIXEL_SESSION, IMAGE_SIZE)
    frame = avif.compress_images(images[:1], [session.frame_id(0)])[0]
    gone = Frame(frame.header, ())  # the one packet lost: nothing decodes, the image is grey
    image, report = avif.image_of(replace(gone, packets=()))
    assert report.lost == (0,) and image.getextrema() == ((128, 128),) * 3
    assert image.size == avif.input_size
