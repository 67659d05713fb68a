"""One stored frame as bytes: its header and the packets that arrived, plus what the link did to it.

Layout: ``SLF1``, a 4-byte big-endian length, that many bytes of JSON (header,
packet table, link facts), then the packets' payloads back to back. Parsing
checks every length and the header (``validate_frame``) before anything is used.
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass

from semlink.packets import Frame, FrameHeader, MalformedFrame, Packet, validate_frame

MAGIC = b"SLF1"
_LENGTH = struct.Struct(">I")
_TUPLES = ("shape", "feature_shape", "scale", "offset")


@dataclass(frozen=True)
class StoredFrame:
    """A reassembled frame (intact packets only) and the facts its ``ReceivedFrame`` reports."""

    frame: Frame
    messages: int
    wire_bytes: float  # a packed frame's: its share of its group's
    received_at: float
    datagrams: float = 0
    datagram_overhead: int = 0

    @property
    def frame_id(self) -> int:
        return self.frame.header.frame_id

    def to_bytes(self) -> bytes:
        head = {
            "header": asdict(self.frame.header), "damaged": self.frame.damaged, "messages": self.messages,
            "wire_bytes": self.wire_bytes, "received_at": self.received_at, "datagrams": self.datagrams,
            "datagram_overhead": self.datagram_overhead,
            "packets": [[p.index, p.row_start, p.row_stop, len(p.payload)] for p in self.frame.packets],
        }
        text = json.dumps(head, separators=(",", ":")).encode()
        return b"".join([MAGIC, _LENGTH.pack(len(text)), text, *(p.payload for p in self.frame.packets)])

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredFrame:
        """Raise ``MalformedFrame`` for bytes that are not a whole, valid stored frame."""
        view = memoryview(data)
        if len(data) < 8 or bytes(view[:4]) != MAGIC:
            raise MalformedFrame("not a stored frame (bad magic)")
        (size,) = _LENGTH.unpack(view[4:8])
        if 8 + size > len(data):
            raise MalformedFrame("stored frame truncated in its header")
        try:
            head = json.loads(bytes(view[8:8 + size]))
            fields = head["header"]
            header = FrameHeader(**{k: tuple(v) if k in _TUPLES else v for k, v in fields.items()})
            offset, packets = 8 + size, []
            for index, start, stop, length in head["packets"]:
                packets.append(Packet(header.frame_id, index, start, stop, bytes(view[offset:offset + length])))
                offset += length
        except (KeyError, TypeError, ValueError) as err:
            raise MalformedFrame(f"stored frame header unreadable: {type(err).__name__}: {err}") from None
        if offset != len(data):
            raise MalformedFrame(f"stored frame is {len(data)} bytes, its table says {offset}")
        frame = Frame(header, tuple(packets), int(head["damaged"]))
        validate_frame(frame)
        return cls(frame, int(head["messages"]), float(head["wire_bytes"]), float(head["received_at"]),
                   float(head.get("datagrams", 0)), int(head.get("datagram_overhead", 0)))
