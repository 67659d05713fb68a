"""Real certificates for the security tests: two development PKIs made by ``semlink.security.certs``."""

from __future__ import annotations

import pytest

from semlink.security.certs import make_dev_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """The CA the services trust, and a certificate for each service."""
    return make_dev_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def stranger(tmp_path_factory):
    """Another CA with its own service certificates: valid certificates nobody here trusts."""
    return make_dev_pki(tmp_path_factory.mktemp("stranger"))
