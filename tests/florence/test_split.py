"""The split at the seam: parity with the unsplit model, the halves' shapes, and task checking."""

from __future__ import annotations

import pytest
import torch

from semlink.cli.check import parity
from semlink.florence import LanguageHalf, TaskRequest, UnknownTask, VisionHalf


def test_vision_half_gives_tower_features(tiny, images):
    features = VisionHalf(tiny).encode(images)
    assert tuple(features.shape) == (2, *tiny.feature_shape)
    direct = tiny.model.model.vision_tower(VisionHalf(tiny).pixels(images)).last_hidden_state
    torch.testing.assert_close(features, direct, rtol=0, atol=0)


@pytest.mark.parametrize("task", ["<CAPTION>", "<OD>"])
def test_split_parity_token_for_token(tiny, images, task):
    unsplit, split = parity(tiny, images, task)
    # Vacuous parity guard: the two images must produce different outputs.
    assert not torch.equal(unsplit[0], unsplit[1]), "both images give the same tokens: parity would be vacuous"
    assert unsplit.shape == split.shape
    assert torch.equal(unsplit, split)


def test_prompt_ids_match_processor(tiny, images):
    inputs = tiny.processor(text=["<CAPTION>", "<OD>"], images=images, return_tensors="pt", padding=True)
    ids = LanguageHalf(tiny).prompt_ids(["<CAPTION>", "<OD>"], [None, None])
    assert torch.equal(inputs["input_ids"], ids["input_ids"])
    assert torch.equal(inputs["attention_mask"], ids["attention_mask"])


def test_od_answer_is_post_processed(tiny, images):
    features = VisionHalf(tiny).encode(images)
    out = LanguageHalf(tiny).answer(features, [TaskRequest("<OD>", im.size) for im in images])
    assert all(set(o) >= {"bboxes", "labels"} for o in out)


def test_unknown_task_names_known_ones(tiny, images):
    features = VisionHalf(tiny).encode(images[:1])
    with pytest.raises(UnknownTask, match="<CAPTION>"):
        LanguageHalf(tiny).answer(features, [TaskRequest("<NOPE>", (10, 10))])
    with pytest.raises(UnknownTask, match="needs a text input"):
        LanguageHalf(tiny).answer(features, [TaskRequest("<CAPTION_TO_PHRASE_GROUNDING>", (10, 10))])


def test_loss_reaches_features_but_not_weights(tiny, images):
    features = VisionHalf(tiny).encode(images).requires_grad_(True)
    loss = LanguageHalf(tiny).loss(features, ["<CAPTION>"] * 2, ["a red circle.", "a blue square."])
    loss.backward()
    assert features.grad is not None and features.grad.abs().sum() > 0
    assert all(p.grad is None for p in tiny.model.parameters())


def test_targets_are_laid_out_as_bart_does(tiny):
    language = LanguageHalf(tiny)
    ids = language.target_ids(["a red circle.", "a much longer caption than that."])
    tok = tiny.processor.tokenizer
    for row in ids:
        real = row[row != -100].tolist()
        assert real[0] == tok.bos_token_id and real[-1] == tok.eos_token_id
    assert (ids[0] == -100).any() and not (ids[1] == -100).any()


def test_batched_answers_carry_no_padding(tiny):
    tok = tiny.processor.tokenizer
    word = tok("circle", add_special_tokens=False)["input_ids"]
    pad, bos, eos = tok.pad_token_id, tok.bos_token_id, tok.eos_token_id
    short = [eos, bos, *word, eos, pad, pad]
    long = [eos, bos, *word, *word, *word, eos]
    ids = torch.tensor([short + [pad] * (len(long) - len(short)), long])
    requests = [TaskRequest("<CAPTION>", (10, 10))] * 2
    answers = LanguageHalf(tiny).postprocess(ids, requests)
    assert answers[0] == "circle" and "<pad>" not in answers[0]
    assert answers[1].count("circle") == 3
