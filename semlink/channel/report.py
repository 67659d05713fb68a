"""What a channel did to the packets it carried: counts of drops, corruptions and bit flips."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class ChannelReport:
    """Counts for one or more frames through one or more channel stages.

    ``packets_in`` packets were offered; ``packets_dropped`` never arrived;
    ``packets_corrupted`` arrived with at least one flipped bit (their CRC32 no
    longer matches). ``bits_total`` counts the payload bits of the packets that
    were exposed to bit errors (those not dropped), ``bits_flipped`` how many of
    them flipped.

    ``a + b`` accumulates reports of separate transmissions (frames);
    ``a.followed_by(b)`` composes stages in series, where ``b`` saw only the
    packets ``a`` let through.
    """

    packets_in: int = 0
    packets_dropped: int = 0
    packets_corrupted: int = 0
    bits_flipped: int = 0
    bits_total: int = 0

    def __post_init__(self) -> None:
        for name in _COUNTS:  # field names, not asdict: a report is made per frame on channel_sim's data path
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if self.packets_dropped + self.packets_corrupted > self.packets_in:
            raise ValueError(
                f"packets_dropped + packets_corrupted ({self.packets_dropped} + "
                f"{self.packets_corrupted}) exceeds packets_in ({self.packets_in})"
            )
        if self.bits_flipped > self.bits_total:
            raise ValueError(f"bits_flipped ({self.bits_flipped}) exceeds bits_total ({self.bits_total})")

    def __add__(self, other: "ChannelReport") -> "ChannelReport":
        if not isinstance(other, ChannelReport):
            return NotImplemented
        return ChannelReport(*(getattr(self, k) + getattr(other, k) for k in _COUNTS))

    def followed_by(self, later: "ChannelReport") -> "ChannelReport":
        """This stage, then ``later`` applied to the packets this stage delivered."""
        delivered = self.packets_in - self.packets_dropped
        if later.packets_in != delivered:
            raise ValueError(
                f"the later stage saw {later.packets_in} packets but this stage delivered {delivered}"
            )
        return ChannelReport(
            packets_in=self.packets_in,
            packets_dropped=self.packets_dropped + later.packets_dropped,
            packets_corrupted=self.packets_corrupted + later.packets_corrupted,
            bits_flipped=self.bits_flipped + later.bits_flipped,
            bits_total=self.bits_total + later.bits_total,
        )

    @property
    def packets_delivered(self) -> int:
        return self.packets_in - self.packets_dropped

    @property
    def realised_loss_rate(self) -> float:
        """Fraction of offered packets that were dropped (0.0 when none were offered)."""
        return self.packets_dropped / self.packets_in if self.packets_in else 0.0

    @property
    def realised_ber(self) -> float:
        """Fraction of exposed payload bits that flipped (0.0 when none were exposed)."""
        return self.bits_flipped / self.bits_total if self.bits_total else 0.0

    def to_dict(self) -> dict[str, float]:
        """The counts and the realised rates, e.g. for a stats endpoint."""
        return {
            **asdict(self),
            "realised_loss_rate": self.realised_loss_rate,
            "realised_ber": self.realised_ber,
        }


_COUNTS = tuple(f.name for f in fields(ChannelReport))
