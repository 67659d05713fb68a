"""A fresh training channel per micro-batch, drawn from the ranges of a ``ChannelSection``.

The channel's parameters (clean or not, loss rate, bursts, SNRs) are drawn from
``(seed, step, micro)``, the same on every data-parallel process; its random
stream (which packets are lost, the noise) also depends on the rank, so
processes see different erasures of the same kind. Nothing is carried from batch
to batch, so a resumed run draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

import numpy as np

from semlink.channel import Channel, ChannelConfig

from trainer.config import ChannelSection

_SALT_PARAMS = 0xC4A1
_SALT_STREAM = 0xC4A2


def channel_config(section: ChannelSection, seed: int, micro: int, rank: int = 0) -> ChannelConfig | None:
    """The channel micro-batch ``micro`` trains through; ``None`` = a clean link."""
    rng = np.random.default_rng([_SALT_PARAMS, seed, micro])
    if rng.random() < section.clean_fraction:
        return None
    values: dict = {}
    loss = float(rng.uniform(*section.loss_p))
    if rng.random() < section.burst_fraction:
        r = 1.0 / float(rng.uniform(*section.burst_length))  # mean burst = 1 / r packets
        p = min(1.0, loss * r / (1.0 - loss)) if loss < 1 else 1.0  # stationary loss p / (p + r) = loss
        values.update(loss="gilbert_elliott", ge_p=p, ge_r=r)
    elif loss > 0:
        values.update(loss="bernoulli", loss_p=loss)
    if rng.random() < section.bit_error_fraction:
        values["snr_db"] = float(rng.uniform(*section.snr_db))
    if rng.random() < section.analog_fraction:
        values["analog_snr_db"] = float(rng.uniform(*section.analog_snr_db))
    if not values:
        return None
    stream = int(np.random.SeedSequence([_SALT_STREAM, seed, micro, rank]).generate_state(1)[0])
    return ChannelConfig(seed=stream, **values)


def draw_channel(section: ChannelSection, seed: int, micro: int, rank: int = 0) -> Channel | None:
    config = channel_config(section, seed, micro, rank)
    return Channel(config) if config is not None else None
