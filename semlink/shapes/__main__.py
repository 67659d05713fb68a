"""`python -m semlink.shapes --out DIR --n N`: write sample scenes (PNGs, annotations.jsonl) and a contact sheet.

The contact sheet goes beside the folder, as ``DIR-sheet.png``, not into it: ``DIR``
holds the scenes and nothing else, so it is a training folder as it stands
(``data.source: folder``, ``data.path: DIR``, ``data.captions: DIR/annotations.jsonl``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from semlink.shapes.dataset import SPLITS, write_sample
from semlink.shapes.scene import COLORS, KINDS, SceneConfig


def main(argv: list[str] | None = None) -> None:
    defaults = SceneConfig()
    parser = argparse.ArgumentParser(prog="python -m semlink.shapes", description=__doc__)
    parser.add_argument("--out", required=True, help="folder to write into (created if missing)")
    parser.add_argument("--n", type=int, default=32, help="number of scenes (default: 32)")
    parser.add_argument(
        "--split",
        choices=(*SPLITS, "stream"),
        default="val",
        help="take a split's first N scenes, or 'stream' for a fresh stream from --seed (default: val)",
    )
    parser.add_argument("--seed", type=int, default=0, help="split seed offset, or the stream's seed (default: 0)")
    parser.add_argument("--width", type=int, default=defaults.width)
    parser.add_argument("--height", type=int, default=defaults.height)
    parser.add_argument("--min-shapes", type=int, default=defaults.min_shapes)
    parser.add_argument("--max-shapes", type=int, default=defaults.max_shapes)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(defaults.kinds))
    parser.add_argument("--colors", nargs="+", choices=tuple(COLORS), default=list(defaults.colors))
    parser.add_argument("--occlusion", type=float, default=defaults.occlusion, help="max covered box fraction")
    parser.add_argument("--clutter", type=int, default=defaults.clutter, help="max distractor lines per scene")
    parser.add_argument("--noise-std", type=float, default=defaults.noise_std, help="Gaussian pixel noise (0-255)")
    args = parser.parse_args(argv)

    try:
        config = SceneConfig(
            width=args.width,
            height=args.height,
            min_shapes=args.min_shapes,
            max_shapes=args.max_shapes,
            kinds=tuple(args.kinds),
            colors=tuple(args.colors),
            occlusion=args.occlusion,
            clutter=args.clutter,
            noise_std=args.noise_std,
        )
    except ValueError as e:
        parser.error(str(e))
    split = None if args.split == "stream" else args.split
    out = write_sample(args.out, args.n, split=split, seed=args.seed, config=config)
    sheet = sheet_path(out)
    if (out / "sheet.png").exists():
        os.replace(out / "sheet.png", sheet)  # out of the image set: see the module docstring
    print(f"wrote {args.n} scenes to {out} (with annotations.jsonl); contact sheet {sheet}")


def sheet_path(out: str | Path) -> Path:
    """Where the contact sheet of the scenes in ``out`` goes: beside the folder, ``<out>-sheet.png``."""
    out = Path(out).resolve()
    return out.parent / f"{out.name}-sheet.png"


if __name__ == "__main__":
    main()
