"""Restart the transmitter mid-stream (SIGTERM, as a deploy does): the stopped one ends every frame it accepted and
says so, the new one streams on a new session, the receiver answers no frame twice."""

from __future__ import annotations

import pytest
from fault_helpers import assert_accounted, report, scenario

from semlink.launch import TRANSMITTER
from semlink.packets.session import split_frame_id

FINAL = ("acked", "partial", "lost")


@pytest.mark.timeout(180)
def test_transmitter_restarted_mid_stream_ends_every_frame_it_accepted(capsys):
    with scenario() as s:
        s.stream_for(4.0)
        down_s = s.stop_and_restart(TRANSMITTER)
        s.stream_for(5.0)
        summary = s.finish()
        assert_accounted(s, summary)  # the new transmitter's frames
        assert s.delivered_after("back") > 0, f"nothing delivered after the transmitter came back: {summary}"
        stopped = s.stop_line()
        old = [e for e in s.traffic.ledger.entries() if split_frame_id(e.frame_id)[0] == stopped["session"]]
        frames = stopped["frames"]
        # Every frame the stopped transmitter accepted (all of them ours) ended there, each exactly once.
        assert frames["accepted"] == len(old) > 0, (frames, len(old))
        assert frames["acked"] + frames["partial"] + frames["lost"] == frames["accepted"], frames
        for status in FINAL:  # what we saw end over REST is part of what it counted
            assert sum(e.status == status for e in old) <= frames[status], (status, frames)
        assert s.stats(TRANSMITTER)["session"]["id"] != stopped["session"]
    with capsys.disabled():
        print(report("transmitter restart", s, summary, down_s=down_s,
                     stopped_transmitter=f"{frames} lost {stopped['lost_reasons']}"))
