"""Bit errors: a binary symmetric channel at a BER, or the BER of BPSK over AWGN or Rayleigh fading at an SNR.

SNR convention: ``snr_db`` is Es/N0 in dB, the energy per transmitted symbol over
the one-sided noise spectral density. The bit error formulas are for BPSK, one bit
per symbol, so Es/N0 = Eb/N0 here. For Rayleigh fading ``snr_db`` is the *average*
Es/N0 (E|h|^2 = 1) and the receiver knows h (coherent detection).

Packet view: flip bits of whole datagrams (``payload`` here is every byte the
channel carries: header, coded rows and check), so the receiver's check catches
the corruption. Tensor view: a CRC-protected packet
with any flipped bit is discarded, so for training the honest model is an erasure
with packet error rate ``1 - (1 - ber) ** bits``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from semlink.channel.lazy_torch import torch

from semlink.channel.checks import check_choice, check_number, check_probability
from semlink.channel.report import ChannelReport
from semlink.channel.rows import erase_packets, rows_per_each_packet, uniform
from semlink.packets import Packet

FADINGS = ("awgn", "rayleigh")


def q_function(x: float) -> float:
    """The Gaussian tail probability Q(x) = P(N(0, 1) > x)."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def ber_bpsk_awgn(snr_db: float) -> float:
    """BPSK bit error rate over AWGN, ``Q(sqrt(2 Eb/N0))``; ``snr_db`` is Es/N0 = Eb/N0 in dB."""
    return q_function(math.sqrt(2.0 * 10.0 ** (check_number("snr_db", snr_db) / 10.0)))


def ber_bpsk_rayleigh(snr_db: float) -> float:
    """BPSK bit error rate over flat Rayleigh fading, ``0.5 (1 - sqrt(g / (1 + g)))``.

    ``g`` is the average Eb/N0 (= Es/N0 for BPSK), ``snr_db`` its value in dB.
    """
    gamma = 10.0 ** (check_number("snr_db", snr_db) / 10.0)
    return 0.5 * (1.0 - math.sqrt(gamma / (1.0 + gamma)))


def packet_error_rate(ber: float, bits: int | float) -> float:
    """P(at least one of ``bits`` independent bits flips) = ``1 - (1 - ber) ** bits``."""
    check_probability("ber", ber)
    if bits < 0:
        raise ValueError(f"bits must be >= 0, got {bits}")
    if ber == 1.0:
        return 1.0 if bits > 0 else 0.0
    return -math.expm1(bits * math.log1p(-ber))


@dataclass(frozen=True)
class BinarySymmetric:
    """Every payload bit flips independently with probability ``ber``."""

    ber: float

    def __post_init__(self) -> None:
        check_probability("ber", self.ber)

    @classmethod
    def from_snr(cls, snr_db: float, fading: str = "awgn") -> "BinarySymmetric":
        """The BSC of BPSK at ``snr_db`` (Es/N0 = Eb/N0, dB) over ``"awgn"`` or ``"rayleigh"``."""
        check_choice("fading", fading, FADINGS)
        return cls(ber_bpsk_awgn(snr_db) if fading == "awgn" else ber_bpsk_rayleigh(snr_db))

    def packet_error_rate(self, bits: int | float) -> float:
        """P(a packet of ``bits`` payload bits arrives corrupted)."""
        return packet_error_rate(self.ber, bits)

    # ---- packet view -------------------------------------------------------------

    def corrupt(
        self, packets: tuple[Packet, ...] | list[Packet], rng: np.random.Generator
    ) -> tuple[tuple[Packet, ...], ChannelReport]:
        """Flip bits of ``packets``' ``payload`` (a datagram's every byte, when called by ``Channel``).

        Draws the number of flips over all payload bits ~ Binomial(bits, ber), then
        their positions uniformly without replacement: the same law as independent
        flips, at a cost that grows with the flips, not the bits.
        """
        sizes = np.array([len(p.payload) for p in packets], dtype=np.int64)
        total_bits = int(sizes.sum()) * 8
        flips = int(rng.binomial(total_bits, self.ber)) if total_bits else 0
        if flips == 0:
            return tuple(packets), ChannelReport(packets_in=len(packets), bits_total=total_bits)
        positions = rng.choice(total_bits, size=flips, replace=False)
        buffer = np.frombuffer(b"".join(p.payload for p in packets), dtype=np.uint8).copy()
        np.bitwise_xor.at(buffer, positions >> 3, (1 << (positions & 7)).astype(np.uint8))
        starts = np.concatenate([[0], np.cumsum(sizes)])
        hit = np.zeros(len(packets), dtype=bool)
        hit[np.searchsorted(starts, positions >> 3, side="right") - 1] = True
        out = tuple(
            replace(p, payload=buffer[starts[i] : starts[i + 1]].tobytes()) if hit[i] else p
            for i, p in enumerate(packets)
        )
        report = ChannelReport(
            packets_in=len(packets), packets_corrupted=int(hit.sum()), bits_flipped=flips, bits_total=total_bits
        )
        return out, report

    # ---- tensor view -------------------------------------------------------------

    def sample_lost_tensor(
        self,
        batch: int,
        bits_per_packet: torch.Tensor,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> torch.Tensor:
        """Which packets the CRC discards: ``(B, P)`` bool for packets of ``bits_per_packet (P,)`` bits."""
        device = torch.device(device)
        bits = bits_per_packet.to(device, torch.float64)
        per = -torch.expm1(bits * math.log1p(-self.ber)) if self.ber < 1 else (bits > 0).double()
        return uniform((batch, bits.numel()), generator, device) < per.to(torch.float32)

    def erase_rows(
        self,
        x: torch.Tensor,
        rows_per_packet: int,
        bits_per_row: float,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Bit errors as the receiver sees them: ``x (B, C, H, W)`` → ``(x_erased, lost_rows (B, H) bool)``.

        A packet of ``n`` rows carries ``n * bits_per_row`` payload bits and is
        discarded with probability ``packet_error_rate(ber, n * bits_per_row)``.
        Differentiable w.r.t. ``x``: identity on kept rows, zero on lost ones.
        """
        if x.dim() != 4:
            raise ValueError(f"x must have shape (B, C, H, W), got {tuple(x.shape)}")
        check_number("bits_per_row", bits_per_row)
        if bits_per_row < 0:
            raise ValueError(f"bits_per_row must be >= 0, got {bits_per_row}")
        bits = rows_per_each_packet(x.shape[2], rows_per_packet) * bits_per_row
        lost = self.sample_lost_tensor(x.shape[0], bits, generator, x.device)
        return erase_packets(x, lost, rows_per_packet)
