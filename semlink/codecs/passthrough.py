"""Unquantised reference codecs: ``raw`` (features in float32, lossless) and ``fp16`` (half precision).

``raw`` is the parity reference: nothing is computed between the two halves, so
the split pipeline must give token-identical generations to the unsplit model.
``fp16`` halves the bytes and is lossless only for a model that already runs in
half precision (the usual GPU setting); on a float32 model it rounds to fp16.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from semlink.codecs.base import Codec, Symbols, conceal
from semlink.packets.datagram import overhead_bytes


@dataclass(frozen=True)
class PassthroughConfig:
    rows_per_packet: int = 1

    def __post_init__(self):
        if self.rows_per_packet < 1:
            raise ValueError(f"rows_per_packet must be >= 1, got {self.rows_per_packet}")


class RawCodec(Codec):
    """Features as they are, in float32: the lossless reference."""

    codec_id = "raw"
    wire_dtype = "float32"

    def __init__(self, config: PassthroughConfig, feature_shape, fingerprint: str):
        super().__init__(config, feature_shape, fingerprint)

    def latent_shape(self):
        return self.feature_shape

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def quantize(self, y: torch.Tensor) -> Symbols:
        empty = np.zeros((y.shape[0], 0), np.float32)
        return Symbols(y.detach().to("cpu", getattr(torch, self.wire_dtype)).numpy(), empty, empty)

    def synthesis(self, y_hat: torch.Tensor, lost_rows: torch.Tensor) -> torch.Tensor:
        return conceal(y_hat.float(), lost_rows)


class Fp16Codec(RawCodec):
    """Features rounded to float16: half the bytes of ``raw``."""

    codec_id = "fp16"
    wire_dtype = "float16"

    def simulate_quantization(self, y):
        y16 = y + (y.to(torch.float16).to(y.dtype) - y).detach()  # straight-through fp16 rounding
        return y16, torch.full((y.shape[0],), float(self.bits_per_frame()), device=y.device)


@dataclass(frozen=True)
class FrameCost:
    """What one frame puts on the channel: its datagrams' bytes (headers, payloads, checks) and their count."""

    datagram_bytes: int
    datagrams: int


def fp16_frame_cost(feature_shape, rows_per_packet: int = PassthroughConfig.rows_per_packet) -> FrameCost:
    """One frame of features ``(C, H, W)`` as uncompressed float16 in the fp16 codec's packets.

    2 bytes an element, cut into packets of ``rows_per_packet`` rows, each with its datagram header and check
    (the framing every codec pays): the yardstick "fp16 features" a coded frame is compared with. The fp16 codec
    itself zstd-codes each packet, which saves a few percent on real features.
    """
    channels, height, width = (int(d) for d in feature_shape)
    packets = -(-height // rows_per_packet)
    payload = channels * height * width * np.dtype(Fp16Codec.wire_dtype).itemsize
    return FrameCost(payload + packets * overhead_bytes(Fp16Codec.packet_check), packets)
