"""Pixel peer specs as written on the command line: ``avif:10,20``, ``webp@32:60``, ``avif-s0:20``, ``learned-pixels:all``.

Parsing checks everything that can be checked without loading a model, so a
spec that cannot work fails at once, naming the valid forms:

- ``FMT:Q[,Q…]``: the model's input image coded as ``FMT`` (jpeg, webp, avif) at
  each quality Q (0–100);
- ``FMT@S:Q[,Q…]``: coded at S × S pixels and resized back to the model input
  (the downscaled form);
- ``avif-sN:Q[,Q…]`` (with or without ``@S``): AVIF at encoder speed N (0 slowest
  … 10 fastest; the default is :data:`~semlink.pixels.codecs.AVIF_REALTIME_SPEED`);
- ``learned-pixels[:NAME[,NAME…]]`` or ``learned-pixels:all``: the learned pixel
  codec's operating points shipped beside the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from semlink.builtin import learned_pixel_points
from semlink.pixels.codecs import AVIF_REALTIME_SPEED, HAND_FORMATS, hand_format_available

LEARNED = "learned-pixels"
FORMS = ("FMT:Q[,Q...] (FMT: jpeg, webp, avif; Q 0-100), FMT@S:Q (coded at SxS, resized back), "
         "avif-sN:Q (AVIF at encoder speed N, 0 slowest..10 fastest), learned-pixels[:NAME,...|:all]")
_HAND = re.compile(r"^(?P<fmt>[a-z0-9]+)(?:@(?P<side>\d+))?(?:-s(?P<speed>\d+))?$")


class BadPeerSpec(ValueError):
    """A pixel peer spec that cannot work; the message names the valid forms."""


@dataclass(frozen=True)
class HandSpec:
    """One point of a hand-designed image codec."""

    fmt: str  # jpeg, webp, avif
    quality: int
    side: int | None = None  # coded at side × side, resized back to the model input; None: at the model input
    speed: int | None = None  # AVIF encoder speed; None: the real-time default

    @property
    def name(self) -> str:
        """The row label: ``avif-q20``, ``webp@32-q60``, ``avif-s0-q20``."""
        side = f"@{self.side}" if self.side else ""
        speed = f"-s{self.speed}" if self.speed is not None else ""
        return f"{self.fmt}{side}{speed}-q{self.quality}"

    @property
    def encoder_speed(self) -> int:
        return AVIF_REALTIME_SPEED if self.speed is None else self.speed


@dataclass(frozen=True)
class LearnedSpec:
    """Operating points of the learned pixel codec (``["all"]`` for every one shipped)."""

    names: tuple[str, ...]


def parse_peer_specs(specs: list[str], model: str | None = None) -> list[HandSpec | LearnedSpec]:
    """Every spec of ``--baselines``; ``model`` (a built-in name or directory) checks learned-pixels names."""
    out: list[HandSpec | LearnedSpec] = []
    for spec in specs:
        out += parse_peer_spec(spec, model)
    return out


def parse_peer_spec(spec: str, model: str | None = None) -> list[HandSpec | LearnedSpec]:
    head, colon, values = spec.strip().partition(":")
    head = head.lower()
    if head == LEARNED:
        return [_learned(spec, values if colon else "", model)]
    match = _HAND.match(head)
    if not match or match["fmt"] not in HAND_FORMATS:
        raise BadPeerSpec(f"pixel peer {spec!r}: unknown format; write {FORMS}")
    fmt = match["fmt"]
    if not hand_format_available(fmt):
        raise BadPeerSpec(f"pixel peer {spec!r}: this Pillow cannot encode {fmt}; install a Pillow built with it")
    side = int(match["side"]) if match["side"] else None
    speed = int(match["speed"]) if match["speed"] else None
    if side is not None and not 8 <= side <= 4096:
        raise BadPeerSpec(f"pixel peer {spec!r}: a coded side of 8..4096 pixels, e.g. {fmt}@32:60")
    if speed is not None and (fmt != "avif" or not 0 <= speed <= 10):
        raise BadPeerSpec(f"pixel peer {spec!r}: an encoder speed is AVIF's only, 0..10, e.g. avif-s0:20")
    qualities = [q.strip() for q in values.split(",") if q.strip()]
    if not colon or not qualities or not all(q.isdigit() and 0 <= int(q) <= 100 for q in qualities):
        raise BadPeerSpec(f"pixel peer {spec!r}: qualities 0..100 after a colon; write {FORMS}")
    return [HandSpec(fmt, int(q), side, speed) for q in qualities]


def _learned(spec: str, values: str, model: str | None) -> LearnedSpec:
    names = tuple(n.strip() for n in values.split(",") if n.strip()) or ("default",)
    if model is None:
        return LearnedSpec(names)
    shipped = learned_pixel_points(model)
    if not shipped:
        raise BadPeerSpec(f"pixel peer {spec!r}: no learned pixel codec ships beside model {model!r}; "
                          "use a hand codec (" + FORMS + ")")
    unknown = [n for n in names if n != "all" and n not in shipped]
    if unknown or ("all" in names and len(names) > 1):
        raise BadPeerSpec(f"pixel peer {spec!r}: unknown point(s) {', '.join(unknown) or 'all with others'}; "
                          f"shipped beside {model}: {', '.join(shipped)}, or learned-pixels:all")
    return LearnedSpec(names)
