"""Bearer tokens on the services' REST APIs: one shared secret per service, compared in constant time.

A service whose ``API_TOKEN`` is unset stays open (the local demo). With a token set,
its ``/v1/*`` routes need ``Authorization: Bearer <token>``; a request without it, or
with another token, gets 401 with ``WWW-Authenticate: Bearer`` (RFC 6750). Health and
metrics stay open unless ``PROTECT_HEALTH`` is set. The dependency is built on
FastAPI's :class:`~fastapi.security.HTTPBearer`, so the OpenAPI shows the scheme.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from semlink.http.errors import error_responses

SCHEME_NAME = "bearer"
bearer_scheme = HTTPBearer(auto_error=False, scheme_name=SCHEME_NAME,
                           description="the service's API_TOKEN (SEMLINK_RX_/TX_/CH_API_TOKEN)")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def token_value(token: SecretStr | str | None) -> str | None:
    """The token as text, ``None`` when unset or empty (an empty ``SEMLINK_*_API_TOKEN=`` leaves a service open)."""
    if isinstance(token, SecretStr):
        token = token.get_secret_value()
    return token or None


class BearerToken:
    """A FastAPI dependency: passes a request carrying ``Authorization: Bearer <token>``, else raises 401."""

    def __init__(self, token: str):
        if not token:
            raise ValueError("BearerToken needs a non-empty token; leave the routes unguarded instead")
        self._expected = token.encode()

    async def __call__(self, credentials: Credentials) -> None:
        if credentials is None:
            raise HTTPException(401, "missing bearer token: send 'Authorization: Bearer <token>' (the service's "
                                     "API_TOKEN)", headers={"WWW-Authenticate": 'Bearer realm="semlink"'})
        if not hmac.compare_digest(credentials.credentials.encode(), self._expected):
            raise HTTPException(401, "wrong bearer token: send the service's API_TOKEN",
                                headers={"WWW-Authenticate": 'Bearer realm="semlink", error="invalid_token"'})


def guarded(token: SecretStr | str | None) -> dict[str, Any]:
    """Keyword arguments for ``app.include_router(router, **guarded(token))``: the token dependency and its
    documented 401, or nothing when ``token`` is unset (the routes stay open and the OpenAPI says so)."""
    token = token_value(token)
    if token is None:
        return {}
    return {"dependencies": [Depends(BearerToken(token))], "responses": error_responses(401)}
