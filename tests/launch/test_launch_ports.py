"""Free-port picking and the ports a local link uses."""

from __future__ import annotations

import socket
from dataclasses import astuple

import pytest

from semlink.launch.ports import LinkPorts, free_ports, is_free


def test_free_ports_are_distinct_and_bindable():
    ports = free_ports(5)
    assert len(set(ports)) == 5
    assert all(is_free(p) for p in ports)


def test_busy_reports_a_port_someone_listens_on():
    ports = LinkPorts.free()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports.channel_grpc))
        sock.listen()
        assert ports.busy() == [ports.channel_grpc]


def test_defaults_are_the_contract_ports():
    assert astuple(LinkPorts()) == (8000, 50051, 8001, 8002, 50052)


@pytest.mark.parametrize("kwargs", [{"receiver_http": 0}, {"channel_grpc": 70000}, {"transmitter_http": 8000}])
def test_bad_ports_name_the_field(kwargs):
    with pytest.raises(ValueError, match="receiver_http|channel_grpc|differ"):
        LinkPorts(**kwargs)
