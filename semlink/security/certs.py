"""A development certificate authority and one certificate per service, made with ``cryptography``.

``make_dev_pki(directory)`` writes::

    ca.pem  ca-key.pem                                  the CA (keep ca-key.pem private)
    receiver_service.pem  receiver_service-key.pem      one leaf per service, signed by the CA,
    channel_sim.pem       channel_sim-key.pem           usable as a server and as a client
    transmitter_service.pem transmitter_service-key.pem certificate (mutual TLS)

Every leaf names ``localhost``, ``127.0.0.1``, ``::1``, its service (the compose
service name) and any ``extra_hosts`` as subject alternative names, so the same files
work for ``semlink up`` on one machine and for ``docker compose``. Keys are ECDSA P-256.
For development and tests only: a real deployment uses its own CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVICES = ("receiver_service", "channel_sim", "transmitter_service")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
CA_FILE, CA_KEY_FILE = "ca.pem", "ca-key.pem"


@dataclass(frozen=True)
class ServiceCert:
    """Where one service's certificate and key were written."""

    name: str
    cert: Path
    key: Path


@dataclass(frozen=True)
class DevPki:
    """The files of a development PKI: the CA and each service's certificate."""

    directory: Path
    ca: Path
    ca_key: Path
    services: dict[str, ServiceCert]


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "semlink development"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(hosts: Iterable[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):  # keep order, drop repeats
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(common_name: str = "semlink development CA", days: int = 825
            ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A self-signed CA certificate and its key."""
    key = _key()
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(_name(common_name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_leaf(name: str, hosts: Sequence[str], ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
              days: int = 825) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A certificate for ``name`` valid for ``hosts`` (DNS names or IP addresses), for server and client use."""
    if not hosts:
        raise ValueError(f"certificate {name!r} needs at least one host name or address")
    key = _key()
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name)).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(_san(hosts), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.write_bytes(data)
    if private:
        path.chmod(0o600)


def make_dev_pki(directory: str | Path, services: Sequence[str] = SERVICES, extra_hosts: Sequence[str] = (),
                 days: int = 825, overwrite: bool = False) -> DevPki:
    """Write a new CA and a certificate per service into ``directory`` (created if needed).

    Refuses to replace existing files unless ``overwrite`` (a new CA invalidates every
    certificate the old one signed).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = [CA_FILE, CA_KEY_FILE, *(f for s in services for f in (f"{s}.pem", f"{s}-key.pem"))]
    existing = [f for f in files if (directory / f).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{directory} already holds {', '.join(existing)}; choose an empty directory or "
                              "pass --force to replace them")
    ca, ca_key = make_ca(days=days)
    _write(directory / CA_FILE, ca.public_bytes(serialization.Encoding.PEM))
    _write(directory / CA_KEY_FILE, _pem_key(ca_key), private=True)
    written = {}
    for service in services:
        cert, key = make_leaf(service, [*LOCAL_HOSTS, service, *extra_hosts], ca, ca_key, days=days)
        cert_path, key_path = directory / f"{service}.pem", directory / f"{service}-key.pem"
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        _write(key_path, _pem_key(key), private=True)
        written[service] = ServiceCert(service, cert_path, key_path)
    return DevPki(directory, directory / CA_FILE, directory / CA_KEY_FILE, written)
