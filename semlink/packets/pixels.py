"""A pixel frame's bytes (a coded image in streaming form) as packets in the features' datagram framing, and back.

The frame is cut into chunks of at most :data:`PACKET_BYTES`; packet ``i`` carries
chunk ``i`` after a one-byte payload header, the frame's packet count (as AV1's
RTP payload opens each packet with a one-byte aggregation header). A pixel
frame's length varies from frame to frame, so this byte is how a receiver knows
when a frame is complete; it is counted in ``wire_bytes`` like every byte sent.

A coded picture without restart markers cannot be resumed after a gap, so what a
receiver can use is the **decodable prefix**: the chunks in order up to the first
packet that is missing or failed its check (:func:`decodable_prefix`).
"""

from __future__ import annotations

from collections.abc import Mapping

from semlink.packets.datagram import MAX_INDEX
from semlink.packets.frame import Frame, Packet

PACKET_BYTES = 1200  # chunk bytes per packet: an MTU's worth, as the eval's pixel peers are cut
COUNT_BYTES = 1  # the payload header: this frame's packet count
MAX_PACKETS = MAX_INDEX + 1
PIXEL_DTYPE = "uint8"
PIXEL_SHAPE = (1, MAX_PACKETS, PACKET_BYTES)  # a pixel session's latent shape: at most this many chunks a frame


def frame_chunks(data: bytes) -> list[bytes]:
    """``data`` (one frame's bytes) cut into chunks of at most :data:`PACKET_BYTES` (one, empty, for no bytes);
    raises ``ValueError`` past :data:`MAX_PACKETS`."""
    chunks = [data[i : i + PACKET_BYTES] for i in range(0, len(data), PACKET_BYTES)] or [b""]
    if len(chunks) > MAX_PACKETS:
        raise ValueError(f"a pixel frame of {len(data)} bytes needs {len(chunks)} packets, over the wire's "
                         f"{MAX_PACKETS}; code the image at a lower quality or a smaller size (FMT@S)")
    return chunks


def pixel_packets(data: bytes, frame_id: int) -> tuple[Packet, ...]:
    """``data`` (one frame's bytes) as packets ``[count | chunk]``; raises ``ValueError`` past :data:`MAX_PACKETS`."""
    chunks = frame_chunks(data)
    head = bytes([len(chunks)])
    return tuple(Packet(frame_id, i, i, i + 1, head + chunk) for i, chunk in enumerate(chunks))


def claimed_count(payload: bytes) -> int | None:
    """The packet count a pixel packet's payload header claims, or ``None`` when it cannot be one."""
    if len(payload) < COUNT_BYTES or not 1 <= payload[0] <= MAX_PACKETS:
        return None
    return payload[0]


def decodable_prefix(chunks: Mapping[int, bytes], count: int) -> bytes:
    """The chunks (payload headers removed) at indices ``0, 1, ...`` up to the first one absent from ``chunks``."""
    out = bytearray()
    for index in range(count):
        if index not in chunks:
            break
        out += chunks[index]
    return bytes(out)


def frame_prefix(frame: Frame) -> bytes:
    """The decodable prefix of a received pixel frame's bytes (its packets that arrived intact)."""
    chunks = {p.index: bytes(p.payload[COUNT_BYTES:]) for p in frame.packets}
    return decodable_prefix(chunks, frame.header.packet_count)
