"""Named Florence-2 configurations that build offline: plain functions returning configs.

``tiny-random``  a tiny config of the real classes, random weights, for tests.
``base-random``  Florence-2-base's exact architecture, random weights, for sizing and timing.
``shapes-tiny``  (shipped checkpoint, see ``semlink.florence.loading``) trained on the shapes world.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import BartConfig, Florence2Config, Florence2VisionConfig, GenerationConfig


@dataclass(frozen=True)
class ArchSpec:
    """The numbers that define a Florence-2 architecture (vision DaViT + BART text)."""

    image_size: int
    vision_depths: tuple[int, ...]
    vision_embed_dim: tuple[int, ...]
    vision_heads: tuple[int, ...]
    vision_groups: tuple[int, ...]
    patch_stride: tuple[int, ...]
    window_size: int
    d_model: int
    encoder_layers: int
    decoder_layers: int
    attention_heads: int
    ffn_dim: int
    vocab_size: int
    max_positions: int
    initializer_range: float = 0.02

    def __post_init__(self):
        stride = 1
        for s in self.patch_stride:
            stride *= s
        if self.image_size % stride:
            raise ValueError(f"image_size {self.image_size} must be a multiple of the total patch stride {stride}")
        n = len(self.vision_depths)
        for name in ("vision_embed_dim", "vision_heads", "vision_groups", "patch_stride"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} must have one entry per vision stage ({n})")

    @property
    def feature_hw(self) -> tuple[int, int]:
        stride = 1
        for s in self.patch_stride:
            stride *= s
        return self.image_size // stride, self.image_size // stride


def florence_config(spec: ArchSpec, image_token_id: int) -> Florence2Config:
    """A ``Florence2Config`` for ``spec``, with BART's token-id layout (<s>=0, <pad>=1, </s>=2)."""
    patch_size = tuple(7 if i == 0 else 3 for i in range(len(spec.patch_stride)))
    patch_padding = tuple(3 if i == 0 else 1 for i in range(len(spec.patch_stride)))
    vision = Florence2VisionConfig(
        depths=list(spec.vision_depths),
        embed_dim=list(spec.vision_embed_dim),
        num_heads=list(spec.vision_heads),
        num_groups=list(spec.vision_groups),
        patch_stride=list(spec.patch_stride),
        patch_size=list(patch_size),
        patch_padding=list(patch_padding),
        patch_prenorm=[i > 0 for i in range(len(spec.patch_stride))],
        window_size=spec.window_size,
        projection_dim=spec.d_model,
        drop_path_rate=0.0,
        initializer_range=spec.initializer_range,
    )
    text = BartConfig(
        vocab_size=spec.vocab_size,
        d_model=spec.d_model,
        encoder_layers=spec.encoder_layers,
        decoder_layers=spec.decoder_layers,
        encoder_attention_heads=spec.attention_heads,
        decoder_attention_heads=spec.attention_heads,
        encoder_ffn_dim=spec.ffn_dim,
        decoder_ffn_dim=spec.ffn_dim,
        max_position_embeddings=spec.max_positions,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_eos_token_id=2,
        init_std=spec.initializer_range,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        scale_embedding=False,
    )
    return Florence2Config(
        vision_config=vision.to_dict(),
        text_config=text.to_dict(),
        image_token_id=image_token_id,
        initializer_range=spec.initializer_range,
    )


def generation_config(max_new_tokens: int) -> GenerationConfig:
    """Florence-2's default decoding: beam search with 3 beams, no sampling."""
    return GenerationConfig(
        num_beams=3,
        do_sample=False,
        max_new_tokens=max_new_tokens,
        early_stopping=True,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_eos_token_id=2,
    )


def tiny_random() -> ArchSpec:
    """A few hundred thousand parameters; 128² images → 4×4×64 features."""
    return ArchSpec(
        image_size=128,
        vision_depths=(1, 1, 1, 1),
        vision_embed_dim=(16, 32, 32, 64),
        vision_heads=(1, 2, 2, 4),
        vision_groups=(1, 2, 2, 4),
        patch_stride=(4, 2, 2, 2),
        window_size=2,
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        attention_heads=2,
        ffn_dim=128,
        vocab_size=0,  # set from the tokenizer
        max_positions=256,
        initializer_range=0.2,
    )


def base_random() -> ArchSpec:
    """Florence-2-base: DaViT (1024 channels, 24×24 at 768²) + BART-base (768, 6+6 layers)."""
    return ArchSpec(
        image_size=768,
        vision_depths=(1, 1, 9, 1),
        vision_embed_dim=(128, 256, 512, 1024),
        vision_heads=(4, 8, 16, 32),
        vision_groups=(4, 8, 16, 32),
        patch_stride=(4, 2, 2, 2),
        window_size=12,
        d_model=768,
        encoder_layers=6,
        decoder_layers=6,
        attention_heads=12,
        ffn_dim=3072,
        vocab_size=51289,
        max_positions=1024,
    )


def shapes_tiny() -> ArchSpec:
    """The shipped ``shapes-tiny``: 64² model input → 8×8×128 features (65 image tokens), BART 128-wide, 3+3 layers.

    Scenes are drawn at 128² and the processor resizes them to 64²: the DaViT's first stage then runs on
    16×16 tokens instead of 32×32, which makes CPU training several times faster and loses nothing the
    shapes world needs.
    """
    return ArchSpec(
        image_size=64,
        vision_depths=(1, 1, 1, 1),
        vision_embed_dim=(32, 64, 96, 128),
        vision_heads=(1, 2, 3, 4),
        vision_groups=(1, 2, 3, 4),
        patch_stride=(4, 2, 1, 1),
        window_size=4,
        d_model=128,
        encoder_layers=3,
        decoder_layers=3,
        attention_heads=4,
        ffn_dim=512,
        vocab_size=0,  # set from the tokenizer
        max_positions=256,
        initializer_range=0.02,
    )
