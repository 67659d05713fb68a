"""Streaming framing: session + frame rebuilds the encoder's file byte for byte, the session is stream-constant."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from semlink.evaluation.data import shapes_samples
from semlink.pixels.framing import FORMATS, UnsplittableFile, rebuild, split

PIL_FORMAT = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}
SCENES = 60
QUALITIES = (5, 20, 40, 60, 90)


@pytest.fixture(scope="module")
def scenes():
    return [s.image.convert("RGB") for s in shapes_samples(SCENES, seed=1207)]


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, PIL_FORMAT[fmt], **options)
    return buf.getvalue()


@pytest.mark.parametrize("side", [64, 32])
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_scene_and_quality_rebuilds_byte_identical(scenes, fmt, side):
    options = {"speed": 8} if fmt == "avif" else {}
    rebuilt = 0
    for quality in QUALITIES:
        sessions = set()
        for image in scenes:
            data = _encode(image.resize((side, side), Image.BICUBIC), fmt, quality=quality, **options)
            form = split(fmt, data)
            assert rebuild(fmt, form.session, form.frame) == data
            assert len(form.frame) < len(data) - 20  # the session really left the frame
            sessions.add(form.session)
            rebuilt += 1
        assert len(sessions) == 1, f"{fmt} q{quality}: the session differs between scenes"
    assert rebuilt == SCENES * len(QUALITIES)  # 300 per (format, size): 1,800 files in all


def test_session_sizes_are_the_headers_a_stream_sends_once(scenes):
    image = scenes[0].resize((64, 64))
    assert len(split("jpeg", _encode(image, "jpeg", quality=50)).session) == 623  # SOI APP0 DQT×2 SOF0 DHT×4 SOS
    assert len(split("webp", _encode(image, "webp", quality=50)).session) == 27  # RIFF + chunk header + 7 fixed
    assert len(split("avif", _encode(image, "avif", quality=50, speed=8)).session) == 288  # boxes + sequence header


def test_avif_at_other_speeds_and_webp_padding(scenes):
    for speed in (10, 4):
        data = _encode(scenes[1].resize((64, 64)), "avif", quality=30, speed=speed)
        assert rebuild("avif", *_fields(split("avif", data))) == data
    # libwebp pads its partitions to an even chunk (1,200 files here, none odd), so the pad byte is checked the
    # other way round: a frame that makes the chunk odd (chunk = frame + 7 fixed bytes) rebuilds with a pad byte and
    # splits back to itself.
    form = split("webp", _encode(scenes[1].resize((64, 64)), "webp", quality=30))
    odd = form.frame[:-1] if len(form.frame) % 2 else form.frame
    data = rebuild("webp", form.session, odd)
    assert int.from_bytes(data[16:20], "little") % 2 == 1 and data[-1] == 0 and len(data) % 2 == 0
    assert split("webp", data) == type(form)(form.session, odd)


def _fields(form):
    return form.session, form.frame


def test_files_that_do_not_stream_are_refused_with_the_reason(scenes):
    image = scenes[0].resize((64, 64))
    with pytest.raises(UnsplittableFile, match="progressive"):
        split("jpeg", _encode(image, "jpeg", quality=50, progressive=True))
    with pytest.raises(UnsplittableFile, match="VP8L"):
        split("webp", _encode(image, "webp", lossless=True))
    transparent = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    transparent.paste((0, 255, 0, 255), (10, 10, 30, 30))
    with pytest.raises(UnsplittableFile, match="2 items"):
        split("avif", _encode(transparent, "avif", quality=50))
    with pytest.raises(UnsplittableFile, match="not a WebP"):
        split("webp", _encode(image, "jpeg", quality=50))
    with pytest.raises(ValueError, match="jpeg, webp, avif"):
        split("png", b"")


def test_a_received_prefix_rebuilds_a_consistent_truncated_file(scenes):
    data = _encode(scenes[2].resize((64, 64)), "avif", quality=60, speed=8)
    form = split("avif", data)
    cut = rebuild("avif", form.session, form.frame[: len(form.frame) // 2])
    assert len(cut) == len(form.session) + len(form.frame) // 2
    mdat = cut.rfind(b"mdat") - 4
    assert mdat + int.from_bytes(cut[mdat : mdat + 4], "big") == len(cut)  # mdat's size patched to what came
    webp = _encode(scenes[2].resize((64, 64)), "webp", quality=60)
    form = split("webp", webp)
    cut = rebuild("webp", form.session, form.frame[:40])
    assert int.from_bytes(cut[4:8], "little") + 8 == len(cut)
