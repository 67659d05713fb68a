"""kill -9 the receiver mid-stream and start it again: every frame ends once, channel_sim's hop reconnects with
backoff, frames are delivered again."""

from __future__ import annotations

import pytest
from fault_helpers import assert_accounted, assert_backoff, report, scenario

from semlink.launch import CHANNEL, RECEIVER

DOWN_S = 3.0  # down this long, a stand-in on its gRPC port counting the reconnect attempts


@pytest.mark.timeout(180)
def test_receiver_killed_mid_stream_every_frame_ends_once_and_the_hop_reconnects(capsys):
    with scenario() as s:
        s.stream_for(4.0)
        down_s = s.kill_and_restart(RECEIVER, down_s=DOWN_S, grpc_port=s.link.config.ports.receiver_grpc)
        s.stream_for(5.0)
        summary = s.finish()
        assert_backoff(s.attempts, DOWN_S)
        assert_accounted(s, summary)
        assert s.delivered_after("back") > 0, f"nothing delivered after the receiver came back: {summary}"
        assert s.answers.subscriptions >= 2  # the event feed of the new receiver was followed too
        hops = s.stats(CHANNEL)["upstream"]["hops"]
        reconnects = sum(hop["reconnects"] for hop in hops)
        # One stream lost; reconnect attempts spaced by the backoff (0.1 s growing x1.6 to 5 s), never a hot loop.
        assert 1 <= reconnects <= 3 + down_s, f"{reconnects} reconnects in {down_s:.1f}s down: {hops}"
        assert all(hop["connected"] and hop["session_open"] for hop in hops), hops
    with capsys.disabled():
        print(report("receiver kill -9", s, summary, down_s=down_s,
                     attempts=[round(a, 2) for a in s.attempts], hop_reconnects=reconnects))
