"""Loading presets, refusing remote-code checkpoints, and weight fingerprints."""

from __future__ import annotations

import json

import pytest

from semlink.florence import ModelLoadError, load_florence
from semlink.florence.fingerprint import weights_fingerprint


def test_tiny_random_is_the_real_class_and_frozen(tiny):
    from transformers import Florence2ForConditionalGeneration, Florence2Processor

    assert isinstance(tiny.model, Florence2ForConditionalGeneration)
    assert isinstance(tiny.processor, Florence2Processor)
    assert not any(p.requires_grad for p in tiny.model.parameters())
    assert tiny.processor.num_image_tokens == tiny.feature_shape[1] * tiny.feature_shape[2] + 1


def test_preset_is_deterministic(tiny):
    again = load_florence("tiny-random")
    assert again.fingerprint == tiny.fingerprint


def test_fingerprint_changes_with_weights(tiny):
    import copy

    import torch

    other = copy.deepcopy(tiny.model)
    with torch.no_grad():
        next(other.parameters()).add_(0.5)
    assert weights_fingerprint(other, other.config.to_dict()) != tiny.fingerprint


@pytest.mark.parametrize("name", ["microsoft/Florence-2-base", "microsoft/Florence-2-large-ft"])
def test_remote_code_checkpoint_names_native_id(name):
    with pytest.raises(ModelLoadError, match="florence-community/Florence-2-"):
        load_florence(name)


def test_local_remote_code_dir_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "x.y"}, "model_type": "florence2"}))
    with pytest.raises(ModelLoadError, match="remote-code"):
        load_florence(str(tmp_path))


def test_save_and_reload_local_directory(tiny, tmp_path):
    tiny.model.save_pretrained(tmp_path)
    tiny.processor.save_pretrained(tmp_path)
    again = load_florence(str(tmp_path))
    assert again.fingerprint == tiny.fingerprint
    assert again.feature_shape == tiny.feature_shape


def test_missing_directory_says_what_to_use():
    with pytest.raises(ModelLoadError, match="tiny-random"):
        load_florence("/nonexistent/florence-dir")
