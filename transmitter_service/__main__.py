"""``python -m transmitter_service``: run the transmitter (flags override ``SEMLINK_TX_*`` variables)."""

from __future__ import annotations

from semlink.http.serve import configure_logging, https_options, parse_settings, serve
from transmitter_service.settings import TransmitterSettings

DESCRIPTION = """\
semlink transmitter: images in, coded Florence-2 vision features out.

Loads the processor, the vision tower and the codec's compressor, takes images
from REST uploads (POST /v1/frames, multipart field 'file' or a raw image body)
and/or a folder looped at --rate-fps, micro-batches them on the device
(--max-batch, --max-delay-ms) and streams one frame per image over one gRPC
stream to --target (channel_sim, or a receiver directly), reconnecting with
backoff. Every frame ends acked, partial or lost with a reason.

REST: POST /v1/frames -> 202 {frame_id, status}; GET /v1/frames/{id};
GET /v1/stats; /health/live; /health/ready; /metrics (Prometheus).

Example (tests and CPU demos):
  python -m transmitter_service --model tiny-random --codec q8 --target localhost:50052
  curl -F file=@image.png localhost:8001/v1/frames
"""


def main(argv: list[str] | None = None) -> None:
    settings = parse_settings(TransmitterSettings, argv, "python -m transmitter_service", DESCRIPTION)
    configure_logging(settings.log_level)
    from transmitter_service.main import (
        create_app,  # after --help: importing the model stack takes seconds
    )

    serve(create_app(settings), settings.host, settings.http_port, settings.log_level, **https_options(settings))


if __name__ == "__main__":
    main()
