"""Frame <-> protobuf <-> bytes: exact round trips at every boundary, and clear errors for bad input."""

from dataclasses import fields, replace

import numpy as np
import pytest

from semlink.packets import (
    WIRE_VERSION,
    Frame,
    FrameHeader,
    MalformedFrame,
    Packet,
    UnknownCodec,
    depacketize,
    depacketize_with_report,
    packetize,
)
from semlink.v1 import semlink_pb2 as pb
from semlink.wire import frame_from_bytes, frame_to_bytes, frame_to_message, message_to_frame


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def frame_of(latent, rows_per_packet=2, **kw):
    kw = dict(frame_id=2**40 + 5, codec="q8", fingerprint="sha256:ab", feature_shape=(1024, 24, 24),
              rows_per_packet=rows_per_packet, scale=np.linspace(0.01, 1, latent.shape[0]),
              offset=-np.arange(latent.shape[0]) / 3, sent_at_ns=2**63 + 1, meta={"model": "tiny"}) | kw
    return packetize(latent, **kw)


def latent_of(rng, dtype):
    if dtype == "uint8":
        return rng.integers(0, 256, size=(6, 7, 5), dtype=np.uint8)
    return rng.standard_normal((6, 7, 5)).astype(dtype)


@pytest.mark.parametrize("dtype", ["float16", "uint8"])
def test_array_to_bytes_and_back_is_exact(rng, dtype):
    latent = latent_of(rng, dtype)
    frame = frame_of(latent)
    message = frame_to_message(frame)
    data = message.SerializeToString()
    assert frame_to_bytes(frame) == data
    assert pb.FrameMessage.FromString(data) == message
    received = frame_from_bytes(data)
    assert received == frame and received.header.meta == {"model": "tiny"}
    assert message_to_frame(message) == frame
    out, lost = depacketize(received)
    assert out.dtype == latent.dtype and np.array_equal(out, latent) and not lost.any()


def test_every_header_field_crosses_the_wire(rng):
    frame = frame_of(latent_of(rng, "uint8"))
    h = frame_to_message(frame).header
    assert h.frame_id == 2**40 + 5 and h.sent_at_ns == 2**63 + 1 and h.version == WIRE_VERSION
    assert list(h.shape) == [6, 7, 5] and list(h.feature_shape) == [1024, 24, 24]
    assert (h.codec, h.fingerprint, h.dtype, h.entropy_coder) == ("q8", "sha256:ab", "uint8", "zstd")
    assert (h.packet_count, h.rows_per_packet) == (4, 2) and dict(h.meta) == {"model": "tiny"}
    assert tuple(h.scale) == frame.header.scale and tuple(h.offset) == frame.header.offset


def test_proto_messages_mirror_the_dataclasses():
    assert {f.name for f in fields(FrameHeader)} == {f.name for f in pb.FrameHeader.DESCRIPTOR.fields}
    assert {f.name for f in fields(Packet)} == {f.name for f in pb.Packet.DESCRIPTOR.fields}


def test_scale_travels_as_float32():
    header = FrameHeader(frame_id=1, codec="q8", fingerprint="f", shape=(1, 1, 1), dtype="uint8", packet_count=1,
                         rows_per_packet=1, feature_shape=(1, 1, 1), scale=(0.1,), offset=(1e-3,))
    frame = frame_from_bytes(frame_to_bytes(Frame(header, ())))
    assert frame.header.scale == (float(np.float32(0.1)),) and frame.header.scale != (0.1,)


def test_missing_packets_are_just_absent(rng):
    latent = latent_of(rng, "float16")
    frame = frame_of(latent)
    received = frame_from_bytes(frame_to_bytes(frame.with_packets(frame.packets[::2])))
    out, lost, report = depacketize_with_report(received)
    assert report.lost == (1, 3) and lost.tolist() == [False, False, True, True, False, False, True]
    assert np.array_equal(out[:, ~lost], latent[:, ~lost])


def test_truncated_payload_in_a_message_costs_its_rows(rng):
    latent = latent_of(rng, "float16")
    message = frame_to_message(frame_of(latent))
    message.packets[1].payload = message.packets[1].payload[:-4]
    out, lost, report = depacketize_with_report(frame_from_bytes(message.SerializeToString()))
    assert report.corrupted == {1: "crc"} and lost.tolist() == [False, False, True, True, False, False, False]
    assert np.array_equal(out[:, ~lost], latent[:, ~lost])


