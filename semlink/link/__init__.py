"""The networked link: a reconnecting gRPC frame sender (here), proxy network impairments
(:mod:`semlink.link.network`), service plumbing (:mod:`semlink.http.serve`) and test doubles
(:mod:`tests.helpers.link`)."""

from semlink.link.sender import (
    CONNECTION_LOST,
    SENDER_CLOSED,
    Backoff,
    Delivery,
    FrameSender,
    Outcome,
    QueueFull,
    SenderClosed,
)

__all__ = [
    "CONNECTION_LOST", "SENDER_CLOSED", "Backoff", "Delivery", "FrameSender", "Outcome", "QueueFull", "SenderClosed",
]
