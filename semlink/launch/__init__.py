"""Run the three services as local processes with one configuration, and talk to them."""

from semlink.launch.client import LinkClient
from semlink.launch.config import CHANNEL, RECEIVER, SERVICES, TRANSMITTER, LinkConfig
from semlink.launch.defaults import best_builtin_model, best_codec
from semlink.launch.link import LocalLink, interrupt_on_stop_signals, prefixed_sink
from semlink.launch.ports import LinkPorts, free_ports
from semlink.launch.process import ServiceFailed
from semlink.launch.supervise import RestartPolicy, Supervisor

__all__ = [
    "CHANNEL",
    "RECEIVER",
    "SERVICES",
    "TRANSMITTER",
    "LinkClient",
    "LinkConfig",
    "LinkPorts",
    "LocalLink",
    "RestartPolicy",
    "ServiceFailed",
    "Supervisor",
    "best_builtin_model",
    "best_codec",
    "free_ports",
    "interrupt_on_stop_signals",
    "prefixed_sink",
]
