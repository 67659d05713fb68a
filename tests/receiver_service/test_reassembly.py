"""semlink.receiver.reassembly: packets merged by index across messages, finished when complete or at the deadline."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from semlink.packets import MalformedFrame, depacketize_with_report, packetize
from semlink.receiver import Reassembler


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def frame():
    latent = np.random.default_rng(0).integers(0, 255, size=(3, 6, 4), dtype=np.uint8)
    return packetize(latent, frame_id=7, codec="q8", fingerprint="f", feature_shape=(3, 6, 4), rows_per_packet=2)


def test_a_complete_message_finishes_at_once(frame):
    done = Reassembler(0.1).offer(frame)
    assert [(d.frame, d.messages, d.timed_out) for d in done] == [(frame, 1, False)]


def test_parts_merge_by_index_and_duplicates_are_harmless(frame):
    r = Reassembler(0.1)
    assert r.offer(frame.with_packets(frame.packets[:1])) == []
    assert r.offer(frame.with_packets(frame.packets[:2])) == []  # index 0 again
    (done,) = r.offer(frame.with_packets(frame.packets[2:]))
    assert done.frame.packets == frame.packets and done.messages == 3 and len(r) == 0


def test_a_corrupted_copy_then_a_good_one_completes_the_frame(frame):
    """A datagram that failed its check arrives as ``damaged``; a later intact copy of it completes the frame."""
    r = Reassembler(0.1)
    r.offer(replace(frame.with_packets([frame.packets[0]]), damaged=1))
    r.offer(frame.with_packets([frame.packets[1]]))
    (done,) = r.offer(frame.with_packets([frame.packets[2]]))
    assert depacketize_with_report(done.frame)[2].complete and done.frame.damaged == 0


def test_a_gap_frame_waits_for_its_deadline_and_ends_empty(frame):
    clock = Clock()
    r = Reassembler(0.2, clock=clock)
    assert r.expect(frame.header) == [] and frame.header.frame_id in r
    clock.now = 0.2
    (done,) = r.expire()
    assert done.frame.packets == () and done.timed_out


def test_missing_packets_are_lost_at_the_deadline(frame):
    clock = Clock()
    r = Reassembler(0.2, clock=clock)
    r.offer(frame.with_packets(frame.packets[1:]))
    assert r.next_deadline() == pytest.approx(0.2)
    clock.now = 0.19
    assert r.expire() == []
    clock.now = 0.2
    (done,) = r.expire()
    assert done.timed_out and done.frame.lost_indices() == [0] and len(r) == 0


def test_a_conflicting_header_is_malformed(frame):
    r = Reassembler(0.1)
    r.offer(frame.with_packets(frame.packets[:1]))
    other = replace(frame, header=replace(frame.header, codec="fp16"))
    with pytest.raises(MalformedFrame, match="differs"):
        r.offer(other.with_packets(frame.packets[1:]))


def test_too_many_pending_frames_finish_the_oldest_early(frame):
    r = Reassembler(10, max_pending=2)
    for fid in (1, 2):
        r.offer(replace(frame, header=replace(frame.header, frame_id=fid), packets=()))
    (evicted,) = r.offer(replace(frame, header=replace(frame.header, frame_id=3), packets=()))
    assert evicted.frame.header.frame_id == 1 and evicted.timed_out and len(r) == 2
    assert [d.frame.header.frame_id for d in r.flush()] == [2, 3]
