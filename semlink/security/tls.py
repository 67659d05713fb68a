"""TLS for a gRPC hop: the server's certificate (and, for mutual TLS, the CA its clients must be signed by),
the client's trusted CA (and its own certificate), read from PEM files into grpc's SSL credentials.

Files are read when the server or channel is built, so a wrong path fails at start
with a message naming the setting, not at the first handshake.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc


class TlsConfigError(ValueError):
    """A TLS setting names a file that cannot be used (missing, unreadable, not PEM) or lacks its partner."""


def read_pem(path: str | Path, setting: str) -> bytes:
    """The bytes of PEM file ``path``; ``setting`` names where it came from, for the error message."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise TlsConfigError(f"{setting}: cannot read {path}: {err.strerror or err}") from err
    if b"-----BEGIN " not in data:
        raise TlsConfigError(f"{setting}: {path} is not a PEM file (no '-----BEGIN' line); make one with "
                             "`semlink certs DIR`")
    return data


@dataclass(frozen=True)
class ServerTls:
    """A gRPC server's certificate and key; with ``client_ca`` every client must present a certificate signed
    by it (mutual TLS) or the handshake fails."""

    cert: str
    key: str
    client_ca: str | None = None

    def credentials(self) -> grpc.ServerCredentials:
        pair = (read_pem(self.key, "tls_key"), read_pem(self.cert, "tls_cert"))
        if self.client_ca is None:
            return grpc.ssl_server_credentials([pair])
        return grpc.ssl_server_credentials([pair], root_certificates=read_pem(self.client_ca, "tls_ca"),
                                           require_client_auth=True)

    @property
    def mutual(self) -> bool:
        return self.client_ca is not None


@dataclass(frozen=True)
class ClientTls:
    """What a gRPC client trusts (``ca``: the CA that signed the server's certificate) and, for mutual TLS,
    the certificate and key it presents."""

    ca: str
    cert: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise TlsConfigError("tls_cert and tls_key go together: set both to present a client certificate, "
                                 "or neither")

    def credentials(self) -> grpc.ChannelCredentials:
        if self.cert is None:
            return grpc.ssl_channel_credentials(root_certificates=read_pem(self.ca, "tls_ca"))
        return grpc.ssl_channel_credentials(root_certificates=read_pem(self.ca, "tls_ca"),
                                            private_key=read_pem(self.key, "tls_key"),
                                            certificate_chain=read_pem(self.cert, "tls_cert"))


def server_tls(cert: str | None, key: str | None, ca: str | None, client_auth: bool) -> ServerTls | None:
    """The server side of a service's TLS settings: ``None`` (plaintext) when no certificate is set."""
    if not cert and not key:
        if client_auth:
            raise TlsConfigError("tls_client_auth needs tls_cert and tls_key (mutual TLS is TLS first)")
        return None
    if not (cert and key):
        raise TlsConfigError("tls_cert and tls_key go together: set both to serve TLS, or neither")
    if client_auth and not ca:
        raise TlsConfigError("tls_client_auth needs tls_ca: the CA that signs the clients' certificates")
    return ServerTls(cert, key, ca if client_auth else None)


def client_tls(ca: str | None, cert: str | None, key: str | None) -> ClientTls | None:
    """The client side of a service's TLS settings: TLS to the upstream when ``ca`` is set, else plaintext."""
    if not ca:
        return None
    return ClientTls(ca, cert or None, key or None)
