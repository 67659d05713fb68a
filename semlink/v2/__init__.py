"""Generated protobuf and gRPC stubs for proto/semlink/v2 (regenerate with scripts/gen_proto.sh)."""
