"""Build a Florence-2 tokenizer locally (no hub): byte-level BPE plus Florence-2's special tokens.

Florence-2's own tokenizer is BART's BPE with 1000 ``<loc_N>`` tokens and task
markers added. Offline presets cannot download it, so they train a small BPE on
a corpus they ship, then add the same special tokens, so every task prompt and
every post-processor of ``Florence2Processor`` works unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

BASE_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
LOC_TOKENS = [f"<loc_{i}>" for i in range(1000)]
TASK_MARKERS = [
    "<od>", "</od>", "<ocr>", "</ocr>", "<cap>", "</cap>", "<ncap>", "</ncap>",
    "<dcap>", "</dcap>", "<grounding>", "</grounding>", "<seg>", "</seg>", "<sep>",
    "<region_cap>", "</region_cap>", "<region_to_desciption>", "</region_to_desciption>",
    "<proposal>", "</proposal>", "<poly>", "</poly>", "<and>",
]
IMAGE_TOKEN = "<image>"

# The text every Florence2Processor prompt expands to, so the BPE covers it well.
PROMPT_CORPUS = [
    "What is the text in the image?",
    "What is the text in the image, with regions?",
    "What does the image describe?",
    "Describe in detail what is shown in the image.",
    "Describe with a paragraph what is shown in the image.",
    "Locate the objects with category name in the image.",
    "Locate the objects in the image, with their descriptions.",
    "Locate the region proposals in the image.",
    "Locate the phrases in the caption: ",
    "Locate in the image with mask",
    "What is the polygon mask of region",
    "What is the region? What does the region describe? What text is in the region?",
]


def build_florence_tokenizer(corpus: Iterable[str], vocab_size: int = 1000) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``corpus`` and add Florence-2's special tokens.

    Token ids: ``<s>``=0, ``<pad>``=1, ``</s>``=2, ``<unk>``=3 (BART's layout), then
    the BPE merges, then ``<loc_0>``..``<loc_999>``, task markers and ``<image>``.
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=BASE_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus) + PROMPT_CORPUS, trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens(LOC_TOKENS + TASK_MARKERS + [IMAGE_TOKEN])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        extra_special_tokens={"image_token": IMAGE_TOKEN},
        model_max_length=1024,
    )
