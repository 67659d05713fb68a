"""Half-sent HTTP requests are closed (issue 24, item 7): each of the three apps, served with the services'
uvicorn options (``semlink.http.serve.http_limits``), closes a connection whose request line and headers have not
all come within the header deadline, while complete requests (and keep-alive ones after them) are answered."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
import time

import pytest
import uvicorn

from channel_sim.main import create_app as channel_app
from channel_sim.settings import ChannelSimSettings
from receiver_service.main import create_app as receiver_app
from receiver_service.settings import ReceiverSettings
from semlink.http.serve import HEADER_TIMEOUT_S, KEEP_ALIVE_S, http_limits
from transmitter_service.main import create_app as transmitter_app
from transmitter_service.settings import TransmitterSettings

DEADLINE_S = 0.5
APPS = {"receiver": lambda: receiver_app(ReceiverSettings()), "transmitter": lambda: transmitter_app(
    TransmitterSettings()), "channel_sim": lambda: channel_app(ChannelSimSettings())}


@pytest.fixture(params=sorted(APPS))
def port(request):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(APPS[request.param](), lifespan="off", log_level="warning", **http_limits(DEADLINE_S))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(10)
    sock.close()


def closed_after(conn: socket.socket, limit_s: float) -> float:
    """Seconds until the server closes ``conn`` (reading and discarding what it sends), failing past ``limit_s``."""
    conn.settimeout(limit_s)
    started = time.monotonic()
    while conn.recv(4096):
        pass
    return time.monotonic() - started


def test_a_half_sent_request_is_closed_within_the_deadline(port):
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")  # no blank line: the headers never end
        assert closed_after(conn, DEADLINE_S + 2) < DEADLINE_S + 1
    with socket.create_connection(("127.0.0.1", port)) as conn:  # one byte at a time does not keep it open
        started = time.monotonic()
        for byte in b"GET /health/live HTTP/1.1\r\n":
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.05)
        assert closed_after(conn, DEADLINE_S + 2) + (time.monotonic() - started) < DEADLINE_S + 2


def test_whole_requests_are_answered_on_a_kept_alive_connection(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        answers, sockets = [], set()
        for _ in range(2):
            conn.request("GET", "/health/live")
            sockets.add(id(conn.sock))
            response = conn.getresponse()
            answers.append((response.status, response.read()))
            time.sleep(DEADLINE_S / 2)  # a keep-alive connection between requests stays open
    finally:
        conn.close()
    assert [status for status, _ in answers] == [200, 200] and len(sockets) == 1


def test_the_stated_limits():
    assert HEADER_TIMEOUT_S == 10.0 and KEEP_ALIVE_S == 5
