"""Pixel files in streaming form: the stream-constant bytes (session) split from what must travel per frame.

A streaming system never sends a JPEG's tables, a WebP's RIFF wrapper or an
AVIF's HEIF boxes with every frame: RTP payload formats carry them once (or
imply them) and send the coded picture alone. ``split`` cuts an encoder's file
that way, ``rebuild`` puts it back together byte for byte:

- **jpeg** (RFC 2435 style): the session is everything up to and including the
  SOS segment (SOI, APPn, DQT, SOF, DHT, SOS); the frame is the entropy-coded
  scan; EOI is re-added on rebuild. Only baseline/extended sequential files with
  one scan split (a progressive file raises).
- **webp**: the session is the RIFF header, the ``VP8 `` chunk header and the
  keyframe's fixed start code and dimensions (7 bytes after the 3-byte frame
  tag); the frame is the frame tag (it holds the first partition's size, so it
  varies per frame) and the partitions. The RIFF and chunk sizes and the pad
  byte are recomputed from the frame's length. A lossless (VP8L) or extended
  (VP8X) file raises.
- **avif**: the session is the ``ftyp`` and ``meta`` boxes, the ``mdat`` header
  and the AV1 OBUs before the first frame OBU (temporal delimiter, sequence
  header); the frame is the frame OBUs. The session is a template: on rebuild
  the ``iloc`` extent length and the ``mdat`` size are patched, at positions found
  by parsing the session again. A file of several items (alpha, grid), with
  several extents, or with anything after ``mdat``, raises.

Everything is parsed, never found at fixed offsets; a file that does not split
raises :class:`UnsplittableFile` saying why.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

FORMATS = ("jpeg", "webp", "avif")


class UnsplittableFile(ValueError):
    """An encoder's file that cannot be split into stream-constant session bytes and a frame."""


@dataclass(frozen=True)
class StreamForm:
    """One coded picture in streaming form."""

    session: bytes  # stream-constant bytes, sent once per stream (identical for every frame at one setting)
    frame: bytes  # what travels per frame


def split(fmt: str, data: bytes) -> StreamForm:
    """The encoder's file ``data`` (``fmt`` in jpeg, webp, avif) as session bytes and a frame."""
    return _handler(fmt)[0](bytes(data))


def rebuild(fmt: str, session: bytes, frame: bytes) -> bytes:
    """The encoder's file again, byte-identical, from the session bytes and a frame (or a received prefix of one)."""
    return _handler(fmt)[1](bytes(session), bytes(frame))


def _handler(fmt: str):
    handlers = {"jpeg": (_split_jpeg, _rebuild_jpeg), "webp": (_split_webp, _rebuild_webp),
                "avif": (_split_avif, _rebuild_avif)}
    if fmt not in handlers:
        raise ValueError(f"pixel framing knows {', '.join(FORMATS)}, not {fmt!r}")
    return handlers[fmt]


