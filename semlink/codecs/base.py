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

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from semlink.packets import Frame
from semlink.packets.packetizer import depacketize, packetize

# (latent (B,c,h,w), rows_per_packet, bits_per_row) -> (latent after the channel, lost_rows (B,h) bool)
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
        v = self.values.astype(np.float32)
        if self.scale.size == 0:
            return v
        return v * self.scale[:, :, None, None] + self.offset[:, :, None, None]


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

    # --- shared behaviour --------------------------------------------------------------------
    @property
    def rows_per_packet(self) -> int:
        return int(getattr(self.config, "rows_per_packet", 1))

    def bits_per_symbol(self) -> int:
        return np.dtype(self.wire_dtype).itemsize * 8

    def bits_per_frame(self) -> int:
        c, h, w = self.latent_shape()
        return c * h * w * self.bits_per_symbol()

    def forward(self, x: torch.Tensor, channel: TensorChannel | None = None) -> CodecOutput:
        """Training view: ``x (B, C, H, W)`` → reconstruction, bits estimate, erasures (differentiable)."""
        y_tilde, bits = self.simulate_quantization(self.analysis(x))
        lost = torch.zeros(y_tilde.shape[0], y_tilde.shape[2], dtype=torch.bool, device=y_tilde.device)
        if channel is not None:
            c, _, w = self.latent_shape()
            y_tilde, lost = channel(y_tilde, self.rows_per_packet, c * w * self.bits_per_symbol())
        return CodecOutput(self.synthesis(y_tilde, lost), bits, lost)

    @torch.no_grad()
    def compress(self, x: torch.Tensor, frame_ids: Sequence[int], sent_at_ns: int = 0) -> list[Frame]:
        """Features ``(B, C, H, W)`` → one :class:`Frame` of packets per image."""
        if tuple(x.shape[1:]) != self.feature_shape:
            raise CodecError(f"{self.codec_id} codec expects features {self.feature_shape}, got {tuple(x.shape[1:])}")
        symbols = self.quantize(self.analysis(x))
        return [
            packetize(
                symbols.values[i],
                frame_id=int(fid),
                codec=self.codec_id,
                fingerprint=self.fingerprint,
                feature_shape=self.feature_shape,
                rows_per_packet=self.rows_per_packet,
                scale=tuple(float(s) for s in symbols.scale[i]) if symbols.scale.size else (),
                offset=tuple(float(o) for o in symbols.offset[i]) if symbols.offset.size else (),
                sent_at_ns=sent_at_ns,
            )
            for i, fid in enumerate(frame_ids)
        ]

    @torch.no_grad()
    def decompress(self, frames: Sequence[Frame]) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames (possibly missing packets) → features ``(B, C, H, W)`` and lost rows ``(B, h)``."""
        values, scales, offsets, lost = [], [], [], []
        for frame in frames:
            self.check_frame(frame)
            latent, lost_rows = depacketize(frame)[:2]
            values.append(latent)
            scales.append(np.asarray(frame.header.scale, np.float32))
            offsets.append(np.asarray(frame.header.offset, np.float32))
            lost.append(lost_rows)
        symbols = Symbols(np.stack(values), np.stack(scales), np.stack(offsets))
        device = self.device
        y_hat = torch.from_numpy(symbols.dequantize()).to(device)
        lost_rows = torch.from_numpy(np.stack(lost)).to(device)
        return self.synthesis(y_hat, lost_rows), lost_rows

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
