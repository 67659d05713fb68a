"""Measure how often the receiver's answers change with batch composition: a batch of N against one at a time.

Runs N shapes scenes through the real pieces: the vision tower (VisionHalf), the
codec (compress, datagrams through a perfect link, decode one frame at a time
with the receiver's FrameDecoder) and the receiver's TaskRunner, the function
its DynamicBatcher calls with the requests it gathered. Two comparisons:

  receiver   the same decoded frames answered in batches of --batch (as the
             batcher forms them under load) and one at a time;
  end to end the transmitter's vision tower on micro-batches of --batch too,
             against one image at a time through every stage;
  mixed      receiver batches whose requests alternate between the tasks (a
             batch of several tasks pads the shorter prompts), against one at
             a time.

For each task it prints how many answers differ, and the max abs difference of
the vision features, the decoded features and the projected image embeddings
(the language model's input). Example:

  .venv/bin/python scripts/measure_batch_agreement.py --n 200 --batch 8 --json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from semlink.florence import LanguageHalf, VisionHalf  # noqa: E402
from semlink.receiver.engine import FrameDecoder, TaskJob, TaskRunner  # noqa: E402
from semlink.receiver.reassembly import Reassembled  # noqa: E402
from semlink.runtime import load_codec_for, load_model  # noqa: E402
from semlink.shapes import render, scenes_from_seed  # noqa: E402
from semlink.wire.carry import carry  # noqa: E402


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def vision_features(vision: VisionHalf, images, batch: int) -> torch.Tensor:
    """``(N, C, H, W)``: the vision tower on micro-batches of ``batch`` images."""
    return torch.cat([vision.encode(group) for group in chunks(images, batch)])


def received(codec, decoder: FrameDecoder, features: torch.Tensor, images):
    """Each image's frame as the receiver stores it: coded, carried over a perfect link, decoded alone."""
    session = codec.session(1, images[0].size)
    frames = []
    for seq, (x, image) in enumerate(zip(features, images)):
        sent = codec.compress(x[None], [session.frame_id(seq)])[0].with_image_size(image.size)
        carried = carry(sent, session, None)
        frames.append((sent, decoder.decode(Reassembled(carried.received, 1, False, carried.wire_bytes))))
    return frames


def answers(runner: TaskRunner, frames, task: str, batch: int) -> list:
    """The TaskRunner's answers to ``task`` on each frame, called with ``batch`` requests at a time."""
    jobs = [TaskJob(frame, task) for _, frame in frames]
    return [a for group in chunks(jobs, batch) for a in runner(group)]


def embeddings(language: LanguageHalf, features: torch.Tensor, batch: int) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([language.project(group) for group in torch.split(features, batch)])


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max())


