"""Regenerate the protobuf and gRPC stubs in ``semlink/v2/`` from ``proto/`` (dev tool; needs grpcio-tools).

Equivalent to running, from the repository root::

    python -m grpc_tools.protoc -I proto --python_out=. --pyi_out=. \\
        --grpc_python_out=. proto/semlink/v2/semlink.proto

Usage: ``python -m semlink.wire.regen [--out DIR]`` (default: the repository root).
"""

from __future__ import annotations

import argparse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO_ROOT / "proto"
PROTO_FILES = ("semlink/v2/semlink.proto",)
GENERATED_FILES = ("semlink/v2/semlink_pb2.py", "semlink/v2/semlink_pb2.pyi", "semlink/v2/semlink_pb2_grpc.py")


def regenerate(out_dir: Path = REPO_ROOT) -> list[Path]:
    """Run protoc on ``PROTO_FILES`` writing into ``out_dir``; return the generated paths."""
    from importlib.resources import files

    from grpc_tools import protoc

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{files('grpc_tools') / '_proto'}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *(str(PROTO_ROOT / name) for name in PROTO_FILES),
    ]
    code = protoc.main(args)
    if code != 0:
        raise RuntimeError(f"protoc exited with {code} on {', '.join(PROTO_FILES)}; its message is above")
    return [out / name for name in GENERATED_FILES]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT, help="output root (default: the repository root)")
    for path in regenerate(parser.parse_args(argv).out):
        print(path)


if __name__ == "__main__":
    main()
