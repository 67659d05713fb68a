"""A channel built from one config: erasure, then bit errors, on packets (proxy) or tensors (trainer).

The packet view (:meth:`Channel.transmit_datagrams`) drops datagrams and flips
bits anywhere in them (header, payload and check alike); the tensor view (:meth:`Channel.transmit_tensor`) gives the trainer what the
decoder sees: analog noise if configured, then zeroed rows for packets that were
lost or would fail their CRC. Everything is seeded by ``ChannelConfig.seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np
from semlink.channel.lazy_torch import torch

from semlink.channel.analog import AWGN, Rayleigh
from semlink.channel.bit_errors import FADINGS, BinarySymmetric
from semlink.channel.checks import check_choice, check_number, check_probability
from semlink.channel.erasure import Bernoulli, ErasureModel, GilbertElliott
from semlink.channel.report import ChannelReport
from semlink.channel.rows import erase_packets, packet_count, rows_per_each_packet

LOSS_MODELS = ("none", "bernoulli", "gilbert_elliott")


@dataclass(frozen=True)
class _Carried:
    """A datagram as the loss and bit-error stages see it: all of its bytes are ``payload`` to them."""

    payload: bytes


@dataclass(frozen=True)
class ChannelConfig:
    """Everything that defines a channel; plain values, so it round-trips through JSON.

    - ``loss``: ``"none"``, ``"bernoulli"`` (each packet lost with ``loss_p``) or
      ``"gilbert_elliott"`` (netem's ``loss gemodel ge_p ge_r 1-ge_h 1-ge_k``, see
      :mod:`semlink.channel.erasure`).
    - ``ber``: bit error rate of a BSC on payload bits; or ``snr_db`` (Es/N0 per
      BPSK symbol, dB) to derive it over ``fading`` (``"awgn"``/``"rayleigh"``).
      Set at most one; neither means no bit errors.
    - ``analog_snr_db``: analog symbol noise (Es/N0 per real symbol, dB) over
      ``fading``, applied in the tensor view only.
    - ``seed``: every random draw of the channel derives from it.
    """

    loss: str = "none"
    loss_p: float = 0.0
    ge_p: float = 0.0
    ge_r: float = 1.0
    ge_h: float = 0.0
    ge_k: float = 1.0
    ber: float | None = None
    snr_db: float | None = None
    fading: str = "awgn"
    analog_snr_db: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("loss", self.loss, LOSS_MODELS)
        for name in ("loss_p", "ge_p", "ge_r", "ge_h", "ge_k"):
            check_probability(name, getattr(self, name))
        if self.loss_p != 0 and self.loss != "bernoulli":
            raise ValueError(f"loss_p={self.loss_p} is only used with loss='bernoulli', got loss={self.loss!r}")
        if self.loss == "gilbert_elliott" and self.ge_p + self.ge_r == 0:
            raise ValueError("ge_p and ge_r are both 0: the Gilbert-Elliott chain never changes state")
        if self.ber is not None and self.snr_db is not None:
            raise ValueError(f"set ber or snr_db, not both (got ber={self.ber}, snr_db={self.snr_db})")
        if self.ber is not None:
            check_probability("ber", self.ber)
        if self.snr_db is not None:
            check_number("snr_db", self.snr_db)
        check_choice("fading", self.fading, FADINGS)
        if self.analog_snr_db is not None:
            check_number("analog_snr_db", self.analog_snr_db)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {self.seed!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ChannelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown channel config keys {unknown}; valid keys are {sorted(known)}")
        return cls(**values)

    def erasure_model(self) -> ErasureModel | None:
        if self.loss == "bernoulli":
            return Bernoulli(self.loss_p)
        if self.loss == "gilbert_elliott":
            return GilbertElliott(self.ge_p, self.ge_r, self.ge_h, self.ge_k)
        return None

    def bit_error_model(self) -> BinarySymmetric | None:
        if self.ber is not None:
            return BinarySymmetric(self.ber)
        if self.snr_db is not None:
            return BinarySymmetric.from_snr(self.snr_db, self.fading)
        return None

    def analog_model(self) -> AWGN | Rayleigh | None:
        if self.analog_snr_db is None:
            return None
        return AWGN(self.analog_snr_db) if self.fading == "awgn" else Rayleigh(self.analog_snr_db)


class Channel:
    """A seeded channel: ``transmit_datagrams`` for packets, ``transmit_tensor`` for the trainer.

    The packet view keeps state across frames (a Gilbert–Elliott chain runs on
    over the packet stream, as netem's does); :meth:`reset` rewinds to the seed.
    Loss, bit errors and the tensor view draw from independent streams derived
    from the seed, so changing the BER does not change which packets are lost.
    """

    def __init__(self, config: ChannelConfig | None = None) -> None:
        self.config = config if config is not None else ChannelConfig()
        self.erasure = self.config.erasure_model()
        self.bit_errors = self.config.bit_error_model()
        self.analog = self.config.analog_model()
        self.reset()

    def reset(self) -> None:
        """Rewind every random stream to the config's seed."""
        loss_seq, bits_seq, torch_seq = np.random.SeedSequence(self.config.seed).spawn(3)
        self._loss = self.erasure.start(np.random.default_rng(loss_seq)) if self.erasure else None
        self._bits_rng = np.random.default_rng(bits_seq)
        self._torch_seed = int(torch_seq.generate_state(1, np.uint64)[0] >> np.uint64(1))
        self._generators: dict[torch.device, torch.Generator] = {}

    def transmit_datagrams(self, datagrams: Sequence[bytes]) -> tuple[list[bytes], ChannelReport]:
        """Drop datagrams, then flip bits anywhere in the survivors; dropped ones are absent from the result."""
        packets: tuple[_Carried, ...] = tuple(_Carried(bytes(d)) for d in datagrams)
        report = ChannelReport(packets_in=len(packets))
        if self._loss is not None:
            packets, report = self._loss.drop(packets)
        if self.bit_errors is not None:
            packets, bit_report = self.bit_errors.corrupt(packets, self._bits_rng)
            report = report.followed_by(bit_report)
        return [p.payload for p in packets], report

    def generator(self, device: torch.device | str) -> torch.Generator:
        """The channel's own torch generator on ``device``, seeded from the config."""
        device = torch.device(device)
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self._torch_seed)
        return self._generators[device]

    def transmit_tensor(
        self,
        x: torch.Tensor,
        rows_per_packet: int,
        bits_per_row: float | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """What the decoder sees: ``x (B, C, H, W)`` → ``(x_hat (B, C, H, W), lost_rows (B, H) bool)``.

        Analog noise (if ``analog_snr_db``) on every row, then the rows of packets
        that were erased or would fail their CRC (if a BER is configured; a packet
        of ``n`` rows carries ``n * bits_per_row`` bits) are zeroed. Differentiable
        w.r.t. ``x``. ``generator=None`` uses the channel's own seeded generator.
        """
        if x.dim() != 4:
            raise ValueError(f"x must have shape (B, C, H, W), got {tuple(x.shape)}")
        if self.bit_errors is not None and bits_per_row is None:
            raise ValueError("this channel has bit errors: pass bits_per_row (payload bits one latent row costs)")
        generator = generator if generator is not None else self.generator(x.device)
        batch, _, height, _ = x.shape
        if self.analog is not None:
            x = self.analog.transmit(x, generator)
        lost = torch.zeros((batch, packet_count(height, rows_per_packet)), dtype=torch.bool, device=x.device)
        if self.erasure is not None:
            lost |= self.erasure.sample_lost_tensor(batch, lost.shape[1], generator, x.device)
        if self.bit_errors is not None:
            bits = rows_per_each_packet(height, rows_per_packet) * float(bits_per_row)
            lost |= self.bit_errors.sample_lost_tensor(batch, bits, generator, x.device)
        return erase_packets(x, lost, rows_per_packet)

    @property
    def expected_loss_rate(self) -> float:
        """Analytic packet-erasure rate (before bit errors)."""
        return self.erasure.mean_loss_rate if self.erasure is not None else 0.0

    @property
    def ber(self) -> float:
        """The configured or SNR-derived bit error rate (0.0 without bit errors)."""
        return self.bit_errors.ber if self.bit_errors is not None else 0.0
