"""The networked link: a reconnecting gRPC frame sender (here, :mod:`semlink.link.sender`), the gRPC channel
to an upstream (:mod:`semlink.link.grpc_channel`) and the FeatureLink server (:mod:`semlink.link.grpc_server`).
Network impairments are channel models (:mod:`semlink.channel.network`); the REST services' plumbing is
:mod:`semlink.http`."""

from semlink.link.backoff import Backoff
from semlink.link.sender import (
    CONNECTION_LOST,
    SENDER_CLOSED,
    Delivery,
    FrameSender,
    Outcome,
    QueueFull,
    SenderClosed,
)

__all__ = [
    "CONNECTION_LOST", "SENDER_CLOSED", "Backoff", "Delivery", "FrameSender", "Outcome", "QueueFull", "SenderClosed",
]
