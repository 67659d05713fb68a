"""Starting a training run from a saved learned codec (``codec.init``): what comes from the checkpoint, what from
the run."""

from __future__ import annotations

import logging

from semlink.codecs import LearnedCodec, load_codec
from semlink.codecs.fit_tables import with_logistic_tables
from semlink.codecs.learned import with_prior
from semlink.codecs.registry import repacketized
from semlink.florence import FlorenceBundle

from trainer.config import CodecSection

log = logging.getLogger(__name__)


def codec_from_init(section: CodecSection, bundle: FlorenceBundle) -> LearnedCodec:
    """The codec ``section.init`` names, ready to go on training as ``section`` asks."""
    codec = load_codec(section.init, fingerprint=bundle.fingerprint)
    if not isinstance(codec, LearnedCodec):
        raise ValueError(f"codec.init {section.init} is a {codec.codec_id!r} codec, not a learned one")
    if codec.config.tables != "logistic":
        log.info("codec.init %s codes with fitted tables; training prices and codes with its logistic "
                 "(refit with `semlink fit-tables` after training)", section.init)
        codec = with_logistic_tables(codec)
    # The architecture comes from the checkpoint; packetisation is not a weight and follows this run, and
    # a logistic prior may go on as a mixture.
    codec = repacketized(codec, section.rows_per_packet)
    if section.prior and section.prior != codec.config.prior:
        log.info("codec.init %s trained with a %s prior; going on with a %s one", section.init,
                 codec.config.prior, section.prior)
        codec = with_prior(codec, section.prior)
    return codec