def measure(args) -> dict:
    torch.set_num_threads(args.threads)
    bundle = load_model(args.model, "cpu")
    codec = load_codec_for(bundle, args.codec)
    vision, language = VisionHalf(bundle), LanguageHalf(bundle)
    generate = {"max_new_tokens": args.max_new_tokens} if args.max_new_tokens else {}
    decoder, runner = FrameDecoder(codec, bundle), TaskRunner(bundle, **generate)
    images = [render(scene) for scene in scenes_from_seed(args.seed, args.n, split="test")]
    started = time.perf_counter()
    with torch.inference_mode():
        single = vision_features(vision, images, 1)
        batched = vision_features(vision, images, args.batch)
    rx_single = received(codec, decoder, single, images)
    rx_batched = received(codec, decoder, batched, images)
    decoded = torch.stack([f.features for _, f in rx_single])
    decoded_b = torch.stack([f.features for _, f in rx_batched])
    payload_differs = sum(a.packets != b.packets for (a, _), (b, _) in zip(rx_single, rx_batched))
    result = {
        "model": args.model, "codec": codec.label, "n": args.n,
        "batch": args.batch, "seed": args.seed, "threads": args.threads, "max_new_tokens": args.max_new_tokens,
        "cpu": cpu_name(),
        "torch": torch.__version__,
        "vision_features_max_abs_diff": max_diff(single, batched),
        "frames_whose_packets_differ_end_to_end": payload_differs,
        "decoded_features_max_abs_diff_end_to_end": max_diff(decoded, decoded_b),
        "image_embeddings_max_abs_diff_receiver": max_diff(embeddings(language, decoded, 1),
                                                           embeddings(language, decoded, args.batch)),
        "tasks": {},
    }
    tasks = args.tasks.split(",")
    singles = {task: answers(runner, rx_single, task, 1) for task in tasks}
    mixed_jobs = [TaskJob(frame, tasks[i % len(tasks)]) for i, (_, frame) in enumerate(rx_single)]
    mixed = [a for group in chunks(mixed_jobs, args.batch) for a in runner(group)]
    mixed_differ = [i for i, job in enumerate(mixed_jobs) if mixed[i] != singles[job.task][i]]
    result["mixed_tasks_differ"] = len(mixed_differ)
    result["mixed_tasks_agreement"] = 1 - len(mixed_differ) / args.n
    for task in tasks:
        one = singles[task]
        receiver = answers(runner, rx_single, task, args.batch)
        end_to_end = answers(runner, rx_batched, task, args.batch)
        differs = [i for i in range(args.n) if one[i] != receiver[i]]
        differs_e2e = [i for i in range(args.n) if one[i] != end_to_end[i]]
        result["tasks"][task] = {
            "receiver_differ": len(differs), "receiver_agreement": 1 - len(differs) / args.n,
            "end_to_end_differ": len(differs_e2e), "end_to_end_agreement": 1 - len(differs_e2e) / args.n,
            "examples": [{"scene": i, "one": one[i], "batched": receiver[i]} for i in differs[:3]],
        }
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def table(r: dict) -> str:
    lines = [f"{r['model']} / {r['codec']}: {r['n']} test scenes (seed {r['seed']}), batch of {r['batch']} vs one "
             f"at a time; {r['cpu']}, {r['threads']} thread(s), torch {r['torch']}, {r['seconds']} s",
             f"  vision features, max |batched - one|            {r['vision_features_max_abs_diff']:.3g}",
             f"  frames whose packets differ (end to end)        {r['frames_whose_packets_differ_end_to_end']}"
             f" of {r['n']}",
             f"  decoded features, max |batched - one| (e2e)     {r['decoded_features_max_abs_diff_end_to_end']:.3g}",
             f"  image embeddings, max |batched - one| (receiver) {r['image_embeddings_max_abs_diff_receiver']:.3g}",
             f"  {'task':<12} {'receiver: differ':>17} {'agreement':>10} {'end to end: differ':>19} {'agreement':>10}"]
    for task, t in r["tasks"].items():
        lines.append(f"  {task:<12} {t['receiver_differ']:>17} {t['receiver_agreement']:>10.3f} "
                     f"{t['end_to_end_differ']:>19} {t['end_to_end_agreement']:>10.3f}")
    lines.append(f"  mixed batches (tasks alternating): {r['mixed_tasks_differ']} of {r['n']} answers differ, "
                 f"agreement {r['mixed_tasks_agreement']:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="shapes-tiny", help="model name or directory (default: shapes-tiny)")
    p.add_argument("--codec", default="learned", help="codec name or checkpoint (default: learned, the shipped one)")
    p.add_argument("--n", type=int, default=200, help="scenes (default: 200)")
    p.add_argument("--batch", type=int, default=8, help="batch size, as the receiver's MAX_BATCH (default: 8)")
    p.add_argument("--seed", type=int, default=41, help="scene stream seed (default: 41)")
    p.add_argument("--tasks", default="<CAPTION>,<OD>", help="comma-separated tasks (default: <CAPTION>,<OD>)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    p.add_argument("--max-new-tokens", type=int, default=None,
                   help="cap on generated tokens, as the receiver's MAX_NEW_TOKENS (default: the model's own)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = p.parse_args(argv)
    if args.n < 1 or args.batch < 1:
        p.error("--n and --batch must be >= 1")
    result = measure(args)
    print(json.dumps(result) if args.json else table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
