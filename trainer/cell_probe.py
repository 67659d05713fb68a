"""A throw-away head that reads shape attributes off each cell of the vision features: the auxiliary loss
that makes a from-scratch vision tower informative before, and while, the language model learns to read it.

Without it, a tiny Florence-2 trained from scratch sits at the language prior: the
decoder learns the caption grammar long before the randomly initialised vision
tower says anything useful, and the image tokens collapse to near-constants
(seen: std 0.003 across images against 1.03 overall). With a dense per-cell
target on the tower's output the tower learns colour, kind and size in ~150
steps, and the decoder starts using the image within a few hundred steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from semlink.shapes.scene import COLORS, KINDS, SIZES, Scene

ATTRIBUTES = (tuple(COLORS), tuple(KINDS), tuple(SIZES))


def cell_labels(scenes: list[Scene], grid: tuple[int, int]) -> torch.Tensor:
    """``(N, 3, gh, gw)`` class ids (0 = no shape; else 1 + index of colour, kind, size) of the shape
    whose box contains each feature cell's centre."""
    gh, gw = grid
    labels = torch.zeros(len(scenes), 3, gh, gw, dtype=torch.long)
    for n, scene in enumerate(scenes):
        cy = (torch.arange(gh) + 0.5) * scene.height / gh
        cx = (torch.arange(gw) + 0.5) * scene.width / gw
        for shape in scene.shapes:
            x1, y1, x2, y2 = shape.bbox
            inside = ((cy >= y1) & (cy <= y2))[:, None] & ((cx >= x1) & (cx <= x2))[None, :]
            for a, (names, value) in enumerate(zip(ATTRIBUTES, (shape.color, shape.kind, shape.size))):
                labels[n, a][inside] = names.index(value) + 1
    return labels


class CellProbe(nn.Module):
    """A 1×1 convolution from features ``(B, C, H, W)`` to per-cell colour/kind/size logits."""

    def __init__(self, channels: int):
        super().__init__()
        self.classes = [len(names) + 1 for names in ATTRIBUTES]
        self.head = nn.Conv2d(channels, sum(self.classes), 1)

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Summed cross-entropy over the three attributes, and colour accuracy on occupied cells."""
        logits = self.head(features).split(self.classes, dim=1)
        loss = sum(F.cross_entropy(l, labels[:, a]) for a, l in enumerate(logits))
        occupied = labels[:, 0] > 0
        right = ((logits[0].argmax(1) == labels[:, 0]) & occupied).sum()
        return loss, float(right / occupied.sum().clamp(min=1))
