"""transmitter_service: images in (REST upload or a folder loop), coded Florence-2 vision features out over gRPC."""
