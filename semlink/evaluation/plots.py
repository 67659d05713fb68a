"""Plots of an evaluation sweep: quality against bytes per frame, packet loss and SNR."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from semlink.evaluation.bd_rate import BEST_PIXELS, curve_of, envelope, packed_name  # noqa: E402
from semlink.evaluation.runner import EvalResult  # noqa: E402


def plot_sweep(results: list[EvalResult], out_dir: str | Path) -> list[Path]:
    """Write ``quality_vs_bytes.png`` (a panel per loss rate and datagram overhead; every learned operating point on
    one curve, the best of all pixel peers dashed), ``quality_vs_loss.png``, ``quality_vs_snr.png`` (where there is
    data; bytes in their legends at the lowest overhead)."""
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
        overheads = sorted({r.datagram_overhead for r in rows})
        if losses:
            fig, axes = plt.subplots(len(overheads), len(losses), figsize=(6 * len(losses), 4 * len(overheads)),
                                     squeeze=False, sharey=True)
            colors = family_colors(rows)
            for row_axes, overhead in zip(axes, overheads):
                for ax, loss in zip(row_axes, losses):
                    here = [r for r in rows if r.loss == loss and r.snr_db is None and r.datagram_overhead == overhead]
                    _bytes_panel(ax, here, metric, colors)
                    ax.set(xlabel=f"wire bytes per frame (log), +{overhead} B per datagram", ylabel=metric,
                           title=f"{task}: {_loss_label(loss, rows)}, +{overhead} B/datagram")
            _figure_legend(fig, axes.ravel())
            written.append(_save(fig, out_dir / f"{slug}_quality_vs_bytes.png"))
        rows = [r for r in rows if r.datagram_overhead == overheads[0]]
        for axis, key, label in (("loss", "loss", "packet loss rate"), ("snr", "snr_db", "SNR (dB, Es/N0)")):
            varied = [r for r in rows if (r.snr_db is None if axis == "loss" else r.loss == 0 and r.snr_db is not None)]
            if len({getattr(r, key) for r in varied}) < 2:
                continue
            fig, ax = plt.subplots(figsize=(6, 4))
            groups = defaultdict(list)
            for r in varied:
                groups[packed_name(r.codec, r.pack, r.spread)].append(r)
            for codec, rs in sorted(groups.items()):
                rs.sort(key=lambda r: getattr(r, key))
                ax.plot([getattr(r, key) for r in rs], [r.metrics[metric] for r in rs], "o-",
                        label=f"{codec} ({rs[0].wire_bytes:,.0f} B)")
            ax.set(xlabel=label, ylabel=metric, title=f"{task}: quality vs {axis}")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
            written.append(_save(fig, out_dir / f"{slug}_quality_vs_{axis}.png"))
    return written


def family_colors(rows: list[EvalResult]) -> dict[str, tuple]:
    """One colour per codec family (``curve_of``), the same in every panel and for every way it is sent."""
    families = sorted({curve_of(r.codec) for r in rows})
    palette = plt.get_cmap("tab10" if len(families) <= 10 else "tab20")
    return {family: palette(i % palette.N) for i, family in enumerate(families)}


def delivery_style(pack: int, spread: int) -> dict:
    """How a curve is drawn for the way its frames travel: alone solid, packed dashed, spread dotted (packed and
    spread dash-dot); spread 2 or more with hollow markers."""
    linestyle = {(False, False): "-", (True, False): "--", (False, True): ":", (True, True): "-."}[(pack > 1,
                                                                                                    spread > 0)]
    return {"linestyle": linestyle, **({"markerfacecolor": "none"} if spread > 1 else {})}


def _bytes_panel(ax, rows: list[EvalResult], metric: str, colors: dict[str, tuple]) -> None:
    groups = defaultdict(list)
    for r in rows:
        groups[(curve_of(r.codec), r.pack, r.spread)].append(r)
    for (family, pack, spread), rs in sorted(groups.items()):
        rs.sort(key=lambda r: r.wire_bytes)
        ax.plot([r.wire_bytes for r in rs], [r.metrics[metric] for r in rs], marker="o" if rs[0].domain == "features"
                else "s", color=colors[family], label=packed_name(family, pack, spread), alpha=0.85,
                **delivery_style(pack, spread))
    front = envelope([(r.wire_bytes, r.metrics[metric]) for r in rows if r.domain == "pixels"])
    if len(front):
        ax.plot(front[:, 0], front[:, 1], "k--", lw=1, label=BEST_PIXELS)
    ax.set_xscale("log")
    ax.grid(alpha=0.3)


def _figure_legend(fig, axes) -> None:
    """One legend for every panel, right of them: it never hides a curve."""
    labelled: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labelled.setdefault(label, handle)
    order = sorted(labelled, key=lambda label: (label == BEST_PIXELS, label))
    fig.legend([labelled[label] for label in order], order, loc="upper left", bbox_to_anchor=(1.0, 1.0),
               fontsize=7, frameon=False)


def _loss_label(loss: float, rows: list[EvalResult]) -> str:
    if loss == 0:
        return "clean channel"
    bursts = {r.burst for r in rows if r.loss == loss and r.burst}
    return f"{100 * loss:g}% packet loss" + (f", bursts of {bursts.pop():g}" if len(bursts) == 1 else "")


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")  # with a figure legend right of the panels
    plt.close(fig)
    return path
