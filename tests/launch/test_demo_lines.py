"""The demo's lines show byte counts as people read them: a whole count plainly, a packed frame's share of its
group's to two decimals (the services' figures are floats since frames can be packed)."""

from semlink.cli.demo import describe, describe_lost
from semlink.launch.client import byte_figure


def test_byte_figures_drop_a_whole_counts_decimals_and_keep_a_shares():
    assert [byte_figure(n) for n in (61.0, 98.75, 1234.5, 15665, 0.0, 1 / 3)] == [
        "61", "98.75", "1,234.5", "15,665", "0", "0.33"]


def test_a_packed_frames_line_and_a_lone_frames_line():
    row = {"frame_id": 7, "result": "a purple triangle.", "packets_lost": 0, "packets": 4, "latency_ms": 58.2,
           "wire_bytes": 61.0, "datagrams": 4.0, "datagram_overhead": 0}
    assert describe(row) == "frame 7: 'a purple triangle.'  [61 wire B, lost 0/4 packets, 58 ms]"
    packed = {**row, "wire_bytes_sent": 98.75, "datagrams": 1.0, "datagram_overhead": 40}
    assert describe(packed) == ("frame 7: 'a purple triangle.'  [98.75 wire B with 1 x 40 B transport, lost 0/4 "
                                "packets, 58 ms]")
    lost = {"frame_id": 8, "reason": "no packet arrived", "wire_bytes_sent": 233.0}
    assert describe_lost(lost) == "frame 8: lost on the link (no packet arrived) [233 wire B sent]"
