"""The per-datagram transport cost: bytes each datagram pays below semlink's own framing (IP, UDP, RTP headers).

semlink's datagram (``datagram.py``) is what its channel carries; a real link
wraps each one in transport headers. The cost depends on how many datagrams a
frame needs, not on its bytes, so it is added per datagram::

    wire bytes with overhead = datagram bytes + overhead × datagrams

``0`` is the link as simulated. Every place that reports bytes with a transport
cost (eval, bench, the services, the page) reads it from here.
"""

from __future__ import annotations

PRESETS: dict[str, int] = {
    "none": 0,  # the link as simulated: semlink's datagram alone
    "udp-ipv4": 28,  # IPv4 (20) + UDP (8)
    "rtp-ipv4": 40,  # IPv4 (20) + UDP (8) + RTP (12)
    "rtp-ipv6": 60,  # IPv6 (40) + UDP (8) + RTP (12)
}
MAX_OVERHEAD = 1024


def parse_overhead(text: str | int) -> int:
    """Bytes per datagram from a number (``40``) or a preset name (``rtp-ipv4``); raises ValueError naming both."""
    value = str(text).strip().lower()
    if value in PRESETS:
        return PRESETS[value]
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= MAX_OVERHEAD:
        named = ", ".join(f"{name} ({b})" for name, b in PRESETS.items())
        raise ValueError(f"datagram overhead {text!r}: give bytes per datagram, 0..{MAX_OVERHEAD}, or one of {named}")
    return number


def parse_overheads(text: str) -> list[int]:
    """A comma-separated sweep, ``"0,40"`` or ``"none,rtp-ipv4"``; an empty text is ``[0]``."""
    values = [parse_overhead(v) for v in text.split(",") if v.strip()]
    return list(dict.fromkeys(values)) or [0]


def with_overhead(datagram_bytes: float, datagrams: float, overhead: int) -> float:
    """Wire bytes once each of ``datagrams`` carries ``overhead`` bytes of transport headers."""
    return datagram_bytes + overhead * datagrams
