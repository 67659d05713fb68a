"""kill -9 channel_sim mid-stream and start it again: every frame ends once, the transmitter reconnects with backoff,
frames are delivered again."""

from __future__ import annotations

import pytest
from fault_helpers import assert_accounted, assert_backoff, report, scenario

from semlink.launch import CHANNEL, TRANSMITTER

DOWN_S = 3.0  # down this long, a stand-in on its gRPC port counting the reconnect attempts


@pytest.mark.timeout(180)
def test_channel_sim_killed_mid_stream_every_frame_ends_once_and_the_transmitter_reconnects(capsys):
    with scenario() as s:
        s.stream_for(4.0)
        down_s = s.kill_and_restart(CHANNEL, down_s=DOWN_S, grpc_port=s.link.config.ports.channel_grpc)
        s.stream_for(5.0)
        summary = s.finish()
        assert_backoff(s.attempts, DOWN_S)
        assert_accounted(s, summary)
        assert s.delivered_after("back") > 0, f"nothing delivered after channel_sim came back: {summary}"
        link = s.stats(TRANSMITTER)["link"]
        # One stream lost; reconnect attempts spaced by the backoff (0.1 s growing x1.6 to 5 s), never a hot loop.
        assert 1 <= link["reconnects"] <= 3 + down_s, f"{link['reconnects']} reconnects in {down_s:.1f}s: {link}"
        assert link["connected"] and link["session_open"], link
    with capsys.disabled():
        print(report("channel_sim kill -9", s, summary, down_s=down_s,
                     attempts=[round(a, 2) for a in s.attempts], reconnects=link["reconnects"]))
