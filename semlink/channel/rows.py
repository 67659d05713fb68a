"""How packets map onto latent rows in the tensor view: packet sizes, uniform draws and row erasure.

A latent ``x`` of shape ``(B, C, H, W)`` travels as ``P = ceil(H / rows_per_packet)``
packets per sample; packet ``i`` carries rows ``[i * rows_per_packet, (i + 1) * rows_per_packet)``
(the last may be shorter), as :meth:`semlink.packets.FrameHeader.rows_of` says.
"""

from __future__ import annotations

from semlink.channel.lazy_torch import torch


def packet_count(height: int, rows_per_packet: int) -> int:
    """How many packets carry ``height`` rows, ``rows_per_packet`` at a time."""
    if rows_per_packet < 1:
        raise ValueError(f"rows_per_packet must be >= 1, got {rows_per_packet}")
    return -(-height // rows_per_packet)


def rows_per_each_packet(height: int, rows_per_packet: int) -> torch.Tensor:
    """The number of rows in each packet, shape ``(P,)`` (int64); the last may be short."""
    count = packet_count(height, rows_per_packet)
    rows = torch.full((count,), rows_per_packet, dtype=torch.int64)
    if count:
        rows[-1] = height - (count - 1) * rows_per_packet
    return rows


def uniform(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """``U[0, 1)`` draws of ``shape`` on ``device``, drawn from ``generator`` on its own device."""
    source = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=source).to(device)


def normal(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Standard normal draws of ``shape`` (float32) on ``device``, drawn from ``generator``."""
    source = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=source).to(device)


def lost_rows_of(lost_packets: torch.Tensor, rows_per_packet: int, height: int) -> torch.Tensor:
    """Expand a packet mask ``(B, P)`` to the rows it covers, ``(B, H)`` (bool)."""
    return lost_packets.repeat_interleave(rows_per_packet, dim=1)[:, :height]


def erase_packets(
    x: torch.Tensor, lost_packets: torch.Tensor, rows_per_packet: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero the rows of lost packets: what the decoder sees.

    ``x``: ``(B, C, H, W)``; ``lost_packets``: ``(B, P)`` bool, True = lost.
    Returns ``(x_erased (B, C, H, W), lost_rows (B, H) bool)``. The gradient of
    ``x_erased`` w.r.t. ``x`` is the identity on kept rows and zero on lost rows.
    """
    if x.dim() != 4:
        raise ValueError(f"x must have shape (B, C, H, W), got {tuple(x.shape)}")
    batch, _, height, _ = x.shape
    expected = (batch, packet_count(height, rows_per_packet))
    if tuple(lost_packets.shape) != expected:
        raise ValueError(f"lost_packets must have shape {expected}, got {tuple(lost_packets.shape)}")
    lost_rows = lost_rows_of(lost_packets.to(x.device, torch.bool), rows_per_packet, height)
    keep = (~lost_rows).to(x.dtype)[:, None, :, None]
    return x * keep, lost_rows
