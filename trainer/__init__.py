"""The trainer: a learned codec trained end to end through the frozen Florence-2 halves and a differentiable channel.

``semlink train CONFIG.yaml`` (or ``python -m trainer``, or either under
``torchrun --nproc_per_node N``) runs :func:`trainer.loop.train`; the
configuration is :class:`trainer.config.TrainConfig`, one YAML file per run.
"""

from trainer.config import TrainConfig, apply_overrides, load_config
from trainer.loop import CODEC_FILE, TrainResult, train

__all__ = ["CODEC_FILE", "TrainConfig", "TrainResult", "apply_overrides", "load_config", "train"]
