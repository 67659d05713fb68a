"""The five ports a local link needs: the contract's defaults, or free ones picked by the OS."""

from __future__ import annotations

import socket
from contextlib import ExitStack
from dataclasses import astuple, dataclass, fields


@dataclass(frozen=True)
class LinkPorts:
    """REST and gRPC ports of the three services (defaults from ``docs/services.md``)."""

    receiver_http: int = 8000
    receiver_grpc: int = 50051
    transmitter_http: int = 8001
    channel_http: int = 8002
    channel_grpc: int = 50052

    def __post_init__(self) -> None:
        for f in fields(self):
            port = getattr(self, f.name)
            if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
                raise ValueError(f"{f.name} must be a port number in 1..65535, got {port!r}")
        if len(set(astuple(self))) != len(fields(self)):
            raise ValueError(f"ports must all differ, got {self}")

    @classmethod
    def free(cls, host: str = "127.0.0.1") -> "LinkPorts":
        """Five ports that are free on ``host`` right now."""
        return cls(*free_ports(len(fields(cls)), host))

    def busy(self, host: str = "127.0.0.1") -> list[int]:
        """The ports among these that something on ``host`` already listens on."""
        return [port for port in astuple(self) if not is_free(port, host)]


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """``n`` distinct ports the OS reports free on ``host`` (all sockets held open until all are picked)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(n):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(sock.getsockname()[1])
        return ports


def free_port(host: str = "127.0.0.1") -> int:
    """One port the OS reports free on ``host`` (a server binding port 0 itself never races for it)."""
    return free_ports(1, host)[0]


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could bind ``port`` on ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
