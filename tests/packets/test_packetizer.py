"""packetize / depacketize: exact round trips, losses cost only their rows, side packets, malformed frames raise."""

from dataclasses import replace

import numpy as np
import pytest
import zstandard

from semlink.packets import (
    MAX_LATENT_BYTES,
    ROWS_PER_PACKET_DEFAULT,
    DecodeReport,
    Frame,
    MalformedFrame,
    Packet,
    depacketize,
    depacketize_with_report,
    packetize,
    rows_per_packet_for,
    unpack,
)


def latent_of(rng, dtype, shape=(8, 10, 6)):
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


def frame_of(latent, rows_per_packet=3, **kw):
    return packetize(
        latent, frame_id=7, codec="q8", fingerprint="fp", feature_shape=(16, 10, 6),
        rows_per_packet=rows_per_packet, **kw,
    )


def with_payload(packet: Packet, payload: bytes) -> Packet:
    return replace(packet, payload=payload)


def replace_packet(frame: Frame, index: int, packet: Packet) -> Frame:
    return frame.with_packets(packet if p.index == index else p for p in frame.packets)


@pytest.mark.parametrize("dtype", ["float16", "uint8", "int8", "float32", "int32"])
@pytest.mark.parametrize("rows_per_packet", [1, 3, 10, 64])
def test_round_trip_is_exact(rng, dtype, rows_per_packet):
    latent = latent_of(rng, dtype)
    frame = frame_of(latent, rows_per_packet)
    out, lost, report = depacketize_with_report(frame)
    assert out.dtype == np.dtype(dtype) and out.shape == latent.shape
    assert out.tobytes() == latent.tobytes()
    assert not lost.any()
    assert report.complete and report.decoded_count == frame.header.packet_count


def test_float16_specials_survive_bit_exactly():
    latent = np.array([np.nan, np.inf, -np.inf, -0.0, 6.1e-5, 65504], dtype=np.float16).reshape(1, 2, 3)
    out, _ = depacketize(frame_of(latent, 1))
    assert np.array_equal(out.view(np.uint16), latent.view(np.uint16))


def test_header_describes_the_latent(rng):
    latent = latent_of(rng, "uint8")
    frame = frame_of(latent, 3, scale=[0.1, 2.0], offset=[1 / 3, 0.0], meta={"k": "v"})
    h = frame.header
    assert (h.shape, h.dtype, h.packet_count, h.rows_per_packet) == ((8, 10, 6), "uint8", 4, 3)
    assert [h.rows_of(i) for i in range(4)] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert [(p.row_start, p.row_stop) for p in frame.packets] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert h.scale == (float(np.float32(0.1)), 2.0) and h.offset[0] == float(np.float32(1 / 3))
    assert (h.entropy_coder, h.meta, h.frame_id, h.side_info) == ("zstd", {"k": "v"}, 7, False)


def test_side_packet_carries_float16_constants_and_is_needed(rng):
    latent = latent_of(rng, "uint8")
    frame = frame_of(latent, 3, scale=[0.1, 2.0] * 4, offset=[1 / 3, -1.0] * 4, side_info=True)
    assert frame.total_packets == 5 and frame.packets[-1].index == 4 and len(frame.packets[-1].payload) == 32
    assert frame.header.scale[0] == float(np.float16(0.1))
    out = unpack(frame)
    assert np.array_equal(out.latent, latent) and out.scale[0] == np.float16(0.1) and out.offset[1] == -1.0
    without = unpack(frame.with_packets(frame.packets[:-1]))
    assert without.lost_rows.all() and not without.latent.any() and without.report.lost == (4,)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_side_packet_with_a_non_finite_constant_is_corrupted_not_used(rng, bad):
    # a side packet whose check passes but whose float16s hold a NaN or infinity would dequantise every value
    # to NaN; the frame is treated as one whose constants are unusable (rows lost), and the packet as corrupted
    latent = latent_of(rng, "uint8")
    frame = frame_of(latent, 3, scale=[0.1, 2.0] * 4, offset=[1 / 3, -1.0] * 4, side_info=True)
    values = np.frombuffer(frame.packets[-1].payload, np.float16).copy()
    values[5] = bad
    side = frame.packets[-1]
    poisoned = frame.with_packets([*frame.packets[:-1], type(side)(side.frame_id, side.index, side.row_start,
                                                                   side.row_stop, values.tobytes())])
    out = unpack(poisoned)
    assert out.lost_rows.all() and not out.latent.any()
    assert out.report.corrupted == {4: "non-finite"} and out.report.lost == ()


