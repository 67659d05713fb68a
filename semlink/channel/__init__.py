"""Channel models, each with a packet view (numpy, bytes) and a tensor view (torch, differentiable)."""

from semlink.channel.analog import AWGN, AnalogReport, Rayleigh
from semlink.channel.bit_errors import (
    BinarySymmetric,
    ber_bpsk_awgn,
    ber_bpsk_rayleigh,
    packet_error_rate,
    q_function,
)
from semlink.channel.erasure import Bernoulli, ErasureModel, GilbertElliott, LossProcess
from semlink.channel.model import Channel, ChannelConfig
from semlink.channel.report import ChannelReport
from semlink.channel.rows import erase_packets, packet_count

__all__ = [
    "AWGN",
    "AnalogReport",
    "Bernoulli",
    "BinarySymmetric",
    "Channel",
    "ChannelConfig",
    "ChannelReport",
    "ErasureModel",
    "GilbertElliott",
    "LossProcess",
    "Rayleigh",
    "ber_bpsk_awgn",
    "ber_bpsk_rayleigh",
    "erase_packets",
    "packet_count",
    "packet_error_rate",
    "q_function",
]
