"""Image bombs beyond the PNG one (test_transmitter_attacks.py): huge declared dimensions in every common format
are 413 from the header alone, and a file cut anywhere is 422 (or 415 before its signature is whole), never 500."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from attack_helpers import run, strict_json
from PIL import Image

from semlink.launch.ports import free_port
from transmitter_service.images import CorruptImage, ImageTooLarge, NotAnImage, claimed_format, decode_image

pytestmark = [pytest.mark.timeout(120), pytest.mark.filterwarnings("ignore::UserWarning")]  # PIL warns on bad EXIF


def saved(fmt: str, size=(40, 30), **kw) -> bytes:
    image = Image.new("RGB", size, (10, 120, 200))
    for x in range(size[0]):
        image.putpixel((x, x % size[1]), (5 * x % 256, 0, 255 - 5 * x % 256))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


# Small files whose headers declare (width, height), the pixel data left as it was: each edits the field the
# format keeps its size in (and the PNG header's CRC, which PIL checks).
def png_claiming(w: int, h: int) -> bytes:
    data = bytearray(saved("PNG"))
    data[16:24] = struct.pack(">II", w, h)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def gif_claiming(w: int, h: int) -> bytes:
    data = bytearray(saved("GIF"))
    data[6:10] = struct.pack("<HH", w, h)  # logical screen
    at = data.index(b"\x2c", 13)  # image descriptor
    data[at + 5:at + 9] = struct.pack("<HH", w, h)
    return bytes(data)


def bmp_claiming(w: int, h: int) -> bytes:
    data = bytearray(saved("BMP"))
    data[18:26] = struct.pack("<ii", w, h)
    return bytes(data)


def jpeg_claiming(w: int, h: int) -> bytes:
    data = bytearray(saved("JPEG"))
    at = data.index(b"\xff\xc0")  # baseline frame header: length, precision, height, width
    data[at + 5:at + 9] = struct.pack(">HH", h, w)
    return bytes(data)


def webp_claiming(w: int, h: int) -> bytes:
    data = bytearray(saved("WEBP", lossless=True))
    assert data[12:16] == b"VP8L"
    bits = int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1) | (w - 1) | ((h - 1) << 14)
    data[21:25] = bits.to_bytes(4, "little")
    return bytes(data)


CLAIMING = {"PNG": png_claiming, "GIF": gif_claiming, "BMP": bmp_claiming, "JPEG": jpeg_claiming,
            "WEBP": webp_claiming}
PIL_BOMB = (16383, 16383)  # 268 Mpx: over PIL's own bomb limit (2 x Image.MAX_IMAGE_PIXELS), in every format
OVER_OURS = (7000, 7000)  # 49 Mpx: under PIL's, over the service's 40 Mpx default


@pytest.mark.parametrize("fmt", sorted(CLAIMING))
def test_huge_declared_dimensions_are_refused_from_the_header(fmt, peak_memory):
    peak_memory.reset()
    started = time.perf_counter()
    for size, says in ((PIL_BOMB, "decompression bomb"), (OVER_OURS, "7000×7000 = 49 Mpx")):
        data = CLAIMING[fmt](*size)
        assert len(data) < 4096  # a few kB that would be hundreds of MB decoded
        if size == OVER_OURS:  # the file really claims that size (PIL refuses to open the bigger one at all)
            with Image.open(io.BytesIO(data)) as probe:
                assert probe.size == size
        with pytest.raises(ImageTooLarge, match=says) as refused:
            decode_image(data)
        assert "smaller image" in str(refused.value)
    assert time.perf_counter() - started < 2 and peak_memory.growth_mb < 50  # decoded, 49 Mpx alone is 147 MB


SIGNED = ["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF", "ICO"]


@pytest.mark.parametrize("fmt", SIGNED)
def test_a_file_cut_anywhere_is_corrupt_or_not_yet_an_image_never_an_error(fmt):
    """Every prefix of a small image: 415 while its signature is incomplete, else 422 — unless the cut lost no
    pixel (a trailer), when it decodes to the very same pixels."""
    data = saved(fmt)
    whole = decode_image(data)
    outcomes = {}
    for cut in range(len(data)):
        part = data[:cut]
        try:
            image = decode_image(part)
        except NotAnImage:
            outcomes[cut] = 415
            assert claimed_format(part) is None, (fmt, cut)
        except CorruptImage as err:
            outcomes[cut] = 422
            assert f"{cut} bytes" in str(err) or "does not decode" in str(err), err
        else:
            outcomes[cut] = 200
            assert image.tobytes() == whole.tobytes(), (fmt, cut)
    assert list(outcomes.values()).count(422) > len(data) // 2, outcomes  # not vacuous: most cuts are corrupt


def test_bytes_that_are_no_image_stay_415():
    for junk in (b"definitely not an image", b"GET / HTTP/1.1\r\n\r\n", b"\x00\xff" * 64, b"{\"a\": 1}"):
        with pytest.raises(NotAnImage):
            decode_image(junk)


def test_the_transmitter_answers_bombs_413_and_cut_files_422(running_transmitter):
    gif = saved("GIF")
    uploads = {
        **{f"{fmt} {PIL_BOMB[0]}²": CLAIMING[fmt](*PIL_BOMB) for fmt in sorted(CLAIMING)},
        "BMP 7000²": bmp_claiming(*OVER_OURS),
        "GIF cut in its palette": gif[:40],
        "PNG cut after its signature": saved("PNG")[:12],
        "WEBP cut in its pixels": saved("WEBP")[:60],
    }

    async def main():
        async with running_transmitter(target=f"127.0.0.1:{free_port()}") as client:
            answers = {name: await client.post("/v1/frames", content=data) for name, data in uploads.items()}
            return answers, (await client.get("/v1/stats")).json(), (await client.get("/health/live")).status_code

    answers, stats, live = run(main())
    for name, response in answers.items():
        expected = 413 if "²" in name else 422
        assert response.status_code == expected, (name, response.text)
        detail = strict_json(response.text)["detail"]
        says = ("smaller image",) if expected == 413 else ("truncated or damaged", "does not decode")
        assert any(words in detail for words in says), (name, detail)
    assert "SEMLINK_TX_MAX_IMAGE_PIXELS" in answers["BMP 7000²"].json()["detail"]
    assert "GIF" in answers["GIF cut in its palette"].json()["detail"]
    assert stats["uploads_refused"]["too_large"] == 6 and stats["uploads_refused"]["corrupt_image"] == 3
    assert stats["queue_depth"] == 0 and live == 200
