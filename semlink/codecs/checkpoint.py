"""Save and load any codec as one safetensors file carrying its config and Florence-2 fingerprint.

The metadata holds ``codec``, ``config`` (JSON), ``feature_shape`` and
``fingerprint``; loading rebuilds the codec from them, so callers never need to
remember shapes, and refuses a checkpoint made for other Florence-2 weights.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import load_file, save_file

from semlink.codecs.base import Codec, CodecError
from semlink.codecs.registry import build_codec

FORMAT = "semlink-codec/1"


class FingerprintMismatch(CodecError):
    """The codec was made for other Florence-2 weights than the ones loaded."""


def save_codec(codec: Codec, path: str | Path, extra: dict[str, str] | None = None) -> Path:
    """Write ``codec`` to ``path`` (a ``.safetensors`` file) with its config and fingerprint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if hasattr(codec, "update"):  # freeze the entropy model into the integer tables the wire codes with
        codec.update()
    metadata = {
        "format": FORMAT,
        "codec": codec.codec_id,
        "config": json.dumps(codec.config_dict()),
        "feature_shape": json.dumps(list(codec.feature_shape)),
        "fingerprint": codec.fingerprint,
        **(extra or {}),
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in codec.state_dict().items()}
    save_file(tensors, str(path), metadata=metadata)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """The checkpoint's metadata, without loading tensors."""
    path = Path(path)
    if not path.is_file():
        raise CodecError(f"codec checkpoint {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except Exception as err:  # safetensors raises several types for a bad file
        raise CodecError(f"{path} is not a safetensors codec checkpoint: {err}") from err
    if metadata.get("format") != FORMAT:
        raise CodecError(f"{path} is not a semlink codec checkpoint (format {metadata.get('format')!r})")
    return metadata


def load_codec(path: str | Path, fingerprint: str | None = None) -> Codec:
    """Rebuild a codec from ``path``; with ``fingerprint``, refuse one made for other weights."""
    metadata = read_metadata(path)
    if fingerprint is not None and metadata["fingerprint"] != fingerprint:
        raise FingerprintMismatch(
            f"codec {path} was trained for Florence-2 weights {metadata['fingerprint']}, but the loaded model is "
            f"{fingerprint}; load the model it was made for, or retrain/refit the codec for this one"
        )
    codec = build_codec(
        metadata["codec"],
        tuple(json.loads(metadata["feature_shape"])),
        metadata["fingerprint"],
        **json.loads(metadata["config"]),
    )
    state = load_file(str(path))
    missing = [k for k in codec.state_dict() if k not in state]
    if missing == ["entropy_tables"]:
        # Written before the wire coded with the entropy model: derive the tables from its parameters.
        # Re-save it (semlink codecs --update PATH) so that every machine codes with the same integers.
        codec.load_state_dict(state, strict=False)
        codec.update()
    else:
        try:
            codec.load_state_dict(state)
        except RuntimeError as err:
            raise CodecError(f"{path} does not fit a {metadata['codec']} codec of this semlink release ({err}); "
                             "retrain it with `semlink train` or refit it") from err
    codec.eval()
    return codec