def test_truncated_bytes_never_leak_decode_errors(rng):
    data = frame_to_bytes(frame_of(latent_of(rng, "uint8")))
    outcomes = set()
    for cut in range(len(data)):
        try:
            frame = frame_from_bytes(data[:cut])
        except MalformedFrame:
            outcomes.add("malformed")
        else:  # cut at a packet boundary: a valid frame with packets missing
            depacketize(frame)
            outcomes.add("decoded")
    assert outcomes == {"malformed", "decoded"}
    with pytest.raises(MalformedFrame, match="not a semlink.v1.FrameMessage"):
        frame_from_bytes(data[:-1])


@pytest.mark.parametrize("garbage", [b"\xff" * 10, b"\x0a\x05abc", b"\x12\xff\xff\xff\xff\x0f", b"", b"\x08\x01"])
def test_garbage_bytes_raise_malformed(garbage):
    with pytest.raises(MalformedFrame):
        frame_from_bytes(garbage)


def edit(rng, change):
    message = frame_to_message(frame_of(latent_of(rng, "uint8")))
    change(message)
    return message.SerializeToString()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: setattr(m.header, "version", WIRE_VERSION + 1), "header.version is 2 .* speaks wire version 1"),
        (lambda m: setattr(m.header, "version", 0), "header.version is 0"),
        (lambda m: m.header.shape.append(1), "header.shape is .* expected 3 dims"),
        (lambda m: m.header.ClearField("shape"), "header.shape is"),
        (lambda m: m.header.feature_shape.pop(), "header.feature_shape"),
        (lambda m: setattr(m.header, "packet_count", 3), "header.packet_count is 3 .* needs 4"),
        (lambda m: setattr(m.header, "rows_per_packet", 3), "header.packet_count is 4 .* needs 3"),
        (lambda m: setattr(m.header, "dtype", "float64"), "header.dtype 'float64'"),
        (lambda m: setattr(m.packets[2], "frame_id", 1), "packet 2 has frame_id 1"),
        (lambda m: setattr(m.packets[2], "index", 9), "index 9 is outside"),
        (lambda m: setattr(m.packets[2], "index", 1), "index 1 appears twice"),
        (lambda m: setattr(m.packets[2], "row_stop", 5), "claims rows"),
        (lambda m: m.ClearField("header"), "no header"),
    ],
)
def test_invalid_messages_raise_naming_the_field(rng, change, message):
    with pytest.raises(MalformedFrame, match=message):
        frame_from_bytes(edit(rng, change))


def test_unknown_codec_is_refused_only_when_asked(rng):
    data = frame_to_bytes(frame_of(latent_of(rng, "uint8")))
    assert frame_from_bytes(data, known_codecs={"q8", "fp16"}).header.codec == "q8"
    assert frame_from_bytes(data).header.codec == "q8"
    with pytest.raises(UnknownCodec, match="codec 'q8' is not one of \\['fp16'\\]"):
        frame_from_bytes(data, known_codecs={"fp16"})
    assert issubclass(UnknownCodec, MalformedFrame) and issubclass(MalformedFrame, ValueError)


def test_handwritten_message_with_defaults_is_malformed():
    message = pb.FrameMessage(header=pb.FrameHeader(frame_id=1, shape=[1, 1, 1], feature_shape=[1, 1, 1]))
    with pytest.raises(MalformedFrame, match="version is 0"):
        message_to_frame(message)
    message.header.version = WIRE_VERSION
    with pytest.raises(MalformedFrame, match="dtype"):
        message_to_frame(message)
    message.header.dtype, message.header.rows_per_packet, message.header.packet_count = "uint8", 1, 1
    assert message_to_frame(message).header.entropy_coder == ""  # proto3 default; depacketize refuses it
    with pytest.raises(MalformedFrame, match="entropy_coder"):
        depacketize(message_to_frame(message))


def test_frame_with_replaced_header_round_trips(rng):
    frame = frame_of(latent_of(rng, "uint8"))
    frame = replace(frame, header=replace(frame.header, meta={}, scale=(), offset=()))
    assert frame_from_bytes(frame_to_bytes(frame)) == frame
