"""The command line passes the token: ``--token`` or ``SEMLINK_API_TOKEN`` for every command that calls a
service, and ``semlink up``/``demo`` hand it to each service as its API_TOKEN (the client sending it is tested
against a real transmitter in test_tokens_services.py; the demo end to end here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from channel_sim.settings import ChannelSimSettings
from receiver_service.settings import ReceiverSettings
from semlink.cli.main import build_parser
from semlink.launch.config import SERVICES, LinkConfig
from semlink.http.tokens import token_value
from transmitter_service.settings import TransmitterSettings

SETTINGS = {"receiver_service": ReceiverSettings, "channel_sim": ChannelSimSettings,
            "transmitter_service": TransmitterSettings}


@pytest.mark.parametrize("command, args", [("caption", ["photo.png"]), ("up", []), ("demo", [])])
def test_token_comes_from_the_flag_or_the_environment(command, args, monkeypatch):
    monkeypatch.delenv("SEMLINK_API_TOKEN", raising=False)
    assert build_parser(command).parse_args([command, *args]).token is None
    monkeypatch.setenv("SEMLINK_API_TOKEN", "from-env")
    assert build_parser(command).parse_args([command, *args]).token == "from-env"
    assert build_parser(command).parse_args([command, *args, "--token", "flag"]).token == "flag"


@pytest.mark.parametrize("service", SERVICES)
def test_the_launcher_gives_each_service_the_token(service, monkeypatch):
    for name, value in LinkConfig(api_token="s3cret").environment(service).items():
        monkeypatch.setenv(name, value)
    assert token_value(SETTINGS[service]().api_token) == "s3cret"
    assert not any(name.endswith("API_TOKEN") for name in LinkConfig().environment(service))


@pytest.mark.timeout(150)
def test_demo_with_a_token_starts_guarded_services_and_its_calls_pass():
    """``SEMLINK_API_TOKEN=... semlink demo``: real processes, each started with the token and with its health
    guarded too, the launcher's readiness checks and the demo's uploads and questions carrying it (a missing one
    would be a 401: never ready, or a non-zero exit)."""
    guarded_health = {f"{prefix}PROTECT_HEALTH": "true" for prefix in ("SEMLINK_RX_", "SEMLINK_TX_", "SEMLINK_CH_")}
    env = {**os.environ, **guarded_health, "SEMLINK_API_TOKEN": "demo-token"}
    done = subprocess.run([sys.executable, "-m", "semlink.cli.main", "demo", "--frames", "1", "--json", "--model",
                           "tiny-random", "--codec", "q8", "--device", "cpu", "--ready-timeout", "100"],
                          capture_output=True, text=True, timeout=140, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert row["task"] == "<CAPTION>" and isinstance(row["result"], str)


@pytest.mark.parametrize("service", SERVICES)
def test_the_launcher_puts_the_grpc_token_on_every_hop(service, monkeypatch):
    for name, value in LinkConfig(grpc_token="hop-s3cret").environment(service).items():
        monkeypatch.setenv(name, value)
    settings = SETTINGS[service]()
    served = token_value(getattr(settings, "grpc_token", None)) or ""
    sent = token_value(getattr(settings, "upstream_token", None)) or ""
    assert served == ("hop-s3cret" if service != "transmitter_service" else "")
    assert sent == ("hop-s3cret" if service != "receiver_service" else "")
    assert not any(name.endswith("_TOKEN") for name in LinkConfig().environment(service))


@pytest.mark.parametrize("command", ["up", "demo"])
def test_an_api_token_alone_gives_the_grpc_hops_a_made_up_token(command, monkeypatch):
    from semlink.cli.up import grpc_token

    monkeypatch.delenv("SEMLINK_GRPC_TOKEN", raising=False)
    monkeypatch.delenv("SEMLINK_API_TOKEN", raising=False)
    parse = build_parser(command).parse_args
    assert grpc_token(parse([command])) is None  # no token at all: the open local demo
    made_up = {grpc_token(parse([command, "--token", "api"])) for _ in range(2)}
    assert len(made_up) == 2 and all(len(t) >= 32 for t in made_up)  # random, per run
    assert grpc_token(parse([command, "--token", "api", "--grpc-token", "hop"])) == "hop"
    monkeypatch.setenv("SEMLINK_GRPC_TOKEN", "from-env")
    assert grpc_token(build_parser(command).parse_args([command])) == "from-env"
