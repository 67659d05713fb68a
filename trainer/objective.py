"""The trainable link between the frozen Florence-2 halves, and the weighted loss it is trained on.

``LinkObjective`` holds the codec (its only parameters) and, unregistered, the
frozen halves: features ``(B, C, H, W)`` → codec with the channel in the middle →
``x_hat`` → frozen projector and language model (``requires_grad=False`` but a live
graph, so gradients reach the decompressor) → loss terms:

- ``ce``: teacher-forced cross-entropy of the target texts;
- ``distill``: KL(teacher ‖ student) of the next-token distributions on the same
  prompt and target, the teacher being the uncompressed features' logits;
- ``feature_mse``: MSE at the seam, per channel in units of its std;
- ``projector_mse``: MSE of the projector's image tokens ``(B, HW+1, D)``;
- ``rate``: bits per feature element from the codec's entropy model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from semlink.codecs import Codec
from semlink.codecs.base import TensorChannel
from semlink.florence import FlorenceBundle, LanguageHalf

from trainer.config import LossSection


class FlorenceReceivedGradient(RuntimeError):
    """A frozen Florence-2 parameter got a gradient: only the codec may train."""


def assert_frozen(bundle: FlorenceBundle) -> None:
    """Raise unless every Florence-2 parameter is frozen and has no gradient."""
    for name, p in bundle.model.named_parameters():
        if p.requires_grad or p.grad is not None:
            raise FlorenceReceivedGradient(f"Florence-2 parameter {name} is trainable or received a gradient; "
                                           "the model must stay frozen (load it with semlink.runtime.load_model)")


def distillation_kl(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over target positions of KL(softmax(teacher/T) ‖ softmax(student/T)) · T², logits ``(B, T, V)``."""
    t = temperature
    log_p_student = F.log_softmax(student.float() / t, dim=-1)
    log_p_teacher = F.log_softmax(teacher.float() / t, dim=-1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(-1)  # (B, T)
    mask = mask.to(kl.dtype)
    return (kl * mask).sum() / mask.sum().clamp(min=1) * t * t


class LinkObjective(nn.Module):
    """``forward(features, tasks, targets, channel)`` → ``{"loss", term..., "bits", "lost"}`` for one micro-batch."""

    def __init__(self, bundle: FlorenceBundle, codec: Codec, weights: LossSection):
        super().__init__()
        self.codec = codec
        self.weights = weights
        # Plain attributes, not submodules: the frozen model stays out of state_dict, DDP and the optimizer.
        self.__dict__["language"] = LanguageHalf(bundle)
        c, h, w = codec.feature_shape
        self.feature_elements = c * h * w

    def forward(self, features: torch.Tensor, tasks: Sequence[str], targets: Sequence[str],
                channel: TensorChannel | None = None) -> dict[str, torch.Tensor]:
        wt = self.weights
        out = self.codec(features, channel)
        terms: dict[str, torch.Tensor] = {}
        if wt.ce or wt.distill:
            student = self.language.forward_logits(out.x_hat, tasks, targets)
            if wt.ce:
                terms["ce"] = student.loss
            if wt.distill:
                with torch.no_grad():
                    teacher = self.language.forward_logits(features, tasks, targets).logits
                mask = (self.language.target_ids(targets) != -100).to(teacher.device)
                terms["distill"] = distillation_kl(student.logits, teacher, mask, wt.temperature)
        if wt.feature_mse:
            std = self.codec.feature_std[None, :, None, None]
            terms["feature_mse"] = (((out.x_hat.float() - features.float()) / std) ** 2).mean()
        if wt.projector_mse:
            with torch.no_grad():
                reference = self.language.project(features).float()
            terms["projector_mse"] = F.mse_loss(self.language.project(out.x_hat).float(), reference)
        bits = out.bits.float().mean()
        if wt.rate:
            terms["rate"] = bits / self.feature_elements
        loss = sum(getattr(wt, name) * value for name, value in terms.items())
        return {"loss": loss, **terms, "bits": bits.detach(), "lost": out.lost_rows.float().mean().detach()}