def test_packet_format_is_zstd_of_c_order_rows(rng):
    latent = latent_of(rng, "float16")
    for p in frame_of(latent, 4).packets:
        raw = zstandard.ZstdDecompressor().decompress(p.payload)
        assert raw == latent[:, p.row_start:p.row_stop, :].astype("<f2").tobytes()


def test_big_endian_input_sends_the_same_bytes(rng):
    latent = latent_of(rng, "float16")
    little, big = frame_of(latent), frame_of(latent.astype(">f2"))
    assert [p.payload for p in little.packets] == [p.payload for p in big.packets]
    assert big.header.dtype == "float16"


def test_a_lost_packet_zeroes_only_its_rows(rng):
    latent = latent_of(rng, "float16") + np.float16(5)  # no zeros anywhere
    frame = frame_of(latent, 3)
    out, lost, report = depacketize_with_report(frame.with_packets(p for p in frame.packets if p.index != 1))
    assert lost.tolist() == [False] * 3 + [True] * 3 + [False] * 4
    assert (out[:, 3:6, :] == 0).all()
    assert np.array_equal(out[:, ~lost, :], latent[:, ~lost, :])
    assert report == DecodeReport(packet_count=4, lost=(1,), corrupted={})
    assert (report.lost_count, report.corrupted_count, report.decoded_count) == (1, 0, 3)


@pytest.mark.parametrize(
    "make_payload, reason",
    [
        (lambda good: good[:-3], "zstd"),  # truncated
        (lambda good: b"not zstd at all", "zstd"),
        (lambda good: good + b"\x00", "zstd"),  # trailing bytes
        (lambda good: zstandard.ZstdCompressor().compress(b"\x01" * 5), "size"),
        (lambda good: zstandard.ZstdCompressor(write_content_size=False).compress(b"\x01" * 144), "size"),
        (lambda good: b"", "zstd"),
    ],
)
def test_undecodable_payloads_are_corrupted(rng, make_payload, reason):
    latent = latent_of(rng, "uint8")  # 8 channels x 3 rows x 6 = 144 bytes per full packet
    frame = frame_of(latent, 3)
    packet = frame.packets[0]
    out, lost, report = depacketize_with_report(replace_packet(frame, 0, with_payload(packet, make_payload(packet.payload))))
    assert report.corrupted == {0: reason}
    assert lost.tolist() == [True] * 3 + [False] * 7
    assert np.array_equal(out[:, 3:, :], latent[:, 3:, :]) and not out[:, :3, :].any()


def test_all_packets_lost_gives_zeros(rng):
    frame = frame_of(latent_of(rng, "float16"), 3)
    out, lost, report = depacketize_with_report(frame.with_packets(()))
    assert lost.all() and not out.any() and report.lost == (0, 1, 2, 3) and report.decoded_count == 0


def test_packets_in_any_order(rng):
    latent = latent_of(rng, "uint8")
    frame = frame_of(latent, 2)
    out, lost = depacketize(frame.with_packets(reversed(frame.packets)))
    assert np.array_equal(out, latent) and not lost.any()


def test_empty_latent_round_trips():
    latent = np.zeros((4, 0, 3), dtype=np.float16)
    frame = frame_of(latent, 2)
    out, lost = depacketize(frame)
    assert frame.header.packet_count == 0 and out.shape == (4, 0, 3) and lost.shape == (0,)


