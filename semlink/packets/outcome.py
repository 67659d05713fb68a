"""How a frame ends, as named values: its ack status, for a lost frame why (never read from a detail text), and
the transmitter's record status.

``AckStatus`` values are the wire's ``Ack.status`` strings; ``LossReason`` is the
wire's ``Ack.loss`` code (``semlink.wire`` converts). The ``detail`` text that
travels beside them is for people.
"""

from __future__ import annotations

from enum import StrEnum


class AckStatus(StrEnum):
    """One frame's outcome: all packets (``ok``), some (``partial``), none (``lost``), or unusable (``rejected``)."""

    OK = "ok"
    PARTIAL = "partial"
    LOST = "lost"
    REJECTED = "rejected"

    @property
    def delivered(self) -> bool:
        return self in (AckStatus.OK, AckStatus.PARTIAL)


class FrameStatus(StrEnum):
    """Where a transmitter's frame stands (its REST record): waiting for the encoder, on the wire, or how it
    ended. ``acked`` and ``partial`` are delivered; a ``rejected`` ack ends the frame ``lost``, saying so."""

    QUEUED = "queued"
    SENT = "sent"
    ACKED = "acked"
    PARTIAL = "partial"
    LOST = "lost"

    @property
    def final(self) -> bool:
        return self in (FrameStatus.ACKED, FrameStatus.PARTIAL, FrameStatus.LOST)

    @property
    def delivered(self) -> bool:
        return self in (FrameStatus.ACKED, FrameStatus.PARTIAL)


class LossReason(StrEnum):
    """Why a frame was lost, and where: at the receiver, at a sender's hop, or at channel_sim."""

    NONE = ""  # not lost
    GAP = "gap"  # the receiver saw nothing of it: a gap in the sequence numbers, or a sender report
    CORRUPTED = "corrupted"  # every packet that arrived failed its check
    CONNECTION_LOST = "connection lost"  # the stream it was written on died before its ack
    SENDER_CLOSED = "sender closed"  # the sender stopped before it was sent or acked
    ACK_TIMEOUT = "ack timeout"  # no ack within the sender's ack_timeout_s
    QUEUE_FULL = "queue full"  # a hop's bounded queue had no room
    CHANNEL_SIM = "channel_sim"  # channel_sim dropped it itself: delay line full, reset, stopped
    UPSTREAM = "upstream"  # channel_sim could not deliver it to the receiver (its hop's own loss)

    @property
    def at_hop(self) -> bool:
        """Lost by a hop itself (its sender or channel_sim), not reported by the far end."""
        return self in HOP_LOSSES


HOP_LOSSES = frozenset({LossReason.CONNECTION_LOST, LossReason.SENDER_CLOSED, LossReason.ACK_TIMEOUT,
                        LossReason.QUEUE_FULL, LossReason.CHANNEL_SIM})
