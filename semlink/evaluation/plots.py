"""Plots of an evaluation sweep: quality against bytes per frame, packet loss and SNR."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from semlink.evaluation.bd_rate import curve_of  # noqa: E402
from semlink.evaluation.runner import EvalResult  # noqa: E402


def plot_sweep(results: list[EvalResult], out_dir: str | Path) -> list[Path]:
    """Write ``quality_vs_bytes.png`` (a panel per loss rate; every learned operating point on one curve),
    ``quality_vs_loss.png``, ``quality_vs_snr.png`` (where there is data)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for task in sorted({r.task for r in results}):
        rows = [r for r in results if r.task == task]
        metric = next((k for k in ("exact_match", "map50", "cider", "agreement") if k in rows[0].metrics), None)
        if metric is None:
            continue
        slug = task.strip("<>").lower()
        losses = sorted({r.loss for r in rows if r.snr_db is None})
        if losses:
            fig, axes = plt.subplots(1, len(losses), figsize=(6 * len(losses), 4), squeeze=False, sharey=True)
            for ax, loss in zip(axes[0], losses):
                groups = defaultdict(list)
                for r in rows:
                    if r.loss == loss and r.snr_db is None:
                        groups[curve_of(r.codec)].append(r)
                for family, rs in sorted(groups.items()):
                    rs.sort(key=lambda r: r.wire_bytes)
                    ax.plot([r.wire_bytes for r in rs], [r.metrics[metric] for r in rs], "o-", label=family)
                ax.set_xscale("log")
                ax.set(xlabel="wire bytes per frame (log)", ylabel=metric,
                       title=f"{task}: quality vs bytes, {_loss_label(loss, rows)}")
                ax.grid(alpha=0.3)
                ax.legend(fontsize=8)
            written.append(_save(fig, out_dir / f"{slug}_quality_vs_bytes.png"))
        for axis, key, label in (("loss", "loss", "packet loss rate"), ("snr", "snr_db", "SNR (dB, Es/N0)")):
            varied = [r for r in rows if (r.snr_db is None if axis == "loss" else r.loss == 0 and r.snr_db is not None)]
            if len({getattr(r, key) for r in varied}) < 2:
                continue
            fig, ax = plt.subplots(figsize=(6, 4))
            groups = defaultdict(list)
            for r in varied:
                groups[r.codec].append(r)
            for codec, rs in sorted(groups.items()):
                rs.sort(key=lambda r: getattr(r, key))
                ax.plot([getattr(r, key) for r in rs], [r.metrics[metric] for r in rs], "o-",
                        label=f"{codec} ({rs[0].wire_bytes:,.0f} B)")
            ax.set(xlabel=label, ylabel=metric, title=f"{task}: quality vs {axis}")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
            written.append(_save(fig, out_dir / f"{slug}_quality_vs_{axis}.png"))
    return written


def _loss_label(loss: float, rows: list[EvalResult]) -> str:
    if loss == 0:
        return "clean channel"
    bursts = {r.burst for r in rows if r.loss == loss and r.burst}
    return f"{100 * loss:g}% packet loss" + (f", bursts of {bursts.pop():g}" if len(bursts) == 1 else "")


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