MALFORMED = {  # name: (how to break a valid 4-packet frame, what the error must mention)
    "packet_count": (lambda f: replace(f, header=replace(f.header, packet_count=5)), "packet_count is 5"),
    "dtype": (lambda f: replace(f, header=replace(f.header, dtype="complex64")), "dtype"),
    "negative dim": (lambda f: replace(f, header=replace(f.header, shape=(8, -10, 6))), "shape"),
    "shape length": (lambda f: replace(f, header=replace(f.header, shape=(8, 10))), "expected 3 dims"),
    "feature_shape": (lambda f: replace(f, header=replace(f.header, feature_shape=(16, 10, 6, 1))), "feature_shape"),
    "rows_per_packet": (
        lambda f: replace(f, header=replace(f.header, rows_per_packet=0, packet_count=0)), "rows_per_packet"),
    "version": (lambda f: replace(f, header=replace(f.header, version=1)), "version is 1"),
    "entropy_coder": (lambda f: replace(f, header=replace(f.header, entropy_coder="ans")), "entropy_coder"),
    "too large": (
        lambda f: replace(f, header=replace(f.header, shape=(MAX_LATENT_BYTES, 1, 2), packet_count=1)), "limit"),
    "index out of range": (
        lambda f: f.with_packets([*f.packets[:-1], replace(f.packets[-1], index=4)]), "outside"),
    "duplicate index": (lambda f: f.with_packets([*f.packets, f.packets[0]]), "appears twice"),
    "row range": (lambda f: f.with_packets([replace(f.packets[0], row_stop=2), *f.packets[1:]]), "claims rows"),
    "frame_id": (lambda f: f.with_packets([replace(f.packets[0], frame_id=8), *f.packets[1:]]), "frame_id 8"),
    "side index without side info": (
        lambda f: f.with_packets([*f.packets, replace(f.packets[0], index=4, row_start=0, row_stop=0)]), "outside"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_frames_raise_naming_the_problem(rng, name):
    frame = frame_of(latent_of(rng, "uint8"), 3)
    depacketize(frame)  # valid before the damage
    break_it, message = MALFORMED[name]
    with pytest.raises(MalformedFrame, match=message):
        depacketize(break_it(frame))


def test_rows_per_packet_for_targets_an_mtu():
    assert rows_per_packet_for((1024, 24, 24), "float16") == 1  # one row is 48 KiB already
    rows = rows_per_packet_for((16, 24, 24), np.uint8)
    assert rows == 3 and rows * 16 * 24 <= 1200 < (rows + 1) * 16 * 24
    assert rows_per_packet_for((1, 4, 4), "uint8") == 4  # never more than H
    assert rows_per_packet_for((0, 5, 4), "uint8") == 5
    assert rows_per_packet_for((16, 24, 24), "uint8", target_packet_bytes=10_000) == 24
    assert ROWS_PER_PACKET_DEFAULT >= 1


@pytest.mark.parametrize(
    "latent, kw",
    [
        (np.zeros((4, 4), np.float16), {}),
        (np.zeros((1, 4, 4), np.float64), {}),
        (np.zeros((1, 4, 4), np.float16), {"rows_per_packet": 0}),
        (np.zeros((1, 4, 4), np.float16), {"frame_id": -1}),
    ],
)
def test_packetize_rejects_what_cannot_be_sent(latent, kw):
    args = dict(frame_id=1, codec="c", fingerprint="f", feature_shape=(1, 4, 4)) | kw
    with pytest.raises(ValueError):
        packetize(latent, **args)


@pytest.mark.parametrize("meta, size", [
    ({"image_size": "640,480"}, (640, 480)), ({}, None), ({"image_size": "wide"}, None),
    ({"image_size": "0,480"}, None), ({"image_size": "70000,10"}, None),
])
def test_header_image_size(rng, meta, size):
    frame = frame_of(latent_of(rng, "uint8"), meta=meta)
    assert frame.header.image_size == size
    if size:
        assert frame.with_image_size((3, 4)).header.image_size == (3, 4)
