"""Packet-to-row mapping of the tensor view: packet counts, short last packets, row erasure."""

import pytest
import torch

from semlink.channel import erase_packets, packet_count
from semlink.channel.rows import lost_rows_of, rows_per_each_packet
from semlink.packets import FrameHeader


@pytest.mark.parametrize("height, rows_per_packet, count", [(24, 1, 24), (24, 4, 6), (7, 3, 3), (1, 8, 1), (0, 2, 0)])
def test_packet_count_and_sizes_agree_with_the_frame_header(height, rows_per_packet, count):
    header = FrameHeader(0, "q8", "f", (4, height, 4), "uint8", count, rows_per_packet, (4, height, 4))
    sizes = rows_per_each_packet(height, rows_per_packet)
    assert packet_count(height, rows_per_packet) == count
    assert sizes.tolist() == [stop - start for start, stop in map(header.rows_of, range(count))]


def test_lost_rows_follow_their_packet():
    lost = torch.tensor([[True, False, True], [False, False, False]])
    assert lost_rows_of(lost, 3, 7).tolist() == [[True] * 3 + [False] * 3 + [True], [False] * 7]


def test_erase_packets_checks_the_mask_shape():
    with pytest.raises(ValueError, match=r"lost_packets must have shape \(2, 3\), got \(2, 2\)"):
        erase_packets(torch.zeros(2, 1, 7, 1), torch.zeros(2, 2, dtype=torch.bool), 3)
