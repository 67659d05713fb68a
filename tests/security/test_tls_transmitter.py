"""The transmitter's two streams (its frames, and comparison mode's reference frames) both use its TLS and token."""

from __future__ import annotations

from transmitter_service.transmitter import Transmitter
from transmitter_service.settings import TransmitterSettings


def test_both_streams_carry_the_transmitter_tls_and_token(pki):
    tx = pki.services["transmitter_service"]
    settings = TransmitterSettings(tls_ca=str(pki.ca), tls_cert=str(tx.cert), tls_key=str(tx.key),
                                   upstream_token="hop-1")
    transmitter = Transmitter(settings)
    for sender in (transmitter.sender, transmitter.comparison.sender):
        assert sender.security.tls.ca == str(pki.ca) and sender.security.tls.cert == str(tx.cert)
        assert sender.security.metadata() == (("authorization", "Bearer hop-1"),)
    plain = Transmitter(TransmitterSettings())
    assert plain.sender.security.tls is None and plain.comparison.sender.security.metadata() == ()
