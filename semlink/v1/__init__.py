"""Generated protobuf and gRPC stubs for proto/semlink/v1 (regenerate with scripts/gen_proto.sh)."""
