"""``python -m receiver_service [--flags]``: run the receiver (REST and gRPC in one event loop)."""

from __future__ import annotations

import logging
import sys

from pydantic import ValidationError

from receiver_service.settings import ReceiverSettings


def main(argv: list[str] | None = None) -> int:
    try:
        settings = ReceiverSettings(_cli_parse_args=sys.argv[1:] if argv is None else argv)
    except ValidationError as err:
        print(f"receiver_service: bad setting:\n{err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import uvicorn  # imported after parsing, so --help answers without loading torch

    from receiver_service.main import create_app
    from semlink.http.serve import http_limits, https_options

    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.http_port, log_level=settings.log_level,
                            timeout_graceful_shutdown=max(1, round(settings.grace_s)), log_config=None,
                            **http_limits(), **https_options(settings))
    server = uvicorn.Server(config)
    failures: list[str] = []

    def fatal(message: str) -> None:
        failures.append(message)
        server.should_exit = True

    app.state.receiver.on_fatal = fatal
    server.run()
    return 1 if failures or not server.started else 0


if __name__ == "__main__":
    sys.exit(main())
