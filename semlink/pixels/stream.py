"""A pixel peer as the services stream it: the model-input image coded, sent in streaming form, and back to features.

The transmitter codes each image as the model sees it (resized to the model's
input, or to ``S × S`` for the downscaled form) with a hand codec
(the eval's :class:`~semlink.pixels.peer.HandPeer`: one coder for both), splits the file
(:func:`semlink.pixels.framing.split`) and sends the stream-constant bytes once,
in the session (``domain`` ``pixels``, ``stream_header``), and the frame alone per
frame, as packets in the features' datagram framing
(:mod:`semlink.packets.pixels`). Its codec id is ``pixels-<fmt>``; the setting
(format, quality, side, speed) travels as the session's codec config.

The receiver takes such a session only when its stream header is byte for byte
what its own encoder writes at that setting (so no header it has not made itself
ever reaches a decoder: no size, no table, no box a sender chose), rebuilds each
frame's file from the session and the packets' decodable prefix
(:func:`semlink.pixels.framing.rebuild`), decodes it with Pillow, refusing any
file whose header is not the session's size before a pixel is decoded, and runs
its vision tower on the image: the features any task is then answered on. A
frame of which packets were lost decodes as the eval's pixel peers do
(:meth:`HandPeer.receive <semlink.pixels.peer.HandPeer.receive>`: the decodable
prefix, grey where nothing decodes); a complete frame that does not decode is refused
(:class:`~semlink.codecs.CodecError`, a ``malformed`` rejection), never a crash.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from PIL import Image

from semlink.codecs import CodecError
from semlink.florence import FlorenceBundle, VisionHalf
from semlink.packets import DecodeReport, Frame, Session
from semlink.packets.session import PIXEL_CONFIG_KEY
from semlink.packets.pixels import PIXEL_DTYPE, PIXEL_SHAPE, frame_prefix, pixel_packets
from semlink.pixels.codecs import AVIF_REALTIME_SPEED, HAND_FORMATS
from semlink.pixels.framing import UnsplittableFile, rebuild
from semlink.pixels.peer import HandPeer
from semlink.pixels.spec import BadPeerSpec, HandSpec, parse_peer_spec

CODEC_PREFIX = "pixels-"
CHECK = "crc16"  # the learned codec's check: pixel packets are as short
MAX_SETTINGS = 16  # settings a receiver keeps the stream header of
_PIL_NAMES = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}


def is_pixel_codec(name: str) -> bool:
    """Whether ``name`` is a pixel peer's codec id (``pixels-avif``) or spec (``avif:20``, ``webp@32:60``)."""
    if name.startswith(CODEC_PREFIX):
        return name[len(CODEC_PREFIX):] in HAND_FORMATS
    try:
        specs = parse_peer_spec(name)
    except BadPeerSpec:
        return False
    return len(specs) == 1 and isinstance(specs[0], HandSpec)


@dataclass(frozen=True)
class PixelSetting:
    """What a pixel stream is coded at: the session's codec config, as JSON."""

    fmt: str
    quality: int
    side: int | None = None
    speed: int | None = None

    @classmethod
    def of(cls, spec: HandSpec) -> PixelSetting:
        return cls(spec.fmt, spec.quality, spec.side, spec.encoder_speed if spec.fmt == "avif" else None)

    @classmethod
    def from_json(cls, text: str, fmt: str) -> PixelSetting:
        """The setting a session's codec config names; raises ``CodecError`` naming what is wrong."""
        try:
            fields = json.loads(text)
            setting = cls(**fields)
        except (ValueError, TypeError) as err:
            raise CodecError(f"pixel session codec_config {text[:80]!r} is not a pixel setting: {err}") from None
        side_ok = setting.side is None or (type(setting.side) is int and 8 <= setting.side <= 4096)
        speed_ok = setting.speed is None if fmt != "avif" else type(setting.speed) is int and 0 <= setting.speed <= 10
        if (setting.fmt != fmt or type(setting.quality) is not int or not 0 <= setting.quality <= 100
                or not side_ok or not speed_ok):
            raise CodecError(f"pixel session codec_config {text[:80]!r} is not a {fmt} setting (quality 0-100, "
                             "side 8-4096 or null, speed 0-10 for avif)")
        return setting

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @property
    def name(self) -> str:
        """As a spec is written: ``avif:20``, ``webp@32:60``, ``avif-s0:20``."""
        side = f"@{self.side}" if self.side else ""
        speed = f"-s{self.speed}" if self.speed not in (None, AVIF_REALTIME_SPEED) else ""
        return f"{self.fmt}{side}{speed}:{self.quality}"


