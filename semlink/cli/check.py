"""``semlink check``: verify the split at the seam gives token-identical output to the unsplit model."""

from __future__ import annotations

import argparse
import time

import torch

from semlink.cli.checks import check_model, check_tasks, positive_int
from semlink.cli.options import add_model_options, progress_line
from semlink.codecs import build_codec
from semlink.florence import LanguageHalf, VisionHalf
from semlink.runtime import load_model
from semlink.samples import sample_images

HELP = """\
Runs Florence-2 twice on built-in sample images: once unsplit (model.generate on
pixels) and once split at the seam (vision tower → lossless codec → packets →
projector + language model), and compares the generated tokens. Ends with
`parity: ok ...` and exit 0, or prints the first differing outputs and exits 1.
Use it to check an install against a real checkpoint:
  semlink check --model florence-community/Florence-2-base
"""


def register(sub) -> None:
    p = sub.add_parser("check", help="parity of the split pipeline against the unsplit model",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(p, default="tiny-random")
    p.add_argument("--tasks", default="<CAPTION>,<OD>", help="comma-separated tasks (default: <CAPTION>,<OD>)")
    p.add_argument("--images", type=positive_int, default=2, help="how many built-in sample images (default: 2)")
    p.set_defaults(func=run)


def parity(bundle, images, task: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids ``(unsplit, split)`` for ``task`` on ``images``; the split path goes through real packets."""
    inputs = bundle.processor(text=[task] * len(images), images=images, return_tensors="pt").to(bundle.device)
    inputs["pixel_values"] = inputs["pixel_values"].to(bundle.dtype)
    with torch.no_grad():
        unsplit = bundle.model.generate(**inputs)
    vision, language = VisionHalf(bundle), LanguageHalf(bundle)
    features = vision.encode(images)
    codec = build_codec("raw", bundle.feature_shape, bundle.fingerprint)
    decoded, _ = codec.decompress(codec.compress(features.float(), range(len(images))))
    split = language.generate_ids(decoded.to(bundle.device, bundle.dtype), [task] * len(images))
    return unsplit, split


def run(args) -> int:
    check_model(args.model)
    tasks = check_tasks(args.tasks)
    start = time.perf_counter()
    progress_line("check", f"loading model {args.model}...")
    bundle = load_model(args.model, args.device, args.dtype)
    images = sample_images(args.images)
    failures = []
    for task in tasks:
        progress_line("check", f"{task}: generating unsplit and split on {len(images)} images...")
        unsplit, split = parity(bundle, images, task)
        same = unsplit.shape == split.shape and torch.equal(unsplit, split)
        print(f"{task}: {'identical' if same else 'DIFFERENT'} ({unsplit.shape[0]} images, {unsplit.shape[1]} tokens)")
        if not same:
            tok = bundle.processor.tokenizer
            for i in range(len(images)):
                print(f"  image {i} unsplit: {tok.decode(unsplit[i], skip_special_tokens=False)!r}")
                print(f"  image {i} split:   {tok.decode(split[i], skip_special_tokens=False)!r}")
            failures.append(task)
    elapsed = time.perf_counter() - start
    if failures:
        print(f"parity: FAILED for {', '.join(failures)} on {args.model} ({elapsed:.1f}s)")
        return 1
    print(f"parity: ok model={args.model} fingerprint={bundle.fingerprint} tasks={args.tasks} ({elapsed:.1f}s)")
    return 0
