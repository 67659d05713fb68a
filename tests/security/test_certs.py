"""``semlink certs``: a development CA and service certificates that verify, name the right hosts, keep keys
private, and work in the commands its help shows."""

from __future__ import annotations

import re
import shlex
import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from semlink.cli.certs import HELP
from semlink.cli.main import main
from semlink.security.certs import LOCAL_HOSTS, SERVICES, make_dev_pki


def sans(cert: x509.Certificate) -> set[str]:
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {*names.get_values_for_type(x509.DNSName), *map(str, names.get_values_for_type(x509.IPAddress))}


def load(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_every_service_certificate_is_signed_by_the_ca_for_its_names(pki):
    ca = load(pki.ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert set(pki.services) == set(SERVICES)
    for name, files in pki.services.items():
        cert = load(files.cert)
        cert.verify_directly_issued_by(ca)  # raises if the CA did not sign it
        assert sans(cert) >= {*LOCAL_HOSTS, name}
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usages)
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_keys_are_private_and_certificates_are_not(pki):
    for path in (pki.ca_key, *(s.key for s in pki.services.values())):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(pki.ca.stat().st_mode) & 0o044  # readable by others: it is public


def test_another_pki_is_another_ca(pki, stranger):
    with pytest.raises(Exception):  # noqa: B017 - cryptography raises InvalidSignature or ValueError
        load(stranger.services["receiver_service"].cert).verify_directly_issued_by(load(pki.ca))


def test_cli_writes_extra_hosts_and_refuses_to_overwrite(tmp_path, capsys):
    assert main(["certs", str(tmp_path), "--host", "rx.example", "--host", "10.1.2.3", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert "ca.pem" in out and "receiver_service-key.pem" in out
    cert = load(tmp_path / "channel_sim.pem")
    assert {"rx.example", "10.1.2.3", "channel_sim"} <= sans(cert)
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days in (29, 30)
    before = (tmp_path / "ca.pem").read_bytes()
    assert main(["certs", str(tmp_path)]) == 1
    assert "pass --force" in capsys.readouterr().err and (tmp_path / "ca.pem").read_bytes() == before
    assert main(["certs", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "ca.pem").read_bytes() != before


def help_commands() -> list[list[str]]:
    """The ``python -m ...`` commands in ``semlink certs --help``, continuation lines joined."""
    text = HELP.replace("\\\n", " ")
    return [shlex.split(line.strip()) for line in text.splitlines() if line.strip().startswith("python -m")]


def test_the_help_examples_configure_mutual_tls(tmp_path, monkeypatch):
    from channel_sim.settings import ChannelSimSettings
    from receiver_service.settings import ReceiverSettings
    from semlink.http.serve import parse_settings
    from transmitter_service.settings import TransmitterSettings

    make_dev_pki(tmp_path / "certs")
    monkeypatch.chdir(tmp_path)
    commands = {argv[2]: argv[3:] for argv in help_commands()}
    assert set(commands) == set(SERVICES)
    rx = ReceiverSettings(_cli_parse_args=commands["receiver_service"])
    ch = parse_settings(ChannelSimSettings, commands["channel_sim"], "python -m channel_sim", "")
    tx = parse_settings(TransmitterSettings, commands["transmitter_service"], "python -m transmitter_service", "")
    for service, settings in (("receiver_service", rx), ("channel_sim", ch), ("transmitter_service", tx)):
        assert settings.tls_cert == f"certs/{service}.pem" and settings.tls_key == f"certs/{service}-key.pem"
        assert settings.tls_ca == "certs/ca.pem"
        assert re.fullmatch(r"certs/\w+\.pem", settings.tls_cert) and (tmp_path / settings.tls_cert).exists()
    assert rx.tls_client_auth and ch.tls_client_auth
