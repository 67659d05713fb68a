"""Codecs: one contract (``base.Codec``), several families (raw, fp16, q8, pca, learned)."""

from semlink.codecs.base import Codec, CodecError, CodecOutput, Symbols, conceal
from semlink.codecs.checkpoint import FingerprintMismatch, load_codec, read_metadata, save_codec
from semlink.codecs.learned import LearnedCodec, LearnedConfig
from semlink.codecs.passthrough import FrameCost, Fp16Codec, PassthroughConfig, RawCodec, fp16_frame_cost
from semlink.codecs.pca import PcaCodec, PcaConfig
from semlink.codecs.q8 import Q8Codec, UniformConfig
from semlink.codecs.registry import CODECS, build_codec, codec_names

__all__ = [
    "CODECS", "Codec", "CodecError", "CodecOutput", "FingerprintMismatch", "Fp16Codec", "FrameCost",
    "LearnedCodec", "LearnedConfig", "PassthroughConfig", "PcaCodec", "PcaConfig", "Q8Codec", "RawCodec", "Symbols",
    "UniformConfig", "build_codec", "codec_names", "conceal", "fp16_frame_cost", "load_codec", "read_metadata",
    "save_codec",
]
