"""Acks to and from the wire: an outcome's status, loss reason and detail as ``semlink.v2.Ack``, and back."""

from __future__ import annotations

from semlink.packets.outcome import AckStatus, LossReason
from semlink.v2 import semlink_pb2 as pb

_LOSS_TO_WIRE = {reason: pb.LossReason.Value(f"LOSS_{reason.name}") for reason in LossReason}
_LOSS_FROM_WIRE = {code: reason for reason, code in _LOSS_TO_WIRE.items()}


def ack_message(frame_id: int, status: AckStatus, detail: str = "", loss: LossReason = LossReason.NONE,
                datagram_overhead: int = 0) -> pb.Ack:
    """The ``Ack`` of one frame's outcome, with the per-datagram transport bytes it was counted with."""
    return pb.Ack(frame_id=frame_id, status=status.value, detail=detail, loss=_LOSS_TO_WIRE[loss],
                  datagram_overhead=datagram_overhead)


def ack_outcome(ack: pb.Ack) -> tuple[AckStatus, str, LossReason]:
    """``(status, detail, loss)`` of a received ``Ack``; a status this release does not know is ``rejected``,
    saying so, and a lost ack without a loss code this release knows reads as the far end's loss (``gap``)."""
    try:
        status = AckStatus(ack.status)
    except ValueError:
        return AckStatus.REJECTED, f"unknown ack status {ack.status!r}: {ack.detail}", LossReason.NONE
    loss = (_LOSS_FROM_WIRE.get(ack.loss) or LossReason.GAP) if status is AckStatus.LOST else LossReason.NONE
    return status, ack.detail, loss
