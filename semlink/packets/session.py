"""A stream's session: everything about its frames that does not change from frame to frame, sent once.

The transmitter opens every stream (and every reconnect) with its session; the
receiver accepts or refuses it there, before any frame flows. A session id is 64
random bits from the OS (:func:`new_session_id`) and is never shown: it is what
lets a stream (re)claim its frame ids. A frame's id is ``number << 32 | seq``:
the session's public *number* (the low 20 bits of its id) names the stream, the
sequence number (whose low 16 bits each packet carries) names the frame within
it, so frame ids stay exact integers in JSON and in JavaScript (below 2**53), and
knowing them leaves 44 bits of the session id to guess.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from semlink.packets.datagram import CHECK_BYTES, MAX_INDEX, overhead_bytes
from semlink.packets.errors import MalformedFrame
from semlink.packets.packing import MAX_PACK, MAX_SLICES
from semlink.packets.frame import WIRE_VERSION, FrameHeader, image_size_meta
from semlink.packets.validate import packet_count_for, validate_header

SESSION_ID_BITS = 64
NUMBER_BITS = 20  # the low bits of a session id that prefix its frame ids (public)
SEQ_BITS = 32
DOMAINS = ("features", "pixels")  # what a session's frames carry: vision features, or the image itself
MAX_STREAM_HEADER_BYTES = 4096  # a pixel stream's constant bytes (JPEG tables, HEIF boxes): far below this
PIXEL_CONFIG_KEY = "pixel_config"  # FrameHeader.meta key of a pixel frame: its session's codec_config


def new_session_id() -> int:
    """64 random bits from the OS whose public number (low 20 bits) is not 0."""
    while True:
        session_id = secrets.randbits(SESSION_ID_BITS)
        if session_number(session_id):
            return session_id


def session_number(session_id: int) -> int:
    """The public part of a session id: the prefix of its frame ids (``frame_id >> 32``)."""
    return session_id & ((1 << NUMBER_BITS) - 1)


def frame_id_of(session_id: int, seq: int) -> int:
    """The frame id of sequence number ``seq`` in session ``session_id`` (or in the session numbered so)."""
    return (session_number(session_id) << SEQ_BITS) | (seq & ((1 << SEQ_BITS) - 1))


def split_frame_id(frame_id: int) -> tuple[int, int]:
    """``(session number, seq)`` of a frame id: the number is the public low bits of the session id."""
    return frame_id >> SEQ_BITS, frame_id & ((1 << SEQ_BITS) - 1)


@dataclass(frozen=True)
class Session:
    """The static part of every frame header of one stream.

    ``codec_config`` is the codec's config as JSON; ``entropy_model`` the identity
    of its entropy model's integer tables (empty for codecs coded with zstd);
    ``scale``/``offset`` static dequantisation constants (empty when ``side_info``
    sends them per frame, or when the codec has none); ``check`` the per-packet
    check (``crc16`` or ``crc32``); ``image_size`` the ``(width, height)`` frames
    have unless their packets say otherwise. ``domain`` says what the frames carry:
    ``features``, or ``pixels`` (a coded image in streaming form, whose
    stream-constant bytes, ``stream_header``, travel here once: see
    :mod:`semlink.pixels.stream`). ``pack`` > 1: the stream's frames travel in groups of
    up to ``pack``, datagram ``j`` of a group holding slice ``j`` of each
    (:mod:`semlink.packets.packing`).
    """

    session_id: int
    codec: str
    codec_config: str
    fingerprint: str
    feature_shape: tuple[int, int, int]
    shape: tuple[int, int, int]
    dtype: str
    rows_per_packet: int
    scale: tuple[float, ...] = ()
    offset: tuple[float, ...] = ()
    side_info: bool = False
    entropy_coder: str = "zstd"
    entropy_model: str = ""
    check: str = "crc32"
    image_size: tuple[int, int] = (0, 0)
    version: int = WIRE_VERSION
    domain: str = "features"
    stream_header: bytes = b""
    pack: int = 1

    @property
    def packet_count(self) -> int:
        """Row packets per frame (the side packet, if any, comes on top)."""
        return packet_count_for(self.shape[1], self.rows_per_packet)

    @property
    def packets_per_frame(self) -> int:
        return self.packet_count + int(self.side_info)

    @property
    def number(self) -> int:
        """The session's public number: its frame ids' prefix (the id's low bits; the rest stays secret)."""
        return session_number(self.session_id)

    def frame_id(self, seq: int) -> int:
        return frame_id_of(self.session_id, seq)

    def header(self, frame_id: int, image_size: tuple[int, int] | None = None,
               packet_count: int | None = None) -> FrameHeader:
        """The decoder's view of frame ``frame_id`` of this session.

        A pixel frame's length varies, so its ``packet_count`` (what its packets say) is
        its own: the header's shape is then ``(1, packet_count, packet bytes)``, and its
        meta names the session's codec config (the setting its bytes were coded at).
        """
        size = image_size or self.image_size
        shape, count, meta = self.shape, self.packet_count, image_size_meta(size) if size[0] else {}
        if packet_count is not None:
            shape, count = (shape[0], packet_count, shape[2]), packet_count_for(packet_count, self.rows_per_packet)
        if self.domain == "pixels":
            meta[PIXEL_CONFIG_KEY] = self.codec_config
        return FrameHeader(
            frame_id=frame_id, codec=self.codec, fingerprint=self.fingerprint, shape=shape, dtype=self.dtype,
            packet_count=count, rows_per_packet=self.rows_per_packet, feature_shape=self.feature_shape,
            scale=self.scale, offset=self.offset, entropy_coder=self.entropy_coder, side_info=self.side_info,
            version=self.version, meta=meta,
        )

    def framing_bytes(self) -> int:
        """Bytes each datagram adds to its payload (image size not counted)."""
        return overhead_bytes(self.check)


def validate_session(session: Session) -> None:
    """Raise ``MalformedFrame`` naming the first field that makes ``session`` unusable."""
    if not 0 <= session.session_id < 1 << SESSION_ID_BITS or not session_number(session.session_id):
        raise MalformedFrame(f"session_id {session.session_id!r} is not {SESSION_ID_BITS} bits whose low "
                             f"{NUMBER_BITS} (its frame ids' prefix) are not all 0")
    if not isinstance(session.rows_per_packet, int) or session.rows_per_packet < 1:
        raise MalformedFrame(f"session rows_per_packet is {session.rows_per_packet!r}, must be >= 1")
    if session.check not in CHECK_BYTES:
        raise MalformedFrame(f"session check {session.check!r} is not one of {', '.join(CHECK_BYTES)}")
    validate_header(session.header(0))
    if session.packets_per_frame > MAX_INDEX + 1:
        raise MalformedFrame(
            f"{session.packets_per_frame} packets per frame is over the wire's {MAX_INDEX + 1}; "
            "send more latent rows per packet"
        )
    if not isinstance(session.pack, int) or not 1 <= session.pack <= MAX_PACK:
        raise MalformedFrame(f"session pack is {session.pack!r}, must be 1 (every frame alone) to {MAX_PACK}")
    if session.pack > 1 and session.domain == "features" and session.packets_per_frame > MAX_SLICES:
        raise MalformedFrame(f"a packed session's frames have at most {MAX_SLICES} packets, these "
                             f"{session.packets_per_frame}; send more latent rows per packet, or pack 1")
    if not session.side_info and session.scale and len(session.scale) != session.shape[0]:
        raise MalformedFrame(f"session has {len(session.scale)} scales for {session.shape[0]} latent channels")
    if len(session.scale) != len(session.offset):
        raise MalformedFrame(f"session has {len(session.scale)} scales but {len(session.offset)} offsets")
    if session.side_info and session.scale:
        raise MalformedFrame("a session with per-frame side information carries no static scale/offset")
    width, height = session.image_size
    if not (0 <= width < 1 << 16 and 0 <= height < 1 << 16):
        raise MalformedFrame(f"session image_size {session.image_size} is not two uint16 values")
    if session.domain not in DOMAINS:
        raise MalformedFrame(f"session domain {session.domain!r} is not one of {', '.join(DOMAINS)}")
    if session.domain == "features" and session.stream_header:
        raise MalformedFrame("a features session carries no stream_header (only pixel sessions do)")
    if len(session.stream_header) > MAX_STREAM_HEADER_BYTES:
        raise MalformedFrame(f"session stream_header of {len(session.stream_header)} bytes is over the "
                             f"{MAX_STREAM_HEADER_BYTES}-byte limit")
