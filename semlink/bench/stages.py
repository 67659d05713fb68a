"""The link alone, stage by stage, on random features of a given shape: no model to load.

The same stages as ``semlink bench link`` (compress, serialize, proxy through a
channel_sim process on loopback, reassemble, decompress), for profiling the link
at Florence-2-base's shape ``(1024, 24, 24)`` in seconds.
"""

from __future__ import annotations

import numpy as np
import torch

from semlink.cli.bench import STAGES, proxy_stage, reassemble, timed
from semlink.codecs import build_codec
from semlink.wire import frame_datagrams

GOAL_MS = 2.0


def measure(shape: tuple[int, int, int], codec_name: str, frames: int, proxy: str = "auto") -> dict:
    """Per-stage seconds of ``frames`` frames (2 distinct feature maps, cycled), after 3 untimed frames."""
    codec = build_codec(codec_name, shape, "bench")
    features = torch.randn(2, *shape, generator=torch.Generator().manual_seed(0))
    session = codec.session(1, (768, 768))
    times: dict[str, list[float]] = {s: [] for s in STAGES}
    sent = []
    for i in range(frames + 3):
        x = features[i % 2:i % 2 + 1]
        [frame], t_compress = timed(codec.compress, x, [session.frame_id(i)])
        datagrams, t_serialize = timed(frame_datagrams, frame, session)
        received, t_reassemble = timed(reassemble, datagrams, session)
        _, t_decompress = timed(codec.decompress, [received])
        if i >= 3:
            for stage, t in zip(("compress", "serialize", "reassemble", "decompress"),
                                (t_compress, t_serialize, t_reassemble, t_decompress)):
                times[stage].append(t)
            sent.append(frame)
    how, times["proxy"], _ = proxy_stage(proxy, sent, session)
    return {"shape": shape, "codec": codec_name, "frames": frames, "proxy": how,
            "wire_bytes": round(np.mean([sum(len(p.payload) for p in f.packets) for f in sent])),
            "stages_ms": {s: (1000 * float(np.percentile(t, 50)), 1000 * float(np.percentile(t, 99)))
                          for s, t in times.items()}}


def table(r: dict) -> str:
    lines = [f"bench stages: codec={r['codec']} features {r['shape']} ({r['frames']} frames, "
             f"~{r['wire_bytes']:,} payload B each; proxy: {r['proxy']}; torch threads {torch.get_num_threads()})",
             f"{'stage':<12}{'p50 ms':>10}{'p99 ms':>10}"]
    lines += [f"{s:<12}{p50:>10.3f}{p99:>10.3f}" for s, (p50, p99) in r["stages_ms"].items()]
    total = sum(p50 for p50, _ in r["stages_ms"].values())
    lines.append(f"{'link':<12}{total:>10.3f}   (sum of p50s; goal <= {GOAL_MS:.1f} ms)")
    return "\n".join(lines)
