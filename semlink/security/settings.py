"""The TLS and bearer-token settings the services share, as mixins of their one ``BaseSettings`` each.

Every service has :class:`ServiceSecurity` (its certificate, key and CA, HTTPS, the REST
token); a service with a gRPC server adds :class:`GrpcServerAuth` (mutual TLS, the
token callers must carry), one with an upstream adds :class:`UpstreamAuth` (the token
it sends there). The receiver serves gRPC, the transmitter has an upstream, channel_sim
does both. The fields keep their names, so ``SEMLINK_<SVC>_TLS_CERT`` and ``--tls-cert``
are what they were.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class ServiceSecurity(BaseModel):
    """TLS for the gRPC hops and HTTPS, and the bearer token on the REST API."""

    tls_cert: str | None = Field(None, description="PEM certificate: the one the gRPC server presents (receiver, "
                                 "channel_sim), the client certificate shown upstream (transmitter, channel_sim: "
                                 "mutual TLS), and the REST certificate with https; `semlink certs DIR` makes one")
    tls_key: str | None = Field(None, description="PEM private key of tls_cert")
    tls_ca: str | None = Field(None, description="PEM CA that signs the peers' certificates: set, the upstream "
                               "(transmitter, channel_sim) is reached over TLS and must present one; with "
                               "tls_client_auth, gRPC clients must too (mutual TLS)")
    https: bool = Field(False, description="serve the REST API over HTTPS with tls_cert and tls_key")
    api_token: SecretStr | None = Field(None, description="bearer token the REST API's /v1 routes require "
                                        "(Authorization: Bearer <token>); unset or empty: open")
    protect_health: bool = Field(False, description="with API_TOKEN set, /health/* and /metrics need the token too")


class GrpcServerAuth(BaseModel):
    """Who may call this service's gRPC FeatureLink: a client certificate (mutual TLS) and a bearer token."""

    tls_client_auth: bool = Field(False, description="mutual TLS: refuse gRPC clients without a certificate signed by "
                                  "tls_ca")
    grpc_token: SecretStr | None = Field(None, description="bearer token FeatureLink calls must carry "
                                         "(authorization: Bearer <token> metadata); unset or empty: none")


class UpstreamAuth(BaseModel):
    """What this service shows the gRPC upstream it streams to."""

    upstream_token: SecretStr | None = Field(None, description="bearer token sent to the upstream (its grpc_token)")
