"""``semlink fit-tables``: refit a learned codec's wire tables to the symbols it sends (no retraining)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from semlink.builtin import PIXEL_DEFAULT_POINT, learned_pixel_points, model_dir, pixel_point_file
from semlink.cli.checks import BadArgument, check_codecs, check_model, did_you_mean, non_negative_int, positive_int
from semlink.cli.options import add_model_options, progress_line

HELP = """\
Codes many training images with a trained learned codec (or a point of the
learned pixel codec, the learned-pixels peer, whose entropy coding is the same),
counts the wire symbols
of each latent channel and writes a copy of the codec whose range coder uses
those histograms as its integer tables (config tables="histogram"): the same
weights, wire and quality, fewer bytes. It prints the mean payload a frame under
the old and the new tables on held-out images (shapes: the test split of --seed;
--data: the last --held-out images of the folder, which the fit does not see).
Both ends must load the refitted file: the session names its tables, and a
receiver with other tables refuses the stream.
Examples:
  semlink fit-tables --codec learned --n 3000 --seed 4242 --out runs/fitted/codec-learned.safetensors
  semlink fit-tables --codec learned:rate20 --n 200 --held-out 100 --out runs/fitted/rate20.safetensors --json
  semlink fit-tables --codec learned-pixels:rate4 --n 200 --held-out 100 --out runs/fitted/pixels-rate4.safetensors --json
  semlink fit-tables --model DIR --codec DIR/codec.safetensors --data images/ --out codec-fitted.safetensors
"""


def register(sub) -> None:
    p = sub.add_parser("fit-tables", help="refit a learned codec's wire tables to its symbols (fewer bytes)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(p)
    p.add_argument("--codec", default="learned",
                   help="a trained learned codec: learned, learned:POINT, a checkpoint path, or a shipped point of "
                        "the learned pixel codec: learned-pixels[:POINT] (default: learned)")
    p.add_argument("--out", required=True, help="where to write the refitted codec (.safetensors)")
    p.add_argument("--n", type=positive_int, default=3000, help="images to fit on (default: 3000)")
    p.add_argument("--held-out", type=non_negative_int, default=500,
                   help="held-out images the old and new payload are measured on (default: 500; 0: none)")
    p.add_argument("--seed", type=non_negative_int, default=4242,
                   help="shapes scene stream: the fit takes its train split, the report its test split")
    p.add_argument("--data", help="a folder of images instead of shapes scenes")
    p.add_argument("--batch", type=positive_int, default=100, help="images a forward pass (default: 100)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run)


def _pixel_point(spec: str) -> str | None:
    """The learned pixel codec's point ``spec`` names (``learned-pixels`` is ``default``), else ``None``."""
    name, _, point = spec.partition(":")
    return (point or PIXEL_DEFAULT_POINT) if name == "learned-pixels" else None


def _check(args) -> Path:
    check_model(args.model)
    if "," in args.codec:
        raise BadArgument(f"--codec {args.codec}: this refits one codec; pick one")
    if (point := _pixel_point(args.codec)) is not None:
        shipped = learned_pixel_points(args.model)
        if point not in shipped:
            raise BadArgument(f"--codec {args.codec}: no such learned-pixels point beside {args.model}; "
                              f"{did_you_mean(point, shipped)}shipped: {', '.join(shipped) or 'none'}")
    else:
        check_codecs(args.codec, args.model)
        if args.codec.split(":")[0] != "learned" and not args.codec.endswith(".safetensors"):
            raise BadArgument(f"--codec {args.codec}: only a trained learned codec has tables to refit")
    if args.data and not Path(args.data).is_dir():
        raise BadArgument(f"--data {args.data}: no such folder")
    out = Path(args.out)
    if out.suffix != ".safetensors":
        raise BadArgument(f"--out {args.out}: a codec checkpoint is a .safetensors file")
    return out


def _images(args):
    """The images to fit on and the held-out ones, as PIL images."""
    if args.data:
        from semlink.evaluation.data import folder_samples

        images = [s.image for s in folder_samples(args.data)]
        held = min(args.held_out, max(len(images) - 1, 0))
        fit = images[: len(images) - held][: args.n]
        return fit, images[len(images) - held:]
    from semlink.shapes.dataset import scenes_from_seed
    from semlink.shapes.render import render

    fit = [render(s) for s in scenes_from_seed(args.seed, args.n, split="train")]
    return fit, [render(s) for s in scenes_from_seed(args.seed, args.held_out, split="test")]


def run(args) -> int:
    out = _check(args)  # every refusal before the model loads
    from semlink.codecs import LearnedCodec, save_codec
    from semlink.codecs.fit_tables import fit_tables, payload_bits
    from semlink.florence import VisionHalf
    from semlink.runtime import load_codec_for, load_model

    progress_line("fit-tables", f"loading model {args.model} and codec {args.codec}...")
    bundle = load_model(args.model, args.device, args.dtype)
    vision = VisionHalf(bundle)
    if (point := _pixel_point(args.codec)) is not None:  # it codes the processor's pixels, not features
        from semlink.codecs.learned_pixels import load_pixel_codec

        codec = load_pixel_codec(model_dir(args.model) / pixel_point_file(point), fingerprint=bundle.fingerprint)
        encode = vision.pixels
    else:
        codec, encode = load_codec_for(bundle, args.codec), vision.encode
    if not isinstance(codec, LearnedCodec):
        raise BadArgument(f"--codec {args.codec} is a {codec.codec_id} codec; only a learned codec has tables")
    codec = codec.to(bundle.device).eval()
    progress_line("fit-tables", f"rendering {args.n} images to fit on and {args.held_out} held out...")
    fit_images, held_images = _images(args)

    def batches(images, what):
        for start in range(0, len(images), args.batch):
            progress_line("fit-tables", f"{what}: images {start + 1}-{min(start + args.batch, len(images))} "
                                        f"of {len(images)}")
            yield encode(images[start:start + args.batch])

    held = [f for f in batches(held_images, "encoding held-out images")] if held_images else []
    fitted = fit_tables(codec, batches(fit_images, "counting symbols"))
    save_codec(fitted, out)
    result = {"codec": args.codec, "out": str(out), "fit_images": len(fit_images),
              "held_out_images": len(held_images), "tables": fitted.entropy_model_id()}
    if held:
        before, after = payload_bits(codec, held) / 8, payload_bits(fitted, held) / 8
        result.update(payload_bytes_before=round(before, 2), payload_bytes_after=round(after, 2),
                      change=round(after / before - 1, 4))
    if args.json:
        print(json.dumps(result))
    elif held:
        print(f"{out}: payload {result['payload_bytes_before']:.1f} -> {result['payload_bytes_after']:.1f} B a frame "
              f"({100 * result['change']:+.1f}%) on {len(held_images)} held-out images; tables {result['tables']}")
    else:
        print(f"{out}: tables {result['tables']} fitted on {len(fit_images)} images (no held-out report)")
    return 0
