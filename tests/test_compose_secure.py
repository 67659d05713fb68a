"""docker-compose.secure.yml checked against the code and run: every variable is a setting, each hop is mutual
TLS with the certificates `semlink certs` makes, and channel_sim started with the override's environment (paths
and ports moved to this machine) carries a frame between TLS peers and passes the override's healthcheck."""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic_settings import BaseSettings

from semlink.link import Backoff, FrameSender
from semlink.link.grpc_channel import LinkSecurity, secret
from semlink.http.serve import https_options
from semlink.launch.ports import free_ports
from tests.helpers.link import RecordingReceiver, make_frame, make_session
from semlink.security.certs import make_dev_pki
from semlink.security.tls import client_tls, server_tls

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("receiver_service", "channel_sim", "transmitter_service")
PREFIX = {"receiver_service": "SEMLINK_RX_", "channel_sim": "SEMLINK_CH_", "transmitter_service": "SEMLINK_TX_"}
HTTP_PORT = {"receiver_service": 8000, "channel_sim": 8002, "transmitter_service": 8001}
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")
NOT_SETTINGS = {"HF_HOME"}


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def defaults(value) -> str:
    return INTERPOLATION.sub(lambda m: m.group(2) or "", str(value))


def settings_class(service: str) -> type[BaseSettings]:
    module = importlib.import_module(f"{service}.settings")
    return next(v for v in vars(module).values()
                if isinstance(v, type) and issubclass(v, BaseSettings) and v.__module__ == module.__name__)


@pytest.fixture(scope="module")
def merged() -> dict:
    """Each service's environment as Compose merges the override onto docker-compose.yml (maps merge by key)."""
    base, secure = load("docker-compose.yml"), load("docker-compose.secure.yml")
    assert set(secure["services"]) == set(SERVICES)
    return {s: {**base["services"][s]["environment"], **secure["services"][s]["environment"]} for s in SERVICES}


def effective(service: str, env: dict, certs: Path | None = None):
    """``service``'s settings from the merged environment (defaults of ${VAR:-x}); /certs moved to ``certs``."""
    values = {k: defaults(v) for k, v in env.items() if k not in NOT_SETTINGS}
    if certs is not None:
        values = {k: v.replace("/certs/", f"{certs}/") for k, v in values.items()}
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        return settings_class(service)()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_a_setting_and_mounts_the_certificates(service):
    spec = load("docker-compose.secure.yml")["services"][service]
    fields = settings_class(service).model_fields
    for key in spec["environment"]:
        assert key.startswith(PREFIX[service]), key
        assert key.removeprefix(PREFIX[service]).lower() in fields, f"{key} is not a setting of {service}"
    assert spec["volumes"] == ["./certs:/certs:ro"]


def test_each_hop_is_mutual_tls_and_rest_is_https(merged, tmp_path):
    make_dev_pki(tmp_path)
    rx, ch, tx = (effective(s, merged[s], tmp_path) for s in SERVICES)
    for service, settings in (("receiver_service", rx), ("channel_sim", ch), ("transmitter_service", tx)):
        assert settings.tls_cert == f"{tmp_path}/{service}.pem" and Path(settings.tls_key).exists()
        assert https_options(settings) == {"ssl_certfile": settings.tls_cert, "ssl_keyfile": settings.tls_key}
    assert server_tls(rx.tls_cert, rx.tls_key, rx.tls_ca, rx.tls_client_auth).mutual
    assert server_tls(ch.tls_cert, ch.tls_key, ch.tls_ca, ch.tls_client_auth).mutual
    for client in (ch, tx):  # both clients trust the CA and present their own certificate
        tls = client_tls(client.tls_ca, client.tls_cert, client.tls_key)
        assert tls.ca == f"{tmp_path}/ca.pem" and tls.cert == client.tls_cert
    assert secret(rx.grpc_token) == secret(ch.upstream_token) == ""  # tokens only when SEMLINK_GRPC_TOKEN is set
    assert rx.transmitter_url.startswith("https://") and ch.cors_origins.startswith("https://")


@pytest.mark.parametrize("service", SERVICES)
def test_healthchecks_use_https_with_the_ca(service):
    test = load("docker-compose.secure.yml")["services"][service]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert f"https://127.0.0.1:{HTTP_PORT[service]}/health/ready" in test[3] and "cafile='/certs/ca.pem'" in test[3]
    compile(test[3], "healthcheck", "exec")


def test_channel_sim_runs_with_the_override_between_tls_peers(merged, tmp_path):
    """The real process with the override's environment: a frame crosses from a client with the transmitter's
    settings to a receiver with the receiver's, over mutual TLS and a token; the override's healthcheck passes."""
    make_dev_pki(tmp_path)
    token_env = {**merged["channel_sim"], "SEMLINK_CH_GRPC_TOKEN": "t0ken", "SEMLINK_CH_UPSTREAM_TOKEN": "t0ken"}
    rx = effective("receiver_service", {**merged["receiver_service"], "SEMLINK_RX_GRPC_TOKEN": "t0ken"}, tmp_path)
    tx = effective("transmitter_service", {**merged["transmitter_service"], "SEMLINK_TX_UPSTREAM_TOKEN": "t0ken"},
                   tmp_path)
    healthcheck = load("docker-compose.secure.yml")["services"]["channel_sim"]["healthcheck"]["test"][3]

    async def main():
        receiver = await RecordingReceiver(tls=server_tls(rx.tls_cert, rx.tls_key, rx.tls_ca, rx.tls_client_auth),
                                           token=secret(rx.grpc_token)).start()
        grpc_port, http_port = free_ports(2)
        healthcheck_here = healthcheck.replace("/certs/", f"{tmp_path}/").replace(":8002/", f":{http_port}/")
        env = {k: defaults(v).replace("/certs/", f"{tmp_path}/") for k, v in token_env.items()}
        env.update(SEMLINK_CH_HOST="127.0.0.1", SEMLINK_CH_GRPC_PORT=str(grpc_port),
                   SEMLINK_CH_HTTP_PORT=str(http_port), SEMLINK_CH_UPSTREAM=receiver.target)
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "channel_sim", cwd=ROOT,
                                                    env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                                    stderr=subprocess.PIPE)
        try:
            for _ in range(300):  # the override's own healthcheck decides when it is up
                check = await asyncio.create_subprocess_exec(sys.executable, "-c", healthcheck_here,
                                                             stderr=subprocess.DEVNULL)
                if await check.wait() == 0:
                    break
                assert proc.returncode is None, (await proc.stderr.read()).decode()[-2000:]
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("channel_sim never passed the override's healthcheck")
            security = LinkSecurity.of_client(tx)
            async with FrameSender(f"127.0.0.1:{grpc_port}", backoff=Backoff(0.05, 0.4), session=make_session(),
                                   security=security) as sender:
                outcome = await asyncio.wait_for((await sender.submit(make_frame(0))).outcome, 20)
            assert outcome.status == "ok" and len(receiver.frames) == 1
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 15)
            await receiver.stop(None)
    asyncio.run(asyncio.wait_for(main(), 90))
