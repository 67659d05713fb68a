"""The command line passes the token: ``--token`` or ``SEMLINK_API_TOKEN`` for every command that calls a
service, and ``semlink up``/``demo`` hand it to each service as its API_TOKEN (the client sending it is tested
against a real transmitter in test_tokens_services.py)."""

from __future__ import annotations

import pytest

from channel_sim.settings import ChannelSimSettings
from receiver_service.settings import ReceiverSettings
from semlink.cli.main import build_parser
from semlink.launch.config import SERVICES, LinkConfig
from semlink.security.tokens import token_value
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
