"""Acks on the wire: every outcome's status and loss code survive the round trip; unknown values are read safely."""

from __future__ import annotations

import pytest

from semlink.packets.outcome import AckStatus, LossReason
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import ack_message, ack_outcome


@pytest.mark.parametrize("loss", [r for r in LossReason if r is not LossReason.NONE])
def test_a_lost_frames_code_round_trips(loss):
    wire = pb.Ack.FromString(ack_message(7, AckStatus.LOST, "why", loss).SerializeToString())
    assert (wire.frame_id, wire.status) == (7, "lost")
    assert ack_outcome(wire) == (AckStatus.LOST, "why", loss)


@pytest.mark.parametrize("status", [AckStatus.OK, AckStatus.PARTIAL, AckStatus.REJECTED])
def test_other_outcomes_carry_no_loss(status):
    assert ack_outcome(ack_message(1, status, "d")) == (status, "d", LossReason.NONE)


def test_unknown_values_are_read_safely():
    assert ack_outcome(pb.Ack(frame_id=1, status="maybe", detail="x"))[0] is AckStatus.REJECTED
    assert ack_outcome(pb.Ack(frame_id=1, status="lost"))[2] is LossReason.GAP  # a peer that sends no code
    assert LossReason.UPSTREAM.at_hop is False and LossReason.CONNECTION_LOST.at_hop is True
