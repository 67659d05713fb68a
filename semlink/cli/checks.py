"""Every command-line argument checked before a model loads or a service starts: one line, with "did you mean".

Name checks (:func:`check_model`, :func:`check_codecs`, :func:`check_task`) raise :class:`BadArgument`, which
``semlink``'s main prints as one ``semlink CMD: error: ...`` line; the number types (:func:`positive_int`,
:func:`probability`, ...) are argparse ``type=`` callables. Nothing here imports torch: the name lists are kept
literal, and tests check them against ``available_models()``, ``codec_names()`` and Florence-2's processor.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable
from pathlib import Path

from semlink.builtin import operating_points
from semlink.cli.options import MODEL_PRESETS
from semlink.tasks import TASKS_WITH_TEXT, TASKS_WITHOUT_TEXT

CODEC_NAMES = ("raw", "fp16", "q8", "pca", "learned")
UNTRAINED_CODEC = "learned:untrained"
ALL_LEARNED = "learned:all"


class BadArgument(ValueError):
    """A command-line value that cannot work; the message names the flag and what would."""


def did_you_mean(given: str, choices: Iterable[str]) -> str:
    """``"did you mean 'shapes-tiny'? "`` for the closest of ``choices`` (case and ``<>`` aside), or ``""``."""
    choices = list(choices)
    folded = {c.strip("<>").lower(): c for c in choices}
    close = difflib.get_close_matches(given.strip("<>").lower(), list(folded), n=1, cutoff=0.5)
    return f"did you mean {folded[close[0]]!r}? " if close else ""


def check_model(model: str) -> None:
    """A preset, an existing local directory, or a hub id (``owner/name``); anything else is refused at once.

    A near-miss of a preset would otherwise be tried as a hub id: a minute of retries before it fails.
    """
    if model in MODEL_PRESETS or Path(model).exists():
        return
    parts = model.split("/")
    if len(parts) == 2 and all(parts) and not model.startswith((".", "~")):
        return  # a hub id; whether it exists is the hub's to say
    if len(parts) > 1:
        raise BadArgument(f"--model {model}: no such directory; give a local directory, a hub id (owner/name) "
                          f"or a preset ({', '.join(MODEL_PRESETS)})")
    raise BadArgument(f"--model {model!r} is not a preset, a hub id (owner/name) or a local directory; "
                      f"{did_you_mean(model, MODEL_PRESETS)}presets: {', '.join(MODEL_PRESETS)}")


def codec_choices(model: str, allow_all: bool = False) -> list[str]:
    """The codec names ``--codec`` takes with ``model``: the families, and the learned points shipped beside it."""
    points = [f"learned:{p}" for p in operating_points(model)]
    return [*CODEC_NAMES, UNTRAINED_CODEC, *([ALL_LEARNED] if allow_all else []), *points]


def check_codecs(specs: str, model: str, allow_all: bool = False) -> None:
    """Each comma-separated codec in ``specs``: a known name for ``model``, or an existing checkpoint file."""
    choices = codec_choices(model, allow_all)
    for spec in (s.strip() for s in specs.split(",") if s.strip()):
        if spec in choices or Path(spec).is_file():
            continue
        if spec.endswith(".safetensors"):
            raise BadArgument(f"--codec {spec}: no such checkpoint file")
        raise BadArgument(f"--codec {spec!r} is not a codec for {model} nor a checkpoint file; "
                          f"{did_you_mean(spec, choices)}known: {', '.join(choices)}")


def check_link(model: str, codec: str, task: str | None = None) -> None:
    """One model, one codec and (when asked) one text-free task: what a link, a benchmark or a soak runs."""
    check_model(model)
    if "," in codec:
        raise BadArgument(f"--codec {codec}: this runs one codec; pick one")
    check_codecs(codec, model)
    if task is not None:
        check_task(task, None, text_flag=None)


def check_task(task: str, text: str | None = None, text_flag: str | None = "--text") -> None:
    """A task Florence-2 knows, with ``--text`` exactly when it takes one (``text_flag=None``: no text given)."""
    if task in TASKS_WITHOUT_TEXT:
        if text:
            raise BadArgument(f"task {task} takes no text; drop {text_flag} or use a task that takes one "
                              f"({', '.join(TASKS_WITH_TEXT)})")
        return
    if task in TASKS_WITH_TEXT:
        if not text:
            raise BadArgument(f"task {task} needs a text input (a phrase, or a region as <loc_N> tokens)"
                              + (f": pass {text_flag} TEXT" if text_flag else "; this command sends none"))
        return
    known = (*TASKS_WITHOUT_TEXT, *TASKS_WITH_TEXT)
    raise BadArgument(f"unknown task {task!r}; {did_you_mean(task, known)}known: {', '.join(known)}")


def check_tasks(tasks: str) -> list[str]:
    """Comma-separated tasks that need no text, each checked; the list."""
    names = [t.strip() for t in tasks.split(",") if t.strip()]
    if not names:
        raise BadArgument("no task given; e.g. <CAPTION>")
    for name in names:
        check_task(name, None, text_flag=None)
    return names


def _number(kind, text: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") from None


def positive_int(text: str) -> int:
    """argparse type: an integer of 1 or more."""
    if (value := _number(int, text)) < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def positive_ints(text: str) -> list[int]:
    """argparse type: comma-separated integers of 1 or more (``"1,4,16"``)."""
    return [positive_int(v) for v in text.split(",") if v.strip()]


def non_negative_int(text: str) -> int:
    """argparse type: an integer of 0 or more."""
    if (value := _number(int, text)) < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def non_negative_ints(text: str) -> list[int]:
    """argparse type: comma-separated integers of 0 or more (``"0,1,2"``)."""
    return [non_negative_int(v) for v in text.split(",") if v.strip()]


def positive_float(text: str) -> float:
    """argparse type: a number above 0."""
    if (value := _number(float, text)) <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value:g}")
    return value


def probability(text: str) -> float:
    """argparse type: a probability, 0..1."""
    if not 0.0 <= (value := _number(float, text)) <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a probability from 0 to 1, got {value:g}")
    return value


def probabilities(text: str) -> list[float]:
    """argparse type: comma-separated probabilities (``"0,0.2"``)."""
    return [probability(v) for v in text.split(",") if v.strip()]


def numbers(text: str) -> list[float]:
    """argparse type: comma-separated numbers (``"6,10"``)."""
    return [_number(float, v) for v in text.split(",") if v.strip()]


def burst_length(text: str) -> float:
    """argparse type: a mean loss burst length in datagrams, 1 or more."""
    if (value := _number(float, text)) < 1.0:
        raise argparse.ArgumentTypeError(f"a mean burst length is at least 1 datagram, got {value:g}")
    return value