class PixelStream:
    """One pixel format on one model: frames and sessions at a transmitter, features from frames at a receiver.

    ``setting`` is the transmitter's (``None`` at a receiver, which decodes any
    setting of ``fmt`` whose stream header it can make itself).
    """

    def __init__(self, bundle: FlorenceBundle, fmt: str, setting: PixelSetting | None = None):
        if fmt not in HAND_FORMATS:
            raise CodecError(f"no pixel codec {fmt!r}; one of {', '.join(HAND_FORMATS)}")
        self.fmt = fmt
        self.codec_id = CODEC_PREFIX + fmt
        self.setting = setting
        self.label = setting.name if setting else self.codec_id
        self.fingerprint = bundle.fingerprint
        self.feature_shape = tuple(bundle.feature_shape)
        height, width = bundle.image_size
        self.input_size = (width, height)
        self.vision = VisionHalf(bundle)
        self.device = bundle.device
        self._peers: dict[PixelSetting, HandPeer] = {}

    @classmethod
    def named(cls, bundle: FlorenceBundle, name: str) -> PixelStream:
        """A receiver's ``pixels-<fmt>``, or a transmitter's spec (``avif:20``: one point)."""
        if name.startswith(CODEC_PREFIX):
            return cls(bundle, name[len(CODEC_PREFIX):])
        try:
            specs = parse_peer_spec(name)
        except BadPeerSpec as err:
            raise CodecError(str(err)) from None
        if len(specs) != 1 or not isinstance(specs[0], HandSpec):
            raise CodecError(f"pixel reference {name!r} must be one hand-codec point, e.g. avif:20")
        return cls(bundle, specs[0].fmt, PixelSetting.of(specs[0]))

    def peer(self, setting: PixelSetting | None = None) -> HandPeer:
        """The eval's pixel peer at ``setting`` (the stream's own by default): one coder and one receiving rule."""
        s = setting or self.setting
        if s is None:
            raise CodecError(f"{self.codec_id} at a receiver has no setting of its own; give the session's")
        if s not in self._peers:
            if s.side is not None and s.side > max(self.input_size):
                raise CodecError(f"{s.name}: a coded side of {s.side} px is over the model's input "
                                 f"{self.input_size[0]}x{self.input_size[1]}; the downscaled form codes smaller")
            while len(self._peers) >= MAX_SETTINGS:  # a sender naming ever new settings costs a bounded cache
                self._peers.pop(next(iter(self._peers)))
            self._peers[s] = HandPeer(HandSpec(s.fmt, s.quality, s.side, s.speed))
        return self._peers[s]

    # --- transmitter ----------------------------------------------------------------------------
    def compress_images(self, images: Sequence[Image.Image], frame_ids: Sequence[int]) -> list[Frame]:
        """One frame of packets per image (ids from this stream's session), each cut from its file's frame part."""
        session = self.session(0)
        frames = []
        for image, fid in zip(images, frame_ids):
            try:
                payload = self.peer().frame(image, self.input_size)
            except (RuntimeError, UnsplittableFile) as err:
                raise CodecError(str(err)) from None
            packets = pixel_packets(payload, fid)
            frames.append(Frame(session.header(fid, packet_count=len(packets)), packets))
        return frames

    def session(self, session_id: int, image_size: tuple[int, int] = (0, 0),
                setting: PixelSetting | None = None) -> Session:
        """The session a stream at ``setting`` (the stream's own by default) opens with: its stream header inside."""
        s = setting or self.setting
        header = self.peer(s).session(self.input_size)
        return Session(
            session_id=session_id, codec=self.codec_id, codec_config=s.to_json(), fingerprint=self.fingerprint,
            feature_shape=self.feature_shape, shape=PIXEL_SHAPE, dtype=PIXEL_DTYPE, rows_per_packet=1, check=CHECK,
            image_size=image_size, domain="pixels", stream_header=header,
        )

    # --- receiver -------------------------------------------------------------------------------
    def expected_session(self, session: Session) -> Session:
        """The session this receiver would open at the setting ``session`` names (its own stream header inside);
        raises ``CodecError`` for a setting that is not one."""
        return self.session(session.session_id, session.image_size, PixelSetting.from_json(session.codec_config,
                                                                                           self.fmt))

    def check_frame(self, frame: Frame) -> None:
        h = frame.header
        if h.codec != self.codec_id or h.fingerprint != self.fingerprint or tuple(h.feature_shape) != self.feature_shape:
            raise CodecError(f"frame {h.frame_id} ({h.codec}) is not a {self.codec_id} frame for this model")

    def image_of(self, frame: Frame) -> tuple[Image.Image, DecodeReport]:
        """The image a received pixel frame shows (at the model's input size) and what happened to its packets."""
        self.check_frame(frame)
        setting = PixelSetting.from_json(frame.header.meta.get(PIXEL_CONFIG_KEY, ""), self.fmt)
        peer = self.peer(setting)
        report = DecodeReport(frame.total_packets, tuple(frame.lost_indices()), {}, frame.damaged)
        prefix = frame_prefix(frame)
        if not report.complete:  # the eval's rule, one implementation: the decodable prefix, grey where none
            return peer.receive(prefix, self.input_size), report
        try:
            data = rebuild(self.fmt, peer.session(self.input_size), prefix)
        except UnsplittableFile as err:
            raise CodecError(f"frame {frame.header.frame_id}: {err}") from None
        coded = (setting.side, setting.side) if setting.side else self.input_size
        return self._decode_whole(data, coded, frame.header.frame_id), report

    def _decode_whole(self, data: bytes, coded: tuple[int, int], frame_id: int) -> Image.Image:
        """A complete frame's file, decoded strictly: its header must say ``coded`` before any pixel is decoded."""
        try:
            with Image.open(io.BytesIO(data), formats=[_PIL_NAMES[self.fmt]]) as im:
                if im.size != coded:
                    raise CodecError(f"frame {frame_id}: its {self.fmt} header says {im.size[0]}x{im.size[1]}, the "
                                     f"session codes {coded[0]}x{coded[1]}; refused before decoding")
                im.load()
                image = im.convert("RGB")
        except CodecError:
            raise
        except Exception as err:  # any decoder's failure (PIL's AVIF plugin raises RuntimeError) is the frame's
            raise CodecError(f"frame {frame_id}: all its packets arrived but its {self.fmt} frame does not decode "
                             f"({type(err).__name__}: {err}); the sender's encoder and this receiver's differ, "
                             "or the frame was garbled before its checks were computed") from None
        return image if image.size == self.input_size else image.resize(self.input_size, Image.BICUBIC)

    @torch.no_grad()
    def decompress_with_reports(self, frames: Sequence[Frame]):
        """As a codec's: frames → features ``(B, C, H, W)`` (the vision tower on each rebuilt image), lost packets
        ``(B, packet_count)`` (those after the decodable prefix), and each frame's report."""
        images, reports = zip(*(self.image_of(frame) for frame in frames))
        features = self.vision.encode(list(images))
        width = max(f.header.packet_count for f in frames)
        lost = torch.zeros(len(frames), width, dtype=torch.bool)
        for row, frame in zip(lost, frames):
            missing = frame.lost_indices()
            if missing:
                row[min(missing):frame.header.packet_count] = True
        return features, lost, list(reports)

