"""What the link services share: settings from flags over environment, logging, metrics, serving the app."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_settings import BaseSettings, CliSettingsSource


def parse_settings(settings_cls: type[BaseSettings], argv: Sequence[str] | None, prog: str,
                   description: str) -> BaseSettings:
    """``settings_cls`` from command-line flags (``--http-port``), then ``<PREFIX><NAME>`` environment variables.

    Every field is a flag; ``--help`` lists them with their defaults. Invalid values
    exit with status 2 and pydantic's message naming the field.
    """
    prefix = settings_cls.model_config.get("env_prefix", "")
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"Every flag can also be set by environment variable: --http-port 9000 is {prefix}HTTP_PORT=9000. "
        "Flags win over the environment.",
    )
    source = CliSettingsSource(settings_cls, root_parser=parser, cli_kebab_case=True, cli_implicit_flags=True)
    try:
        return settings_cls(_cli_settings_source=source(args=list(sys.argv[1:] if argv is None else argv)))
    except ValidationError as err:
        parser.error(validation_detail(err))
    except (ValueError, TypeError) as err:
        parser.error(str(err))


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


HEADER_TIMEOUT_S = 10.0  # a request's line and headers must all arrive within this of the connection (or last answer)
KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this (uvicorn's timeout_keep_alive)
MAX_HEADER_BYTES = 16 * 1024  # h11's bound on an incomplete request line and headers (400 beyond)


def serve(app, host: str, port: int, log_level: str, **https) -> None:
    """Run ``app`` under uvicorn on the standard asyncio loop (grpc.aio shares it) until SIGINT/SIGTERM, with
    :func:`http_limits`; ``https`` is :func:`https_options`' answer (uvicorn's ``ssl_certfile``/``ssl_keyfile``)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), loop="asyncio", lifespan="on",
                **http_limits(), **https)


def http_limits(header_timeout_s: float = HEADER_TIMEOUT_S) -> dict:
    """uvicorn options that close what a client leaves half-sent: the h11 protocol with a deadline on each
    request's line and headers (uvicorn has none of its own: its keep-alive timer runs only between requests),
    the keep-alive timeout, and h11's bound on incomplete headers."""
    return {"http": header_deadline_protocol(header_timeout_s), "timeout_keep_alive": KEEP_ALIVE_S,
            "h11_max_incomplete_event_size": MAX_HEADER_BYTES}


def header_deadline_protocol(header_timeout_s: float):
    """uvicorn's ``H11Protocol``, closing a connection whose request line and headers have not all come within
    ``header_timeout_s`` of the connection being made (or of the previous response on it)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadlineProtocol(H11Protocol):
        _header_deadline = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the headers are in: the app has the request
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._arm()  # the next request on this keep-alive connection gets its own deadline

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._header_deadline = self.loop.call_later(header_timeout_s, self._headers_late)

        def _disarm(self) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _headers_late(self) -> None:
            self._header_deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadlineProtocol


def https_options(settings) -> dict[str, str]:
    """uvicorn's options for serving REST over HTTPS when ``settings.https`` is set (with its ``tls_cert`` and
    ``tls_key``); empty (plain HTTP) otherwise."""
    if not getattr(settings, "https", False):
        return {}
    if not (settings.tls_cert and settings.tls_key):
        raise ValueError("https needs tls_cert and tls_key (the certificate the REST API shows)")
    return {"ssl_certfile": settings.tls_cert, "ssl_keyfile": settings.tls_key}


def metrics_response(registry):
    """A Starlette response with ``registry`` in the Prometheus text format."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    from starlette.responses import Response

    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def validation_detail(err) -> str:
    """One line naming each bad field, for a 422 ``{"detail": ...}``; ``err`` is pydantic's or FastAPI's
    ``ValidationError``. Inputs are echoed as ``repr``, shortened: no raw NaN, infinity or surrogate leaks out."""
    errors = err.errors(include_url=False) if isinstance(err, ValidationError) else err.errors()
    parts = []
    for e in errors:
        field = ".".join(map(str, e["loc"]))
        got = ""
        if "input" in e and not isinstance(e["input"], dict):
            shown = repr(e["input"])
            got = f" (got {shown[:60]}...)" if len(shown) > 64 else f" (got {shown})"
        parts.append(f"{field}: {e['msg']}{got}" if field else f"{e['msg']}")
    return "; ".join(parts)
