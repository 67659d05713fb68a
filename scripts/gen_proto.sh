#!/usr/bin/env bash
# Regenerate the protobuf/gRPC stubs in semlink/v2/ from proto/ (needs the dev extra: grpcio-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m semlink.wire.regen "$@"
