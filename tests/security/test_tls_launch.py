"""``semlink up``/``semlink demo --certs DIR``: mutual TLS on both gRPC hops of the locally launched services."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from semlink.launch.config import CHANNEL, ENV_PREFIX, RECEIVER, SERVICES, TRANSMITTER, LinkConfig
from semlink.security.tls import client_tls, server_tls


def effective(service: str, env: dict, monkeypatch):
    """The service's settings as its process would read them from ``env``."""
    import importlib

    from pydantic_settings import BaseSettings

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    module = importlib.import_module(f"{service}.settings")
    cls = next(v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, BaseSettings) and v.__module__ == module.__name__)
    return cls()


def test_certs_become_mutual_tls_on_both_hops(pki, monkeypatch):
    config = LinkConfig(certs=str(pki.directory))
    assert all(not key.startswith(ENV_PREFIX[s] + "TLS") for s in SERVICES for key in LinkConfig().environment(s))
    rx = effective(RECEIVER, config.environment(RECEIVER), monkeypatch)
    ch = effective(CHANNEL, config.environment(CHANNEL), monkeypatch)
    tx = effective(TRANSMITTER, config.environment(TRANSMITTER), monkeypatch)
    assert server_tls(rx.tls_cert, rx.tls_key, rx.tls_ca, rx.tls_client_auth).mutual
    assert server_tls(ch.tls_cert, ch.tls_key, ch.tls_ca, ch.tls_client_auth).mutual
    for service, settings in ((CHANNEL, ch), (TRANSMITTER, tx)):
        tls = client_tls(settings.tls_ca, settings.tls_cert, settings.tls_key)
        assert tls.ca == str(pki.ca) and tls.cert == str(pki.services[service].cert)
    assert not (rx.https or ch.https or tx.https)  # REST stays HTTP: the launcher and the page speak HTTP


@pytest.mark.timeout(150)
def test_demo_over_mutual_tls(pki):
    done = subprocess.run([sys.executable, "-m", "semlink.cli.main", "demo", "--frames", "2", "--json",
                           "--device", "cpu", "--certs", str(pki.directory)],
                          capture_output=True, text=True, timeout=140, env={**os.environ, "GRPC_VERBOSITY": "ERROR"})
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    # the built-in model and codec: each answer is the sample's own caption, so it crossed both hops intact
    assert len(rows) == 2 and all(row["packets_lost"] == 0 and row["result"] == row["expected"] for row in rows), \
        done.stdout
