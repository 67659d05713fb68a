"""Starting a training run from a saved learned codec (``codec.init``): what comes from the checkpoint (the
architecture its weights fix), what from the run (packetisation, quantiser, a mixture prior)."""

from __future__ import annotations

import logging
from dataclasses import replace

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
    # compared with latent_channels resolved on both sides (0 means C // 8)
    asked = section.learned_config()
    asked = replace(asked, latent_channels=asked.latent_channels_for(codec.feature_shape[0]))
    say_architecture_kept(section.init, asked, replace(codec.config, latent_channels=codec.latent_channels))
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


def say_architecture_kept(init: str, asked, has) -> None:
    """Warn, naming each field, when the config ``asked`` for an architecture other than the checkpoint ``has``."""
    differences = [f"{name}={getattr(has, name)} (this config: {getattr(asked, name)})" for name in ARCHITECTURE
                   if getattr(asked, name) != getattr(has, name)]
    if differences:
        log.warning("codec.init %s keeps its own architecture: %s; set the config to match, or leave codec.init "
                    "empty to train a fresh codec as configured", init, ", ".join(differences))
