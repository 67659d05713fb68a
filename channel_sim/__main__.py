"""``python -m channel_sim``: run the proxy (flags override ``SEMLINK_CH_*`` variables)."""

from __future__ import annotations

import logging

from channel_sim.settings import ChannelSimSettings
from semlink.http.serve import configure_logging, https_options, parse_settings, serve

DESCRIPTION = """\
semlink channel_sim: a gRPC FeatureLink proxy that impairs frames on their way.

Serves FeatureLink on --grpc-port, and per frame message: drops packets
(--loss, or Gilbert-Elliott --ge-p/--ge-r/--ge-h/--ge-k), flips payload bits
(--ber, or --snr-db over --fading), then delays (--delay-ms, --jitter-ms),
rate-limits (--rate-kbps), duplicates (--duplicate) and reorders (--reorder)
the message, and forwards it to --upstream (the receiver), reconnecting with
backoff. Headers always get through; acks are relayed back. Seeded (--seed).

REST control on --http-port: GET/PUT /v1/channel (same names as the flags,
e.g. {"loss": 0.1, "delay_ms": 20}), POST /v1/channel/reset, GET /v1/stats,
/health/live, /health/ready, /metrics (Prometheus).

Example:
  python -m channel_sim --loss 0.1 --ber 1e-5 --upstream localhost:50051
  curl -X PUT localhost:8002/v1/channel -d '{"loss": 0.3}' -H 'content-type: application/json'
"""


def main(argv: list[str] | None = None) -> None:
    settings = parse_settings(ChannelSimSettings, argv, "python -m channel_sim", DESCRIPTION)
    configure_logging(settings.log_level)
    from channel_sim.main import create_app

    logging.getLogger(__name__).info("channel_sim: gRPC on %s:%d -> %s; REST on %s:%d", settings.host,
                                     settings.grpc_port, settings.upstream, settings.host, settings.http_port)
    serve(create_app(settings), settings.host, settings.http_port, settings.log_level, **https_options(settings))


if __name__ == "__main__":
    main()
