"""The launcher's configuration: every variable it sets is a real setting of that service."""

from __future__ import annotations

import pytest
from launch_helpers import settings_class

from semlink.launch.config import ENV_PREFIX, SERVICES, LinkConfig
from semlink.launch.ports import LinkPorts


CHANNEL = {"loss": 0.1, "snr_db": 6.0, "seed": 3, "delay_ms": 20.0, "jitter_ms": 5.0, "rate_kbps": 800.0,
           "datagram_overhead": 40}


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_a_settings_field(service):
    cls = settings_class(service)
    prefix = cls.model_config["env_prefix"]
    assert prefix == ENV_PREFIX[service]
    env = LinkConfig(channel=CHANNEL).environment(service)
    unknown = [k for k in env if k.removeprefix(prefix).lower() not in cls.model_fields]
    assert not unknown, f"{service} has no settings for {unknown}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_settings_accept_the_values(service, monkeypatch):
    config = LinkConfig(model="tiny-random", codec="q8", ports=LinkPorts.free(), channel=CHANNEL)
    for name, value in config.environment(service).items():
        monkeypatch.setenv(name, value)
    settings = settings_class(service)()
    assert settings.http_port == int(config.url(service).rsplit(":", 1)[1])
    if service == "channel_sim":
        assert {k: getattr(settings, k) for k in CHANNEL} == CHANNEL
    if service == "transmitter_service":  # counts its frames as channel_sim does from the first one
        assert settings.datagram_overhead == CHANNEL["datagram_overhead"]


@pytest.mark.parametrize("service", SERVICES)
def test_spread_and_bursts_become_settings_each_service_takes(service, monkeypatch):
    """`up --loss 0.2 --burst 4 --spread 2`: channel_sim's Gilbert-Elliott fields, the transmitter's SPREAD, and a
    receiver deadline that covers the spread."""
    from semlink.cli.main import build_parser
    from semlink.cli.up import link_config

    args = build_parser("up").parse_args(["up", "--loss", "0.2", "--burst", "4", "--spread", "2", "--model",
                                          "tiny-random", "--codec", "q8"])
    config = link_config(args, LinkPorts.free())
    for name, value in config.environment(service).items():
        monkeypatch.setenv(name, value)
    settings = settings_class(service)()
    if service == "channel_sim":
        assert settings.loss_model == "gilbert_elliott" and settings.loss == 0
        assert (settings.ge_p, settings.ge_r) == pytest.approx((0.0625, 0.25))
    if service == "transmitter_service":
        assert settings.spread == 2
    if service == "receiver_service":
        assert settings.frame_deadline_ms >= 200 + 2 * 3 * settings_class("transmitter_service")().spread_slot_ms


def test_services_are_wired_in_a_chain():
    ports = LinkPorts.free()
    config = LinkConfig(ports=ports)
    assert config.environment("transmitter_service")["SEMLINK_TX_TARGET"] == f"127.0.0.1:{ports.channel_grpc}"
    assert config.environment("channel_sim")["SEMLINK_CH_UPSTREAM"] == f"127.0.0.1:{ports.receiver_grpc}"
    assert config.url("receiver_service") == f"http://127.0.0.1:{ports.receiver_http}"


@pytest.mark.parametrize("command", ["up", "demo"])
def test_every_help_example_parses_into_a_link(command):
    """Each `semlink up` / `semlink demo` example in --help is a link `up` can configure (names checked, channel
    and spread settings made) without starting anything."""
    import importlib
    import shlex

    from semlink.cli.main import build_parser
    from semlink.cli.up import link_config

    help_text = importlib.import_module(f"semlink.cli.{command}").HELP
    examples = [shlex.split(line.split("  #")[0])[1:] for line in help_text.splitlines()
                if line.strip().startswith(f"semlink {command}")]
    assert len(examples) >= 3
    for argv in examples:
        args = build_parser(command).parse_args(argv)
        config = link_config(args, LinkPorts.free())
        assert config.spread == getattr(args, "spread", 0)
