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


def serve(app, host: str, port: int, log_level: str, **https) -> None:
    """Run ``app`` under uvicorn on the standard asyncio loop (grpc.aio shares it) until SIGINT/SIGTERM;
    ``https`` is :func:`https_options`' answer (uvicorn's ``ssl_certfile``/``ssl_keyfile``)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), loop="asyncio", lifespan="on", **https)


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