# --- JPEG -----------------------------------------------------------------------------------------------------------

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_SEQUENTIAL_SOF = {0xC0, 0xC1}  # baseline and extended sequential Huffman
_OTHER_SOF = {0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _split_jpeg(data: bytes) -> StreamForm:
    if data[:2] != b"\xff\xd8":
        raise UnsplittableFile("not a JPEG file: it does not start with SOI")
    pos, sof = 2, None
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise UnsplittableFile(f"JPEG: no marker segment at byte {pos} before the scan")
        marker = data[pos + 1]
        length = struct.unpack_from(">H", data, pos + 2)[0]
        if length < 2 or pos + 2 + length > len(data):
            raise UnsplittableFile(f"JPEG: segment 0xFF{marker:02X} at byte {pos} overruns the file")
        if marker in _OTHER_SOF:
            raise UnsplittableFile(f"JPEG: frame type 0xFF{marker:02X} (progressive, lossless or arithmetic) "
                                   "has no single scan to stream; encode baseline (progressive=False)")
        if marker in _SEQUENTIAL_SOF:
            sof = marker
        pos += 2 + length
        if marker == _SOS:
            break
    if sof is None:
        raise UnsplittableFile("JPEG: a scan starts before any SOF0/SOF1 frame header")
    if data[-2:] != b"\xff\xd9":
        raise UnsplittableFile("JPEG: the file does not end with EOI")
    scan = data[pos:-2]
    _check_single_scan(scan)
    return StreamForm(data[:pos], scan)


def _check_single_scan(scan: bytes) -> None:
    """Inside an entropy-coded scan only stuffed 0xFF00, restart markers and fill bytes may follow 0xFF."""
    i = scan.find(b"\xff")
    while i != -1 and i + 1 < len(scan):
        follower = scan[i + 1]
        if follower not in (0x00, 0xFF) and not 0xD0 <= follower <= 0xD7:
            raise UnsplittableFile(f"JPEG: marker 0xFF{follower:02X} inside the scan (several scans?); "
                                   "only single-scan sequential files stream")
        i = scan.find(b"\xff", i + 2 if follower != 0xFF else i + 1)


def _rebuild_jpeg(session: bytes, frame: bytes) -> bytes:
    if session[:2] != b"\xff\xd8":
        raise UnsplittableFile("JPEG session does not start with SOI")
    return session + frame + b"\xff\xd9"


# --- WebP (lossy VP8) -----------------------------------------------------------------------------------------------

_VP8_TAG = 3  # frame tag: keyframe bit, version, show_frame, first partition size
_VP8_FIXED = 7  # keyframe start code 9d 01 2a, then 14-bit width and height with their scales


def _split_webp(data: bytes) -> StreamForm:
    if len(data) < 20 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise UnsplittableFile("not a WebP file: no RIFF/WEBP header")
    riff_size = struct.unpack_from("<I", data, 4)[0]
    if riff_size + 8 != len(data):
        raise UnsplittableFile(f"WebP: RIFF size {riff_size} does not match the file's {len(data)} bytes")
    fourcc = data[12:16]
    if fourcc != b"VP8 ":
        raise UnsplittableFile(f"WebP: first chunk is {fourcc!r}, not 'VP8 ' (lossless VP8L or extended VP8X files "
                               "do not stream as one VP8 frame; encode lossy RGB without metadata)")
    chunk = struct.unpack_from("<I", data, 16)[0]
    end = 20 + chunk
    padded = end + (chunk & 1)
    if padded != len(data) or (chunk & 1 and data[end] != 0):
        raise UnsplittableFile("WebP: the VP8 chunk is not the file's only chunk")
    vp8 = data[20:end]
    if len(vp8) < _VP8_TAG + _VP8_FIXED or vp8[0] & 1 or vp8[3:6] != b"\x9d\x01\x2a":
        raise UnsplittableFile("WebP: the VP8 chunk does not hold a keyframe (no start code 9d 01 2a)")
    header = b"RIFF" + bytes(4) + b"WEBPVP8 " + bytes(4)  # both sizes follow from the frame's length
    return StreamForm(header + vp8[_VP8_TAG : _VP8_TAG + _VP8_FIXED], vp8[:_VP8_TAG] + vp8[_VP8_TAG + _VP8_FIXED :])


def _rebuild_webp(session: bytes, frame: bytes) -> bytes:
    if len(session) != 20 + _VP8_FIXED or session[:4] != b"RIFF" or session[12:16] != b"VP8 ":
        raise UnsplittableFile("WebP session is not a RIFF/VP8 header with the keyframe's fixed bytes")
    if len(frame) < _VP8_TAG:
        raise UnsplittableFile("WebP frame shorter than its 3-byte frame tag")
    chunk = len(frame) + _VP8_FIXED
    pad = b"\x00" * (chunk & 1)
    header = b"RIFF" + struct.pack("<I", 12 + chunk + len(pad)) + b"WEBPVP8 " + struct.pack("<I", chunk)
    return header + frame[:_VP8_TAG] + session[20:] + frame[_VP8_TAG:] + pad


# --- AVIF (HEIF boxes around AV1 OBUs) ------------------------------------------------------------------------------

_OBU_SEQUENCE_HEADER, _OBU_TEMPORAL_DELIMITER = 1, 2
_SESSION_OBUS = {_OBU_SEQUENCE_HEADER, _OBU_TEMPORAL_DELIMITER}


@dataclass(frozen=True)
class _Box:
    kind: bytes
    start: int  # offset of the box's size field
    header: int  # 8, or 16 with a 64-bit size
    end: int  # offset after its last byte (the data's end for a box sized "to the end")


def _boxes(data: bytes, start: int, end: int, open_last: bool = False) -> list[_Box]:
    """The boxes in ``data[start:end]``; ``open_last`` lets the last box run past ``end`` (a session's mdat)."""
    out, pos = [], start
    while pos < end:
        if pos + 8 > end:
            raise UnsplittableFile(f"AVIF: truncated box header at byte {pos}")
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise UnsplittableFile(f"AVIF: truncated 64-bit box size at byte {pos}")
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        if size == 0:  # "to the end": a file's last box, or a session's zeroed mdat size
            size = end - pos
        if size < header:
            raise UnsplittableFile(f"AVIF: box {kind!r} at byte {pos} has size {size}")
        if pos + size > end and not open_last:
            raise UnsplittableFile(f"AVIF: box {kind!r} at byte {pos} overruns its parent")
        out.append(_Box(kind, pos, header, pos + size))
        pos += size
    return out


@dataclass(frozen=True)
class _Iloc:
    length_at: int  # offset of the one extent's length field
    length_size: int
    data_offset: int  # absolute file offset of the extent (base offset + extent offset)


def _read_uint(data: bytes, pos: int, size: int) -> int:
    return int.from_bytes(data[pos : pos + size], "big") if size else 0


def _parse_iloc(data: bytes, box: _Box) -> _Iloc:
    pos = box.start + box.header
    version = data[pos]
    pos += 4
    offset_size, length_size = data[pos] >> 4, data[pos] & 15
    base_offset_size, index_size = data[pos + 1] >> 4, (data[pos + 1] & 15 if version in (1, 2) else 0)
    pos += 2
    id_size = 4 if version == 2 else 2
    items = _read_uint(data, pos, id_size)
    pos += id_size
    if items != 1:
        raise UnsplittableFile(f"AVIF: {items} items in iloc (alpha, grid or thumbnails); only a one-item image streams")
    pos += id_size  # item id
    if version in (1, 2):
        method = _read_uint(data, pos, 2) & 15
        pos += 2
        if method != 0:
            raise UnsplittableFile(f"AVIF: iloc construction method {method}; only file offsets (0) stream")
    pos += 2  # data reference index
    base = _read_uint(data, pos, base_offset_size)
    pos += base_offset_size
    extents = _read_uint(data, pos, 2)
    pos += 2
    if extents != 1:
        raise UnsplittableFile(f"AVIF: the image item has {extents} extents; only one streams")
    pos += index_size
    offset = _read_uint(data, pos, offset_size)
    pos += offset_size
    if length_size not in (4, 8) or pos + length_size > box.end:
        raise UnsplittableFile(f"AVIF: iloc extent length of {length_size} bytes cannot be patched")
    return _Iloc(pos, length_size, base + offset)


def _avif_layout(data: bytes, open_mdat: bool) -> tuple[_Iloc, _Box]:
    """The iloc extent and the mdat box of an AVIF file (or of a session, whose mdat is cut short)."""
    top = _boxes(data, 0, len(data), open_last=open_mdat)
    kinds = [b.kind for b in top]
    if kinds[:1] != [b"ftyp"] or b"meta" not in kinds or kinds[-1] != b"mdat" or kinds.count(b"mdat") != 1:
        raise UnsplittableFile(f"AVIF: boxes {kinds}; expected ftyp, meta, then one mdat last")
    meta = top[kinds.index(b"meta")]
    ilocs = [b for b in _boxes(data, meta.start + meta.header + 4, meta.end) if b.kind == b"iloc"]
    if len(ilocs) != 1:
        raise UnsplittableFile("AVIF: meta holds no single iloc box")
    iloc, mdat = _parse_iloc(data, ilocs[0]), top[-1]
    if iloc.data_offset != mdat.start + mdat.header:
        raise UnsplittableFile("AVIF: the image item does not start where mdat's data does")
    return iloc, mdat


def _leb128(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for i in range(8):
        if pos + i >= len(data):
            raise UnsplittableFile("AVIF: truncated OBU size")
        value |= (data[pos + i] & 0x7F) << (7 * i)
        if not data[pos + i] & 0x80:
            return value, pos + i + 1
    raise UnsplittableFile("AVIF: OBU size longer than 8 bytes")


def _split_avif(data: bytes) -> StreamForm:
    iloc, mdat = _avif_layout(data, open_mdat=False)
    if _read_uint(data, iloc.length_at, iloc.length_size) != mdat.end - iloc.data_offset:
        raise UnsplittableFile("AVIF: the image item does not fill mdat")
    pos, frame_start = iloc.data_offset, None
    while pos < mdat.end:
        header = data[pos]
        kind, has_extension, has_size = (header >> 3) & 15, header & 4, header & 2
        if header & 0x80 or not has_size:
            raise UnsplittableFile(f"AVIF: OBU at byte {pos} has no size field (or a forbidden bit)")
        size, payload = _leb128(data, pos + 1 + (1 if has_extension else 0))
        if kind in _SESSION_OBUS and frame_start is not None:
            raise UnsplittableFile(f"AVIF: OBU type {kind} after the first frame OBU; one frame per file only")
        if kind not in _SESSION_OBUS and frame_start is None:
            frame_start = pos
        pos = payload + size
    if pos != mdat.end or frame_start is None:
        raise UnsplittableFile("AVIF: mdat's OBUs do not end with it, or hold no frame")
    session = bytearray(data[:frame_start])  # the sizes that follow from the frame's length are zeroed
    session[iloc.length_at : iloc.length_at + iloc.length_size] = bytes(iloc.length_size)
    if struct.unpack_from(">I", data, mdat.start)[0] == 0:
        raise UnsplittableFile("AVIF: mdat sized 'to the end of the file' cannot be told from a patched size")
    size_at, size_bytes = (mdat.start + 8, 8) if mdat.header == 16 else (mdat.start, 4)
    session[size_at : size_at + size_bytes] = bytes(size_bytes)
    return StreamForm(bytes(session), data[frame_start:])


def _rebuild_avif(session: bytes, frame: bytes) -> bytes:
    iloc, mdat = _avif_layout(session, open_mdat=True)
    out = bytearray(session + frame)
    payload = len(out) - iloc.data_offset
    out[iloc.length_at : iloc.length_at + iloc.length_size] = payload.to_bytes(iloc.length_size, "big")
    if mdat.header == 16:
        out[mdat.start + 8 : mdat.start + 16] = struct.pack(">Q", payload + 16)
    else:
        out[mdat.start : mdat.start + 4] = struct.pack(">I", payload + 8)
    return bytes(out)
