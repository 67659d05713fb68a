"""Codec names → classes and configs; build a fresh codec or load one from a checkpoint path."""

from __future__ import annotations

from pathlib import Path

from semlink.codecs.base import Codec, CodecError
from semlink.codecs.learned import LearnedCodec, LearnedConfig
from semlink.codecs.passthrough import Fp16Codec, PassthroughConfig, RawCodec
from semlink.codecs.pca import PcaCodec, PcaConfig
from semlink.codecs.q8 import Q8Codec, UniformConfig

CODECS: dict[str, tuple[type[Codec], type]] = {
    "raw": (RawCodec, PassthroughConfig),
    "fp16": (Fp16Codec, PassthroughConfig),
    "q8": (Q8Codec, UniformConfig),
    "pca": (PcaCodec, PcaConfig),
    "learned": (LearnedCodec, LearnedConfig),
}


def codec_names() -> list[str]:
    return list(CODECS)


def build_codec(name: str, feature_shape, fingerprint: str, **config) -> Codec:
    """A fresh codec by name (``pca`` still needs ``fit``; ``learned`` is untrained)."""
    if name not in CODECS:
        raise CodecError(f"unknown codec {name!r}; known codecs: {', '.join(CODECS)}, or a checkpoint path")
    cls, config_cls = CODECS[name]
    try:
        cfg = config_cls(**config)
    except TypeError as err:
        raise CodecError(f"bad option for codec {name!r}: {err}") from err
    return cls(cfg, feature_shape, fingerprint)


def is_checkpoint(name: str) -> bool:
    return name.endswith(".safetensors") or Path(name).is_file()


def reconfigured(codec: Codec, **changes) -> Codec:
    """The same codec (same class, weights and buffers) built with ``changes`` to its config."""
    try:
        config = type(codec.config)(**{**codec.config_dict(), **changes})
    except TypeError as err:
        raise CodecError(f"bad option for codec {codec.codec_id!r}: {err}") from err
    again = type(codec)(config, codec.feature_shape, codec.fingerprint)
    again.load_state_dict(codec.state_dict())
    return again.to(codec.device).train(codec.training)


def repacketized(codec: Codec, rows_per_packet: int) -> Codec:
    """The same codec (same weights) cutting its latent into packets of ``rows_per_packet`` rows.

    Packetisation is not a weight: it trades framing bytes against what one lost packet costs.
    """
    if codec.rows_per_packet == rows_per_packet:
        return codec
    again = reconfigured(codec, rows_per_packet=rows_per_packet)
    again.label = f"{getattr(codec, 'label', codec.codec_id)}@{rows_per_packet}rows"
    return again
