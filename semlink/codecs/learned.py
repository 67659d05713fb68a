"""``learned``: the seed's Compression Module (transmitter) and Decompression Module (receiver).

The compressor sits right after ``vision_tower``: ``(B, C, H, W)`` → a latent
``(B, c, H/s, W/s)`` rounded to ``bits``-bit integers. The decompressor sits right
before the projector and maps the received latent, plus the erasure mask of lost
rows, back to ``(B, C, H, W)``. With ``interleave`` the latent goes on the wire in
a diagonal order (wire row ``r`` holds latent position ``((r + j) mod h, j)`` of
every column ``j``), so a lost packet erases a scattered diagonal whose neighbours
all arrive, instead of a whole band of the image. Training is quantisation-aware
(additive uniform noise or a straight-through round) with a learned factorised
entropy model giving the rate term, as in CompressAI. On the wire the same entropy
model codes the symbols: its densities are discretised to integer tables
(:meth:`LearnedCodec.update`, run when the codec is saved; the tables are part of
the checkpoint, so both ends code with the very same integers) and each packet is
one range-coded stream (:mod:`semlink.entropy`). The bits the rate term estimates
and the bytes sent differ only by the coder's per-stream ending (a third of a byte
on average).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from semlink.codecs.base import Codec, Symbols
from semlink.codecs.priors import PRIORS, FactorizedLogistic, MixtureLogistic, build_prior
from semlink.entropy import PRECISION, CdfTables, EntropyDecodeError, decode, encode
from semlink.packets import PayloadError


TABLE_SOURCES = ("logistic", "histogram")


@dataclass(frozen=True)
class LearnedConfig:
    """``latent_channels=0`` picks ``C // 8``, which with ``stride=2`` and 8 bits is 1/64 of fp16 bytes."""

    latent_channels: int = 0
    stride: int = 2
    bits: int = 8
    hidden: int = 128
    quantizer: str = "noise"
    rows_per_packet: int = 1
    interleave: bool = False  # False keeps the layout of checkpoints written before the option existed
    # Where the wire's integer tables come from: "logistic" discretises the trained entropy model (update());
    # "histogram" holds tables fitted to the symbols the codec sends (semlink fit-tables), which update() keeps.
    tables: str = "logistic"
    # The entropy model training prices the latent with (semlink.codecs.priors): "logistic" or "mixture".
    prior: str = "logistic"

    def __post_init__(self):
        if self.latent_channels < 0:
            raise ValueError(f"latent_channels must be >= 0 (0 = C // 8), got {self.latent_channels}")
        if self.stride not in (1, 2, 4):
            raise ValueError(f"stride must be 1, 2 or 4, got {self.stride}")
        if not 2 <= self.bits <= 8:
            raise ValueError(f"bits must be in 2..8, got {self.bits}")
        if self.hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {self.hidden}")
        if self.quantizer not in ("noise", "ste"):
            raise ValueError(f"quantizer must be 'noise' or 'ste', got {self.quantizer!r}")
        if self.rows_per_packet < 1:
            raise ValueError(f"rows_per_packet must be >= 1, got {self.rows_per_packet}")
        if self.tables not in TABLE_SOURCES:
            raise ValueError(f"tables must be one of {', '.join(TABLE_SOURCES)}, got {self.tables!r}")
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {', '.join(PRIORS)}, got {self.prior!r}")

    def latent_channels_for(self, channels: int) -> int:
        """The latent's channel count for features of ``channels`` channels (``latent_channels`` 0: ``C // 8``)."""
        return self.latent_channels or max(1, channels // 8)


class CompressionModule(nn.Module):
    """Transmitter side: ``(B, C, H, W)`` → ``(B, c, H/s, W/s)`` continuous latent."""

    def __init__(self, channels: int, hidden: int, latent_channels: int, stride: int):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, hidden, 1), nn.GELU()]
        for _ in range({1: 0, 2: 1, 4: 2}[stride]):
            layers += [nn.Conv2d(hidden, hidden, 3, stride=2, padding=1), nn.GELU()]
        layers += [nn.Conv2d(hidden, hidden, 3, padding=1), nn.GELU(), nn.Conv2d(hidden, latent_channels, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DecompressionModule(nn.Module):
    """Receiver side: latent ``(B, c, h, w)`` + erasure mask ``(B, 1, h, w)`` → ``(B, C, H, W)``."""

    def __init__(self, channels: int, hidden: int, latent_channels: int, stride: int, out_hw: tuple[int, int]):
        super().__init__()
        self.out_hw = out_hw
        self.inp = nn.Sequential(nn.Conv2d(latent_channels + 1, hidden, 3, padding=1), nn.GELU())
        self.body = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.GELU(), nn.Conv2d(hidden, hidden, 3, padding=1), nn.GELU()
        )
        self.out = nn.Conv2d(hidden, channels, 1)

    def forward(self, y: torch.Tensor, erased: torch.Tensor) -> torch.Tensor:
        h = self.inp(torch.cat([y, erased], dim=1))
        h = F.interpolate(h, size=self.out_hw, mode="nearest") if h.shape[-2:] != self.out_hw else h
        return self.out(h + self.body(h))


class DiagonalInterleave(nn.Module):
    """The fixed permutation between latent layout and wire layout of an ``(h, w)`` grid.

    Wire ``[r, j]`` = latent ``[(r + j) mod h, j]``: each wire row takes one position from
    every column, from ``min(h, w)`` different latent rows.
    """

    def __init__(self, h: int, w: int):
        super().__init__()
        rows = (torch.arange(h)[:, None] + torch.arange(w)[None, :]) % h
        to_wire = (rows * w + torch.arange(w)[None, :]).flatten()
        self.register_buffer("to_wire", to_wire, persistent=False)
        self.register_buffer("to_latent", torch.argsort(to_wire), persistent=False)

    @staticmethod
    def _permute(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return t.flatten(2)[:, :, index].view(t.shape)

    def wire(self, latent: torch.Tensor) -> torch.Tensor:
        return self._permute(latent, self.to_wire)

    def latent(self, wire: torch.Tensor) -> torch.Tensor:
        return self._permute(wire, self.to_latent)


class EntropyPayloadCoder:
    """A packet's rows as one range-coded stream under the codec's integer tables (channel ``k``, table ``k``)."""

    name = "range"

    def __init__(self, tables: CdfTables):
        self.tables = tables

    def encode(self, block):
        return encode(self.tables, block)

    def decode(self, data, shape, dtype):
        try:
            return decode(self.tables, data, shape)
        except EntropyDecodeError as err:
            raise PayloadError("range", str(err)) from err


class LearnedCodec(Codec):
    """Trainable compressor/decompressor pair with a learned entropy model."""

    codec_id = "learned"
    wire_dtype = "uint8"
    packet_check = "crc16"  # packets of a few dozen bytes: 2 check bytes, not 4

    def __init__(self, config: LearnedConfig, feature_shape, fingerprint: str):
        super().__init__(config, feature_shape, fingerprint)
        channels, height, width = self.feature_shape
        self.latent_channels = config.latent_channels_for(channels)
        self.register_buffer("feature_mean", torch.zeros(channels))
        self.register_buffer("feature_std", torch.ones(channels))
        self.compressor = CompressionModule(channels, config.hidden, self.latent_channels, config.stride)
        self.decompressor = DecompressionModule(
            channels, config.hidden, self.latent_channels, config.stride, (height, width)
        )
        self.entropy_model = build_prior(config.prior, self.latent_channels)
        self.interleave = DiagonalInterleave(*self.latent_shape()[1:]) if config.interleave else None
        self.half_range = 2 ** (config.bits - 1)
        # The entropy model's integer tables as coded on the wire; all zeros until update() fills them.
        self.register_buffer("entropy_tables", torch.zeros(self.latent_channels, 2**config.bits, dtype=torch.int32))

    # --- the entropy model on the wire ------------------------------------------------------------
    @torch.no_grad()
    def update(self) -> "LearnedCodec":
        """Discretise the entropy model into the integer tables the wire codes with (after training).

        Fitted (``tables="histogram"``) tables are kept as they are: they come from data, not from the model.
        """
        if self.config.tables == "histogram":
            if not bool(self.entropy_tables.any()):
                raise ValueError("this codec codes with fitted tables but holds none; run `semlink fit-tables`")
            return self
        self.entropy_tables.copy_(torch.from_numpy(self.entropy_model.tables(self.config.bits).to_array()))
        return self

    @torch.no_grad()
    def set_tables(self, tables: CdfTables) -> "LearnedCodec":
        """Code with ``tables`` (fitted to data, :mod:`semlink.codecs.fit_tables`); the config must say so."""
        if self.config.tables != "histogram":
            raise ValueError("only a codec configured with tables='histogram' keeps fitted tables; "
                             "use semlink.codecs.fit_tables, which reconfigures it")
        if tables.precision != PRECISION or (tables.channels, tables.symbols) != tuple(self.entropy_tables.shape):
            raise ValueError(f"tables of {tables.channels} x {tables.symbols} at precision {tables.precision} do "
                             f"not fit this codec's {tuple(self.entropy_tables.shape)} at {PRECISION}")
        self.entropy_tables.copy_(torch.from_numpy(tables.to_array()))
        return self

    def tables(self) -> CdfTables:
        """The wire's tables; a codec never updated (fresh, untrained) gets them from its entropy model now."""
        if not bool(self.entropy_tables.any()):
            self.update()
        return CdfTables.from_array(self.entropy_tables.cpu().numpy())

    def payload_coder(self) -> EntropyPayloadCoder:
        """A coder over the tables as they are now (built per call, ~0.06 ms: never stale after a load)."""
        return EntropyPayloadCoder(self.tables())

    def entropy_model_id(self) -> str:
        return self.tables().identity()

    def session_config(self) -> dict:
        """The config without its training prior: the wire needs the tables (named by ``entropy_model``), not the
        density they were discretised from or trained with, so a session is the same length whatever the prior."""
        config = self.config_dict()
        config.pop("prior", None)
        return config

    def static_constants(self):
        c = self.latent_channels
        return (1.0,) * c, (-float(self.half_range),) * c

    @torch.no_grad()
    def fit_normalization(self, features: torch.Tensor) -> "LearnedCodec":
        """Set the per-channel input normalisation from features ``(N, C, H, W)``."""
        self.feature_mean.copy_(features.float().mean(dim=(0, 2, 3)))
        self.feature_std.copy_(features.float().std(dim=(0, 2, 3)).clamp(min=1e-6))
        return self

    def latent_shape(self):
        _, h, w = self.feature_shape
        s = self.config.stride
        return self.latent_channels, -(-h // s), -(-w // s)

    def analysis(self, x):
        x = (x.float() - self.feature_mean[None, :, None, None]) / self.feature_std[None, :, None, None]
        y = self.compressor(x)
        return self.interleave.wire(y) if self.interleave is not None else y

    def _clamp(self, y):
        return y.clamp(-self.half_range, self.half_range - 1)

    def quantize(self, y):
        q = torch.round(self._clamp(y)) + self.half_range
        b, c = q.shape[:2]
        scale = torch.ones(b, c).numpy()
        offset = torch.full((b, c), -float(self.half_range)).numpy()
        return Symbols(q.detach().to("cpu", torch.uint8).numpy(), scale, offset)

    def simulate_quantization(self, y):
        y = self._clamp(y)
        if self.config.quantizer == "noise" and self.training:
            y_tilde = y + torch.rand(y.shape, device=y.device, dtype=y.dtype) - 0.5  # not rand_like: it follows strides
        else:
            y_tilde = y + (torch.round(y) - y).detach()
        return y_tilde, self.entropy_model.bits(y_tilde)

    def synthesis(self, y_hat, lost_rows):
        erased = lost_rows.to(y_hat.dtype)[:, None, :, None].expand(-1, 1, -1, y_hat.shape[3])
        y_hat = y_hat.float() * (1 - erased)
        if self.interleave is not None:
            y_hat, erased = self.interleave.latent(y_hat), self.interleave.latent(erased.contiguous())
        x = self.decompressor(y_hat, erased)
        return x * self.feature_std[None, :, None, None] + self.feature_mean[None, :, None, None]


def with_prior(codec: LearnedCodec, prior: str) -> LearnedCodec:
    """The same codec (same weights and tables) training with the entropy model ``prior``.

    A logistic becomes a mixture where it was (:meth:`MixtureLogistic.from_logistic`), so training goes on
    from the same rate; a mixture does not become a logistic (which of its components?).
    """
    if codec.config.prior == prior:
        return codec
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {', '.join(PRIORS)}, got {prior!r}")
    if not (isinstance(codec.entropy_model, FactorizedLogistic) and prior == "mixture"):
        raise ValueError(f"a codec trained with a {codec.config.prior} prior cannot go on with a {prior} one; "
                         f"train it from scratch with codec.prior={prior}, or keep its prior")
    again = type(codec)(replace(codec.config, prior=prior), codec.feature_shape, codec.fingerprint)
    weights = {k: v for k, v in codec.state_dict().items() if not k.startswith("entropy_model.")}
    missing = again.load_state_dict(weights, strict=False).missing_keys
    assert all(k.startswith("entropy_model.") for k in missing), missing
    again.entropy_model = MixtureLogistic.from_logistic(codec.entropy_model)
    return again.to(codec.device).train(codec.training)

