"""Frames and packets: the unit a codec emits and the unit a channel loses."""

from semlink.packets.frame import Frame, FrameHeader, Packet

__all__ = ["Frame", "FrameHeader", "Packet"]
