"""Starting a training run from a saved learned codec (``codec.init``): what comes from the checkpoint, what from
the run."""

from __future__ import annotations

import logging

from semlink.codecs import LearnedCodec, load_codec
from semlink.codecs.fit_tables import with_logistic_tables
from semlink.codecs.learned import with_prior
from semlink.codecs.registry import reconfigured, repacketized
from semlink.florence import FlorenceBundle

from trainer.config import CodecSection

log = logging.getLogger(__name__)

#: what the checkpoint's weights fix: a config asking for other values is told its init's win
ARCHITECTURE = ("latent_channels", "stride", "bits", "hidden", "interleave")


def codec_from_init(section: CodecSection, bundle: FlorenceBundle) -> LearnedCodec:
    """The codec ``section.init`` names, ready to go on training as ``section`` asks."""
    codec = load_codec(section.init, fingerprint=bundle.fingerprint)
    if not isinstance(codec, LearnedCodec):
        raise ValueError(f"codec.init {section.init} is a {codec.codec_id!r} codec, not a learned one")
    if codec.config.tables != "logistic":
        log.info("codec.init %s codes with fitted tables; training prices and codes with its logistic "
                 "(refit with `semlink fit-tables` after training)", section.init)
        codec = with_logistic_tables(codec)
    differences = architecture_differences(section, codec)
    if differences:
        log.warning("codec.init %s keeps its own architecture: %s; set the config to match, or leave codec.init "
                    "empty to train a fresh codec as configured", section.init, ", ".join(differences))
    # The architecture comes from the checkpoint; packetisation and the quantiser are not weights and follow this
    # run, and a logistic prior may go on as a mixture.
    codec = repacketized(codec, section.rows_per_packet)
    if section.quantizer != codec.config.quantizer:
        log.info("codec.init %s trained with the %s quantiser; going on with %s", section.init,
                 codec.config.quantizer, section.quantizer)
        codec = reconfigured(codec, quantizer=section.quantizer)
    if section.prior and section.prior != codec.config.prior:
        log.info("codec.init %s trained with a %s prior; going on with a %s one", section.init,
                 codec.config.prior, section.prior)
        codec = with_prior(codec, section.prior)
    return codec


def architecture_differences(section: CodecSection, codec: LearnedCodec) -> list[str]:
    """``name=checkpoint's (this config: asked)`` for each architecture field the two disagree on (0 latent
    channels meaning ``C // 8`` on both sides)."""
    asked, has = section.learned_config(), codec.config
    resolved = {"latent_channels": lambda v: v or max(1, codec.feature_shape[0] // 8)}
    differences = []
    for name in ARCHITECTURE:
        norm = resolved.get(name, lambda v: v)
        if norm(getattr(asked, name)) != norm(getattr(has, name)):
            differences.append(f"{name}={getattr(has, name)} (this config: {getattr(asked, name)})")
    return differences
