"""The one contract every codec follows, after CompressAI's ``LatentCodec``.

A codec turns vision features ``x (B, C, H, W)`` into a latent ``(B, c, h, w)`` of
symbols and back. The same ``analysis``/``synthesis`` code serves both views:

* training: :meth:`Codec.forward` — differentiable, quantisation simulated with
  noise or a straight-through round, an optional differentiable channel in the
  middle, and a rate estimate in bits;
* serving: :meth:`Codec.compress` → frames of independently decodable packets,
  :meth:`Codec.decompress` → features, with lost rows given to ``synthesis`` as
  an erasure mask.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from semlink.packets import Frame, PayloadCoder, Session, ZstdCoder, packetize, unpack
from semlink.packets.datagram import overhead_bytes

# (latent (B,c,h,w), rows_per_packet, bits_per_row) -> (latent after the channel, lost_rows (B,h) bool);
# bits_per_row counts every bit a packet of that row puts on the channel (header and check shared out per row)
TensorChannel = Callable[[torch.Tensor, int, int], tuple[torch.Tensor, torch.Tensor]]


class CodecError(ValueError):
    """A codec was misused or given data it cannot decode; the message says what to do."""


@dataclass(frozen=True)
class CodecOutput:
    """What :meth:`Codec.forward` returns: the reconstruction, its rate estimate and the erasures."""

    x_hat: torch.Tensor  # (B, C, H, W)
    bits: torch.Tensor  # (B,) estimated bits per frame
    lost_rows: torch.Tensor  # (B, h) bool


@dataclass(frozen=True)
class Symbols:
    """Quantised symbols of a batch as sent: ``values (B, c, h, w)`` plus per-channel ``scale/offset (B, c)``."""

    values: np.ndarray
    scale: np.ndarray
    offset: np.ndarray

    def dequantize(self) -> np.ndarray:
        v = self.values.astype(np.float32)  # the one new buffer: scaled and shifted in place
        if self.scale.size == 0:
            return v
        v *= self.scale[:, :, None, None]
        v += self.offset[:, :, None, None]
        return v


class Codec(nn.Module):
    """Base class: subclasses set ``codec_id``/``wire_dtype`` and implement the four hooks."""

    codec_id: ClassVar[str]
    wire_dtype: ClassVar[str]

    def __init__(self, config, feature_shape: Sequence[int], fingerprint: str):
        super().__init__()
        self.config = config
        self.feature_shape = tuple(int(s) for s in feature_shape)
        self.fingerprint = fingerprint

    # --- hooks -----------------------------------------------------------------------------
    def latent_shape(self) -> tuple[int, int, int]:
        """``(c, h, w)`` of one frame's latent."""
        raise NotImplementedError

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(B, C, H, W)`` → continuous latent ``(B, c, h, w)`` (differentiable)."""
        raise NotImplementedError

    def quantize(self, y: torch.Tensor) -> Symbols:
        """Continuous latent → integer (or half-float) symbols with their dequantisation params."""
        raise NotImplementedError

    def synthesis(self, y_hat: torch.Tensor, lost_rows: torch.Tensor) -> torch.Tensor:
        """Dequantised latent ``(B, c, h, w)`` + erasure mask ``(B, h)`` → features ``(B, C, H, W)``."""
        raise NotImplementedError

    def simulate_quantization(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Train-time stand-in for ``quantize``+dequantise: ``(y_tilde, bits (B,))``. Default: exact."""
        return y, torch.full((y.shape[0],), float(self.bits_per_frame()), device=y.device)

    # --- wire -------------------------------------------------------------------------------
    #: per-packet check on the wire; the learned codec's short packets use CRC-16
    packet_check: ClassVar[str] = "crc32"
    #: whether each frame sends its own dequantisation constants (in a side packet)
    per_frame_constants: ClassVar[bool] = False

    def payload_coder(self) -> PayloadCoder:
        """How one packet's rows become bytes (zstd unless the codec has an entropy model)."""
        return ZstdCoder()

    def entropy_model_id(self) -> str:
        """Identity of the entropy model both ends must share ("" when coded with zstd)."""
        return ""

    def static_constants(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Dequantisation ``(scale, offset)`` that never change (sent once, in the session)."""
        return (), ()

    def session(self, session_id: int, image_size: tuple[int, int] = (0, 0)) -> Session:
        """The session a stream of this codec's frames opens with."""
        scale, offset = self.static_constants()
        return Session(
            session_id=session_id, codec=self.codec_id, codec_config=json.dumps(self.session_config(), sort_keys=True),
            fingerprint=self.fingerprint, feature_shape=self.feature_shape, shape=self.latent_shape(),
            dtype=self.wire_dtype, rows_per_packet=self.rows_per_packet, scale=scale, offset=offset,
            side_info=self.per_frame_constants, entropy_coder=self.payload_coder().name,
            entropy_model=self.entropy_model_id(), check=self.packet_check, image_size=image_size,
        )

    # --- shared behaviour --------------------------------------------------------------------
    @property
    def rows_per_packet(self) -> int:
        return int(getattr(self.config, "rows_per_packet", 1))

    def bits_per_symbol(self) -> int:
        return np.dtype(self.wire_dtype).itemsize * 8

    def bits_per_frame(self) -> int:
        c, h, w = self.latent_shape()
        return c * h * w * self.bits_per_symbol()

    def framing_bits_per_row(self) -> float:
        """Header and check bits of a packet, shared out over the rows it carries."""
        return overhead_bytes(self.packet_check) * 8 / self.rows_per_packet

    def forward(self, x: torch.Tensor, channel: TensorChannel | None = None) -> CodecOutput:
        """Training view: ``x (B, C, H, W)`` → reconstruction, bits estimate, erasures (differentiable).

        The channel sees packets as long as the ones sent: the rate estimate's bits
        per row (at least a whole symbol stream's for codecs without an entropy model)
        plus each packet's header and check.
        """
        y_tilde, bits = self.simulate_quantization(self.analysis(x))
        lost = torch.zeros(y_tilde.shape[0], y_tilde.shape[2], dtype=torch.bool, device=y_tilde.device)
        if channel is not None:
            rows = y_tilde.shape[2]
            bits_per_row = float(bits.detach().float().mean()) / rows + self.framing_bits_per_row()
            y_tilde, lost = channel(y_tilde, self.rows_per_packet, bits_per_row)
        return CodecOutput(self.synthesis(y_tilde, lost), bits, lost)

    @torch.no_grad()
    def compress(self, x: torch.Tensor, frame_ids: Sequence[int]) -> list[Frame]:
        """Features ``(B, C, H, W)`` → one :class:`Frame` of packets per image."""
        if tuple(x.shape[1:]) != self.feature_shape:
            raise CodecError(f"{self.codec_id} codec expects features {self.feature_shape}, got {tuple(x.shape[1:])}")
        symbols = self.quantize(self.analysis(x))
        coder = self.payload_coder()
        static_scale, static_offset = self.static_constants()
        frames = []
        for i, fid in enumerate(frame_ids):
            if self.per_frame_constants:
                scale, offset = symbols.scale[i], symbols.offset[i]  # arrays: no per-value Python objects
            else:
                scale, offset = static_scale, static_offset
            frames.append(packetize(
                symbols.values[i], frame_id=int(fid), codec=self.codec_id, fingerprint=self.fingerprint,
                feature_shape=self.feature_shape, rows_per_packet=self.rows_per_packet, scale=scale,
                offset=offset, side_info=self.per_frame_constants, coder=coder,
            ))
        return frames

    @torch.no_grad()
    def decompress(self, frames: Sequence[Frame]) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames (possibly missing packets) → features ``(B, C, H, W)`` and lost rows ``(B, h)``."""
        features, lost_rows, _ = self.decompress_with_reports(frames)
        return features, lost_rows

    @torch.no_grad()
    def decompress_with_reports(self, frames: Sequence[Frame]):
        """As :meth:`decompress`, plus each frame's :class:`~semlink.packets.DecodeReport`."""
        coder = self.payload_coder()
        unpacked = []
        for frame in frames:
            self.check_frame(frame)
            unpacked.append(unpack(frame, coder))
        if self.per_frame_constants or self.static_constants()[0]:
            # A frame whose side packet was lost has no constants, but then every row is erased: any will do.
            c = self.latent_shape()[0]
            scales = np.stack([u.scale if u.scale.size else np.ones(c, np.float32) for u in unpacked])
            offsets = np.stack([u.offset if u.offset.size else np.zeros(c, np.float32) for u in unpacked])
        else:  # symbols are the values themselves
            scales = offsets = np.zeros((len(unpacked), 0), np.float32)
        # one frame (the usual case at the receiver) is used in place, not stacked into a copy
        latents = unpacked[0].latent[None] if len(unpacked) == 1 else np.stack([u.latent for u in unpacked])
        symbols = Symbols(latents, scales, offsets)
        device = self.device
        y_hat = torch.from_numpy(symbols.dequantize()).to(device)
        lost_rows = torch.from_numpy(np.stack([u.lost_rows for u in unpacked])).to(device)
        return self.synthesis(y_hat, lost_rows), lost_rows, [u.report for u in unpacked]

    def check_frame(self, frame: Frame) -> None:
        """Refuse frames made by another codec, for other weights, or of the wrong shape."""
        h = frame.header
        if h.codec != self.codec_id:
            raise CodecError(f"frame {h.frame_id} was coded with {h.codec!r}, this receiver decodes {self.codec_id!r}")
        if h.fingerprint != self.fingerprint:
            raise CodecError(
                f"frame {h.frame_id} is for Florence-2 weights {h.fingerprint}, this receiver has {self.fingerprint}; "
                "load the same model on both ends"
            )
        if tuple(h.shape) != self.latent_shape() or tuple(h.feature_shape) != self.feature_shape:
            raise CodecError(f"frame {h.frame_id} has latent shape {h.shape}, expected {self.latent_shape()}")

    @property
    def device(self) -> torch.device:
        for t in [*self.parameters(), *self.buffers()]:
            return t.device
        return torch.device("cpu")

    def config_dict(self) -> dict:
        return asdict(self.config)

    def session_config(self) -> dict:
        """The config a session carries (``codec_config``): all of it, unless a codec knows better."""
        return self.config_dict()


def conceal(x_hat: torch.Tensor, lost_rows: torch.Tensor) -> torch.Tensor:
    """Fill erased rows of ``x_hat (B, C, H, W)`` with each channel's mean over the received rows.

    ``lost_rows (B, H)``. A frame with every row lost becomes zeros.
    """
    if not bool(lost_rows.any()):
        return x_hat
    keep = (~lost_rows).to(x_hat.dtype)[:, None, :, None]  # (B,1,H,1)
    count = keep.sum(dim=(2, 3), keepdim=True) * x_hat.shape[3]
    mean = (x_hat * keep).sum(dim=(2, 3), keepdim=True) / count.clamp(min=1)
    return x_hat * keep + mean * (1 - keep)
